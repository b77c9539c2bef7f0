#pragma once

// ViewStatus: what `ferry features list|show` and the HTTP API say about a feature view
// beyond its definition: the source version it resolves to now, how fresh that data
// is (its newest event time, from the version's profile), and what consumed the view
// (training sets and, later, models), from the lineage graph, and its last
// materialization into the online store (materialization_log.h).
//
// Thread-safety: stateless functions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_definitions.h"
#include "features/materialization_log.h"
#include "lineage/lineage_graph.h"
#include "store/workspace.h"

namespace ferry::features {

struct ViewStatus {
  std::string source_version;             // "NAME@N"; empty when it does not resolve
  std::string source_error;               // why it does not resolve
  std::optional<int64_t> source_rows;
  std::optional<int64_t> newest_event;    // microseconds since the epoch
  std::optional<int64_t> oldest_event;
  std::vector<lineage::Node> consumers;   // what was made from the view
  std::optional<MaterializationRecord> last_materialization;  // none yet: nullopt
};

// Errors: the stores' (a source that no longer resolves is reported in the status,
// not as an error).
absl::StatusOr<ViewStatus> DescribeView(store::Workspace& workspace,
                                        const dataset::DatasetStore& datasets,
                                        const FeatureView& view);

}  // namespace ferry::features
