#pragma once

// Materialization: copies, for each entity key of a feature view, the latest row whose
// event time is in the window [start, end] (both inclusive) from the view's source into
// the online store, as Feast's `materialize` and `materialize-incremental` do.
//
// "Latest" is the point-in-time join's order (point_in_time_join.h): the greatest event
// time, ties broken by the created time (null oldest), then by the row that comes last
// in the source version. The view's FeatureTable is sorted in exactly that order, so the
// winner of a key is the last row of its run inside the window: one streaming pass, no
// sort. Writes go through OnlineStore::WriteLatest, so a materialization of an older
// window never overwrites newer values already online, whatever order runs happen in.
//
// Only views with `online: true` are materialized: when no views are named, the others
// are skipped; naming one is an error. Incremental runs start each view at the end of its
// last recorded window (materialization_log.h), or from the beginning of its data when
// there is none for this online store and this layout of the view; a view already
// materialized up to `end` is reported and left alone. Rows that arrive in a later source
// version with event times before that end are not picked up incrementally (as in
// Feast); a run with an explicit window picks them up.
//
// A run is recorded per view once its values are durable (OnlineStore::Sync); a crash
// before that records nothing and rerunning is harmless.
//
// Thread-safety: Materialize may run concurrently with lookups and with itself (writes
// to one view are serialised by the store).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/online_store.h"
#include "store/workspace.h"

namespace ferry::features {

struct MaterializeOptions {
  std::vector<std::string> views;  // empty: every view with online: true
  std::optional<int64_t> start;    // inclusive; nullopt: from the beginning
  int64_t end = 0;                 // inclusive, microseconds since the epoch
  bool incremental = false;        // each view starts where its last run ended (`start` unused)
  // Called after each row group with the view's rows read so far and its total.
  std::function<void(std::string_view view, int64_t rows_done, int64_t rows_total)> progress;
};

struct ViewMaterialization {
  std::string view;
  std::string source;            // the version read, "NAME@N"
  std::optional<int64_t> start;  // the window used; nullopt: from the beginning
  int64_t end = 0;
  bool up_to_date = false;  // incremental, already materialized up to `end`: nothing done
  bool table_built = false;  // the view's FeatureTable was built for this run
  int64_t rows_read = 0;       // rows of the FeatureTable walked
  int64_t rows_in_window = 0;  // of those, rows with an event time in the window
  int64_t keys_written = 0;
  int64_t keys_kept = 0;  // the online value was newer or the same
  double seconds = 0;
};

// Errors: InvalidArgument when start > end or a named view has online: false; NotFound
// for an unknown view or a source version that does not exist; the stores' errors. Views
// before the failing one stay materialized and recorded.
absl::StatusOr<std::vector<ViewMaterialization>> Materialize(
    store::Workspace& workspace, const dataset::DatasetStore& datasets,
    const FeatureRegistry& registry, OnlineStore& online, const MaterializeOptions& options);

// The name of the online store record that describes a view's last materialized layout
// (docs/online-store-format.md).
std::string ViewRecordName(std::string_view view);

}  // namespace ferry::features
