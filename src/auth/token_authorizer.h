#pragma once

// TokenAuthorizer: ferry server's Authorizer. It checks the bearer token of every
// request against the route's required scopes (access_policy.h), applies rate limits,
// names the caller on the request, and sends what must be audited to the AuditWriter.
//
// Tokens are read from the metadata store into memory when the authorizer opens and
// again every reload_interval (1 s) on a thread of its own, so a request costs a hash
// lookup and one SHA-256, never a database read, and a token created or revoked by any
// process (the CLI, another server) takes effect within reload_interval. A token id not
// in memory causes one immediate reload (at most every 250 ms), so a token is usable as
// soon as `ferry token create` prints it.
//
// With require_tokens off (a loopback server by default), tokens are not looked at:
// every request is anonymous, within the per-address rate limit if one is set, and the
// audit log still records every mutation.
//
// Thread-safety: Authorize and OnResponse are called from every server thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "auth/audit_log.h"
#include "auth/rate_limiter.h"
#include "auth/token_store.h"
#include "server/authorizer.h"

namespace ferry::auth {

class TokenAuthorizer final : public server::Authorizer {
 public:
  struct Options {
    bool require_tokens = true;
    // Each token's limit unless its own is set; also each client address's when
    // requests come without a token. 0: none.
    double rate_limit_per_second = 0;
    int rate_limit_burst = 0;
    std::chrono::milliseconds reload_interval{1000};
  };

  // Loads the tokens (applying the migrations). Errors: the store's.
  static absl::StatusOr<std::shared_ptr<TokenAuthorizer>> Open(store::MetadataStore& metadata,
                                                               std::shared_ptr<AuditWriter> audit,
                                                               const Options& options);
  ~TokenAuthorizer() override;

  absl::Status Authorize(server::Request& request, const server::RouteInfo& route) override;
  void OnResponse(const server::Request& request, const server::Response& response) override;

  // Tokens in memory that can be used (not revoked, not expired).
  size_t usable_tokens() const;

 private:
  struct Tokens {
    absl::flat_hash_map<std::string, TokenRecord> by_id;  // unrevoked ones
  };

  TokenAuthorizer(TokenStore store, std::shared_ptr<AuditWriter> audit, const Options& options);
  absl::Status Reload();
  void ReloadLoop();
  std::shared_ptr<const Tokens> Current() const;
  // The token a request presents, checked (a miss may reload `tokens`, which keeps the
  // returned record alive), named on the request ("token:NAME", or
  // "unverified-token:ID" when a well-formed token fails); the refusal otherwise.
  absl::StatusOr<const TokenRecord*> Authenticate(server::Request& request,
                                                  std::shared_ptr<const Tokens>& tokens);
  absl::Status CheckRate(const server::Request& request, const TokenRecord* token);

  TokenStore store_;
  const std::shared_ptr<AuditWriter> audit_;
  const Options options_;
  RateLimiter limiter_;

  mutable std::mutex tokens_mutex_;
  std::shared_ptr<const Tokens> tokens_;
  std::mutex reload_mutex_;                   // one reload at a time
  std::atomic<int64_t> last_miss_reload_{0};  // steady-clock ns of the last reload on a miss

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread reloader_;
};

}  // namespace ferry::auth
