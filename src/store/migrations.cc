#include "store/migrations.h"

#include <string>
#include <vector>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL,"
    " PRIMARY KEY (component, version))";

std::string Checksum(const Migration& m) { return core::Sha256::Of(m.sql).ToHex(); }

}  // namespace

absl::StatusOr<int> AppliedVersion(MetadataStore& store, std::string_view component) {
  int version = 0;
  RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute(kCreateTable).status());
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional(
                                   "SELECT MAX(version) FROM schema_migrations WHERE component = ?",
                                   {component}));
    if (row && !row->IsNull(0)) version = static_cast<int>(row->Int(0));
    return absl::OkStatus();
  }));
  return version;
}

absl::StatusOr<int> ApplyMigrations(MetadataStore& store, std::string_view component,
                                    std::span<const Migration> migrations, int64_t now_micros) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InvalidArgumentError(core::Cat("migrations of \"", component,
                                                  "\" must be numbered 1..n; entry ", i,
                                                  " has version ", migrations[i].version));
    }
  }
  // One transaction reads what is applied; in the common case (all applied and
  // unchanged) opening a workspace costs nothing more.
  std::vector<std::string> applied_checksums;  // index = version - 1
  RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute(kCreateTable).status());
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT version, checksum FROM schema_migrations"
                                         " WHERE component = ? ORDER BY version",
                                         {component}));
    for (const Row& row : rows) applied_checksums.push_back(row.Text(1));
    if (!rows.empty() && rows.back().Int(0) != static_cast<int64_t>(rows.size())) {
      return absl::DataLossError(core::Cat("schema_migrations of \"", component,
                                           "\" has gaps; the metadata store is damaged"));
    }
    return absl::OkStatus();
  }));
  if (applied_checksums.size() > migrations.size()) {
    return absl::FailedPreconditionError(
        core::Cat("the workspace's \"", component, "\" schema is at version ",
                  applied_checksums.size(), " but this ferry knows only up to ",
                  migrations.size(), "; it was written by a newer ferry"));
  }
  for (size_t i = 0; i < applied_checksums.size(); ++i) {
    if (applied_checksums[i] != Checksum(migrations[i])) {
      return absl::FailedPreconditionError(
          core::Cat("migration ", component, "/", migrations[i].version, " (",
                    migrations[i].name, ") differs from the one applied to this workspace"));
    }
  }
  int applied = 0;
  for (const Migration& m : migrations.subspan(applied_checksums.size())) {
    RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.Execute(kCreateTable).status());
      ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT checksum FROM schema_migrations"
                                                  " WHERE component = ? AND version = ?",
                                                  {component, m.version}));
      if (row) {
        if (row->Text(0) != Checksum(m)) {
          return absl::FailedPreconditionError(
              core::Cat("migration ", component, "/", m.version, " (", m.name,
                        ") differs from the one applied to this workspace"));
        }
        return absl::OkStatus();  // applied before (maybe by another process just now)
      }
      RETURN_IF_ERROR(tx.ExecuteScript(m.sql));
      RETURN_IF_ERROR(tx.Execute("INSERT INTO schema_migrations"
                                 " (component, version, name, checksum, applied_at)"
                                 " VALUES (?, ?, ?, ?, ?)",
                                 {component, m.version, m.name, Checksum(m), now_micros})
                          .status());
      ++applied;
      return absl::OkStatus();
    }));
  }
  return applied;
}

}  // namespace ferry::store
