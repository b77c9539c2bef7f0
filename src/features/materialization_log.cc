#include "features/materialization_log.h"

#include "core/status.h"
#include "store/migrations.h"

namespace ferry::features {
namespace {

constexpr std::string_view kComponent = "features_online";

constexpr store::Migration kMigrations[] = {
    {1, "create feature_materializations",
     "CREATE TABLE feature_materializations ("
     " view TEXT NOT NULL,"
     " seq BIGINT NOT NULL,"
     " store_id TEXT NOT NULL,"
     " layout_sha256 TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " window_start BIGINT,"
     " window_end BIGINT NOT NULL,"
     " rows_in_window BIGINT NOT NULL,"
     " keys_written BIGINT NOT NULL,"
     " keys_kept BIGINT NOT NULL,"
     " started_at BIGINT NOT NULL,"
     " finished_at BIGINT NOT NULL,"
     " PRIMARY KEY (view, seq));"},
};

constexpr std::string_view kColumns =
    "SELECT view, seq, store_id, layout_sha256, source, window_start, window_end,"
    " rows_in_window, keys_written, keys_kept, started_at, finished_at"
    " FROM feature_materializations";

MaterializationRecord FromRow(const store::Row& row) {
  return {row.Text(0), row.Int(1),  row.Text(2),  row.Text(3),  row.Text(4), row.OptionalInt(5),
          row.Int(6),  row.Int(7),  row.Int(8),   row.Int(9),   row.Int(10), row.Int(11)};
}

}  // namespace

absl::Status PrepareMaterializationLog(store::MetadataStore& metadata, int64_t now_micros) {
  return store::ApplyMigrations(metadata, kComponent, kMigrations, now_micros).status();
}

absl::StatusOr<MaterializationRecord> AppendMaterialization(store::MetadataStore& metadata,
                                                            MaterializationRecord record) {
  RETURN_IF_ERROR(metadata.Write([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto last, tx.QueryOptional("SELECT MAX(seq) FROM feature_materializations"
                                                 " WHERE view = ?",
                                                 {record.view}));
    record.seq = last && !last->IsNull(0) ? last->Int(0) + 1 : 1;
    return tx
        .Execute("INSERT INTO feature_materializations (view, seq, store_id, layout_sha256,"
                 " source, window_start, window_end, rows_in_window, keys_written, keys_kept,"
                 " started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {record.view, record.seq, record.store_id, record.layout_sha256, record.source,
                  record.window_start, record.window_end, record.rows_in_window,
                  record.keys_written, record.keys_kept, record.started_at, record.finished_at})
        .status();
  }));
  return record;
}

namespace {

// Whether the log's table exists (nothing was materialized before it does).
absl::StatusOr<bool> LogExists(store::Transaction& tx) {
  ASSIGN_OR_RETURN(auto migrated, tx.QueryOptional("SELECT COUNT(*) FROM schema_migrations"
                                                   " WHERE component = ?",
                                                   {kComponent}));
  return migrated && migrated->Int(0) > 0;
}

}  // namespace

absl::StatusOr<std::optional<MaterializationRecord>> LastMaterialization(
    store::MetadataStore& metadata, std::string_view view,
    std::optional<std::string_view> store_id) {
  std::optional<MaterializationRecord> record;
  RETURN_IF_ERROR(metadata.Read([&](store::Transaction& tx) -> absl::Status {
    // Before the first materialization the table may not exist: ask the migrations.
    ASSIGN_OR_RETURN(bool exists, LogExists(tx));
    if (!exists) return absl::OkStatus();
    std::optional<store::Row> row;
    if (store_id) {
      ASSIGN_OR_RETURN(row, tx.QueryOptional(std::string(kColumns) +
                                                 " WHERE view = ? AND store_id = ?"
                                                 " ORDER BY seq DESC LIMIT 1",
                                             {view, *store_id}));
    } else {
      ASSIGN_OR_RETURN(row, tx.QueryOptional(std::string(kColumns) +
                                                 " WHERE view = ? ORDER BY seq DESC LIMIT 1",
                                             {view}));
    }
    if (row) record = FromRow(*row);
    return absl::OkStatus();
  }));
  return record;
}

absl::StatusOr<std::vector<std::string>> MaterializedViews(store::MetadataStore& metadata,
                                                           std::string_view store_id) {
  std::vector<std::string> views;
  RETURN_IF_ERROR(metadata.Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, LogExists(tx));
    if (!exists) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT DISTINCT view FROM feature_materializations"
                                         " WHERE store_id = ? ORDER BY view",
                                         {store_id}));
    for (const store::Row& row : rows) views.push_back(row.Text(0));
    return absl::OkStatus();
  }));
  return views;
}

}  // namespace ferry::features
