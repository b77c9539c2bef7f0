#pragma once

// MaterializationLog: one record per feature view per materialization run, kept in the
// metadata store (component "features_online", table feature_materializations). It is
// what `ferry features materialize-incremental` resumes from (the last window end) and
// what `ferry features list|show` and GET /api/v1/features report as a view's online
// freshness.
//
// A record names the online store it wrote into (OnlineStore::id) and the view's layout:
// after the store is deleted and created again, or after the view's features change,
// incremental materialization starts from the beginning instead of resuming.
//
// Thread-safety: stateless functions over the thread-safe metadata store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/metadata_store.h"

namespace ferry::features {

struct MaterializationRecord {
  std::string view;
  int64_t seq = 0;  // 1, 2, ... per view
  std::string store_id;
  std::string layout_sha256;
  std::string source;                   // the version read, "NAME@N"
  std::optional<int64_t> window_start;  // inclusive; nullopt: from the beginning
  int64_t window_end = 0;               // inclusive
  int64_t rows_in_window = 0;           // feature rows whose event time was in the window
  int64_t keys_written = 0;
  int64_t keys_kept = 0;  // the stored value was newer (or the same)
  int64_t started_at = 0;
  int64_t finished_at = 0;  // microseconds since the epoch, like every time here
};

// Creates the log's table if needed. Errors: the store's.
absl::Status PrepareMaterializationLog(store::MetadataStore& metadata, int64_t now_micros);

// Appends `record` with the next seq of its view and returns it. Call
// PrepareMaterializationLog first. Errors: the store's.
absl::StatusOr<MaterializationRecord> AppendMaterialization(store::MetadataStore& metadata,
                                                            MaterializationRecord record);

// The latest record of `view` (into the store `store_id` when given); nullopt when there
// is none, also when nothing was ever materialized in this workspace. Read-only.
// Errors: the store's.
absl::StatusOr<std::optional<MaterializationRecord>> LastMaterialization(
    store::MetadataStore& metadata, std::string_view view,
    std::optional<std::string_view> store_id = std::nullopt);

// The views with at least one record into the store `store_id`, by name; empty when
// nothing was ever materialized in this workspace. Read-only. Errors: the store's.
absl::StatusOr<std::vector<std::string>> MaterializedViews(store::MetadataStore& metadata,
                                                           std::string_view store_id);

}  // namespace ferry::features
