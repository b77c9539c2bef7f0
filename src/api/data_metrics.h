#pragma once

// The data side of GET /metrics: dataset versions and feature freshness, read from the
// metadata store at each scrape.
//
//   ferry_dataset_versions{dataset}                          gauge: versions kept
//   ferry_dataset_latest_version{dataset}                    gauge: the latest's number
//   ferry_dataset_latest_rows{dataset}                       gauge: its rows (tabular)
//   ferry_feature_view_newest_event_timestamp_seconds{view}  gauge: newest event time in
//                                                             the view's source version
//   ferry_feature_view_freshness_seconds{view}               gauge: now minus that, by
//                                                             the workspace clock
//   ferry_feature_view_materialized_timestamp_seconds{view}  gauge: when the view was
//                                                             last materialized online
//   ferry_prediction_log_queue_depth                         gauge: predictions waiting
//                                                             to be written
//
// Thread-safety: reads only; safe from any thread.

#include <string>

#include "absl/status/status.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "serving/prediction_log.h"
#include "store/workspace.h"

namespace ferry::api {

// Appends the families above. `log` may be null. Errors: the stores'.
absl::Status AppendDataMetrics(store::Workspace& workspace, const dataset::DatasetStore& datasets,
                               const features::FeatureRegistry& features,
                               const serving::PredictionLog* log, std::string& out);

}  // namespace ferry::api
