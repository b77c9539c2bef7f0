#include "auth/token_store.h"

#include <cmath>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/migrations.h"

namespace ferry::auth {
namespace {

using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create api_tokens and audit_log",
     "CREATE TABLE api_tokens ("
     " id TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " scope TEXT NOT NULL,"
     " salt TEXT NOT NULL,"
     " digest TEXT NOT NULL,"
     " rate_limit DOUBLE PRECISION NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " created_by TEXT NOT NULL,"
     " expires_at BIGINT,"
     " revoked_at BIGINT);"
     "CREATE UNIQUE INDEX api_tokens_unrevoked_name ON api_tokens (name)"
     " WHERE revoked_at IS NULL;"
     "CREATE TABLE audit_log ("
     " id BIGINT PRIMARY KEY,"
     " at BIGINT NOT NULL,"
     " actor TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " action TEXT NOT NULL,"
     " target TEXT NOT NULL,"
     " status INTEGER NOT NULL,"
     " outcome TEXT NOT NULL,"
     " detail TEXT NOT NULL);"
     "CREATE INDEX audit_log_by_at ON audit_log (at);"},
};

constexpr char kColumns[] =
    "id, name, scope, salt, digest, rate_limit, created_at, created_by, expires_at, revoked_at";

TokenRecord RecordOf(const Row& row) {
  TokenRecord record;
  record.id = row.Text(0);
  record.name = row.Text(1);
  record.scope = row.Text(2);
  absl::StatusOr<ScopeSet> granted = GrantedBy(record.scope);
  record.granted = granted.ok() ? *granted : 0;  // an unknown stored scope grants nothing
  record.salt_hex = row.Text(3);
  record.digest_hex = row.Text(4);
  record.rate_limit_per_second = row.Double(5);
  record.created_at_micros = row.Int(6);
  record.created_by = row.Text(7);
  record.expires_at_micros = row.OptionalInt(8);
  record.revoked_at_micros = row.OptionalInt(9);
  return record;
}

}  // namespace

absl::Status ApplyAuthMigrations(store::MetadataStore& metadata, int64_t now_micros) {
  return store::ApplyMigrations(metadata, "auth", kMigrations, now_micros).status();
}

absl::Status ValidateTokenName(std::string_view name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  bool valid = !name.empty() && name.size() <= 64 && ok_char(name.front()) && name.front() != '.' &&
               name.front() != '_' && name.front() != '-';
  for (char c : name) valid = valid && ok_char(c);
  if (!valid) {
    return absl::InvalidArgumentError(
        core::Cat("token name \"", name,
                  "\" must be 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit"));
  }
  return absl::OkStatus();
}

nlohmann::json TokenJson(const TokenRecord& token) {
  nlohmann::json out{{"id", token.id},
                     {"name", token.name},
                     {"scope", token.scope},
                     {"created_at", core::FormatTimestamp(token.created_at_micros)},
                     {"created_by", token.created_by},
                     {"expires_at", nullptr},
                     {"revoked_at", nullptr},
                     {"rate_limit_per_second", token.rate_limit_per_second}};
  if (token.expires_at_micros) out["expires_at"] = core::FormatTimestamp(*token.expires_at_micros);
  if (token.revoked_at_micros) out["revoked_at"] = core::FormatTimestamp(*token.revoked_at_micros);
  return out;
}

absl::StatusOr<TokenStore> TokenStore::Open(store::MetadataStore& metadata, int64_t now_micros) {
  RETURN_IF_ERROR(ApplyAuthMigrations(metadata, now_micros));
  return TokenStore(metadata);
}

absl::StatusOr<CreatedToken> TokenStore::Create(const TokenSpec& spec, int64_t now_micros) {
  RETURN_IF_ERROR(ValidateTokenName(spec.name));
  ASSIGN_OR_RETURN(ScopeSet granted, GrantedBy(spec.scope));
  if (spec.expires_at_micros.has_value() && *spec.expires_at_micros <= now_micros) {
    return absl::InvalidArgumentError("the token would expire before it is made");
  }
  if (!std::isfinite(spec.rate_limit_per_second) || spec.rate_limit_per_second < 0 ||
      spec.rate_limit_per_second > 1e9) {
    return absl::InvalidArgumentError("rate limit must be 0 (the server's default) up to 1e9");
  }
  ASSIGN_OR_RETURN(NewToken token, GenerateToken());
  CreatedToken created;
  TokenRecord& record = created.record;
  record.id = token.id;
  record.name = spec.name;
  record.scope = spec.scope;
  record.granted = granted;
  record.salt_hex = token.salt_hex;
  record.digest_hex = token.digest_hex;
  record.rate_limit_per_second = spec.rate_limit_per_second;
  record.created_at_micros = now_micros;
  record.created_by = spec.created_by;
  record.expires_at_micros = spec.expires_at_micros;
  created.text = std::move(token.text);
  RETURN_IF_ERROR(metadata_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> count,
                     tx.Query("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL"));
    if (count[0].Int(0) >= kMaxActiveTokens) {
      return absl::ResourceExhaustedError(core::Cat(
          "the workspace has ", kMaxActiveTokens, " unrevoked tokens already; revoke some first"));
    }
    absl::StatusOr<int64_t> inserted = tx.Execute(
        core::Cat("INSERT INTO api_tokens (", kColumns, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        {record.id, record.name, record.scope, record.salt_hex, record.digest_hex,
         record.rate_limit_per_second, record.created_at_micros, record.created_by,
         record.expires_at_micros, store::Value()});
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError(core::Cat(
          "a token named \"", record.name, "\" exists; revoke it first or choose another name"));
    }
    return inserted.status();
  }));
  return created;
}

absl::StatusOr<std::vector<TokenRecord>> TokenStore::List(bool include_revoked) const {
  std::vector<TokenRecord> records;
  RETURN_IF_ERROR(metadata_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query(core::Cat("SELECT ", kColumns, " FROM api_tokens",
                                        include_revoked ? "" : " WHERE revoked_at IS NULL",
                                        " ORDER BY created_at DESC, id")));
    records.reserve(rows.size());
    for (const Row& row : rows) records.push_back(RecordOf(row));
    return absl::OkStatus();
  }));
  return records;
}

absl::StatusOr<TokenRecord> TokenStore::Revoke(std::string_view name_or_id, int64_t now_micros) {
  TokenRecord record;
  RETURN_IF_ERROR(metadata_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     tx.QueryOptional(core::Cat("SELECT ", kColumns,
                                                " FROM api_tokens WHERE revoked_at IS NULL"
                                                " AND (name = ? OR id = ?)"
                                                " ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END"
                                                " LIMIT 1"),
                                      {name_or_id, name_or_id, name_or_id}));
    if (!row.has_value()) {
      return absl::NotFoundError(core::Cat("no unrevoked token named \"", name_or_id, "\""));
    }
    record = RecordOf(*row);
    record.revoked_at_micros = now_micros;
    return tx.Execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", {now_micros, record.id})
        .status();
  }));
  return record;
}

}  // namespace ferry::auth
