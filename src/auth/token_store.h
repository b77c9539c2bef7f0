#pragma once

// TokenStore: the API tokens of a workspace, in its metadata store (table api_tokens).
// A token's secret is never stored: only its salted digest (token.h). Tokens are
// revoked, never deleted, so the audit log's names keep meaning something; a revoked
// token's name may be given to a new token.
//
// Thread-safety: a TokenStore holds no state beyond the store it writes to; calls from
// several threads are serialised by the metadata store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/token.h"
#include "nlohmann/json.hpp"
#include "store/metadata_store.h"

namespace ferry::auth {

// Tokens a workspace may hold that are not revoked; creating more is refused.
inline constexpr int kMaxActiveTokens = 10'000;

struct TokenRecord {
  std::string id;     // the public part of the token's text
  std::string name;   // [A-Za-z0-9][A-Za-z0-9._-]{0,63}, unique among unrevoked tokens
  std::string scope;  // "read", "predict", "write" or "admin"
  ScopeSet granted = 0;
  std::string salt_hex;
  std::string digest_hex;
  double rate_limit_per_second = 0;  // 0: the server's default
  int64_t created_at_micros = 0;
  std::string created_by;
  std::optional<int64_t> expires_at_micros;
  std::optional<int64_t> revoked_at_micros;

  bool Expired(int64_t now_micros) const {
    return expires_at_micros.has_value() && now_micros >= *expires_at_micros;
  }
};

// Applies the "auth" component's migrations (api_tokens, audit_log). Idempotent.
absl::Status ApplyAuthMigrations(store::MetadataStore& metadata, int64_t now_micros);

// InvalidArgument unless name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
absl::Status ValidateTokenName(std::string_view name);

// A token as the CLI's --json and the HTTP API show it: never its salt or digest.
nlohmann::json TokenJson(const TokenRecord& token);

struct TokenSpec {
  std::string name;
  std::string scope;
  std::optional<int64_t> expires_at_micros;
  double rate_limit_per_second = 0;
  std::string created_by;
};

struct CreatedToken {
  TokenRecord record;
  std::string text;  // the whole token, shown once
};

class TokenStore {
 public:
  // Applies the migrations. Errors: the store's.
  static absl::StatusOr<TokenStore> Open(store::MetadataStore& metadata, int64_t now_micros);

  // Errors: InvalidArgument for a bad name, scope, expiry (not after now) or rate;
  // AlreadyExists when an unrevoked token has the name; ResourceExhausted beyond
  // kMaxActiveTokens.
  absl::StatusOr<CreatedToken> Create(const TokenSpec& spec, int64_t now_micros);
  // Newest first; revoked ones too when asked.
  absl::StatusOr<std::vector<TokenRecord>> List(bool include_revoked) const;
  // Revokes the unrevoked token with this name, or with this id. NotFound when there is
  // none; the record as revoked otherwise.
  absl::StatusOr<TokenRecord> Revoke(std::string_view name_or_id, int64_t now_micros);

 private:
  explicit TokenStore(store::MetadataStore& metadata) : metadata_(&metadata) {}
  store::MetadataStore* metadata_;
};

}  // namespace ferry::auth
