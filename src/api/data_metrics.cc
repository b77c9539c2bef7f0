#include "api/data_metrics.h"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "core/status.h"
#include "features/view_status.h"
#include "serving/serving_metrics.h"

namespace ferry::api {

using serving::AppendMetricFamily;
using serving::EscapeLabelValue;

absl::Status AppendDataMetrics(store::Workspace& workspace, const dataset::DatasetStore& datasets,
                               const features::FeatureRegistry& features,
                               const serving::PredictionLog* log, std::string& out) {
  ASSIGN_OR_RETURN(std::vector<dataset::DatasetSummary> summaries, datasets.List());
  AppendMetricFamily(out, "ferry_dataset_versions", "gauge", "Versions kept of a dataset.");
  for (const dataset::DatasetSummary& d : summaries) {
    out += fmt::format("ferry_dataset_versions{{dataset=\"{}\"}} {}\n", EscapeLabelValue(d.name),
                       d.versions);
  }
  AppendMetricFamily(out, "ferry_dataset_latest_version", "gauge",
                     "The number of a dataset's latest version.");
  for (const dataset::DatasetSummary& d : summaries) {
    out += fmt::format("ferry_dataset_latest_version{{dataset=\"{}\"}} {}\n",
                       EscapeLabelValue(d.name), d.latest.version);
  }
  AppendMetricFamily(out, "ferry_dataset_latest_rows", "gauge",
                     "Rows of a dataset's latest version (tabular versions only).");
  for (const dataset::DatasetSummary& d : summaries) {
    if (d.latest.rows) {
      out += fmt::format("ferry_dataset_latest_rows{{dataset=\"{}\"}} {}\n",
                         EscapeLabelValue(d.name), *d.latest.rows);
    }
  }

  ASSIGN_OR_RETURN(features::FeatureDefinitions definitions, features.Current());
  struct Freshness {
    std::string view;
    std::optional<int64_t> newest_event;
    std::optional<int64_t> materialized;
  };
  std::vector<Freshness> views;
  for (const features::FeatureView& view : definitions.views) {
    ASSIGN_OR_RETURN(features::ViewStatus status, features::DescribeView(workspace, datasets, view));
    views.push_back({view.name, status.newest_event,
                     status.last_materialization
                         ? std::optional<int64_t>(status.last_materialization->finished_at)
                         : std::nullopt});
  }
  const int64_t now = workspace.clock().NowMicros();
  AppendMetricFamily(out, "ferry_feature_view_newest_event_timestamp_seconds", "gauge",
                     "Newest event time in a feature view's source version (Unix seconds).");
  for (const Freshness& v : views) {
    if (v.newest_event) {
      out += fmt::format("ferry_feature_view_newest_event_timestamp_seconds{{view=\"{}\"}} {}\n",
                         EscapeLabelValue(v.view), static_cast<double>(*v.newest_event) / 1e6);
    }
  }
  AppendMetricFamily(out, "ferry_feature_view_freshness_seconds", "gauge",
                     "Age of the newest event in a feature view's source version.");
  for (const Freshness& v : views) {
    if (v.newest_event) {
      out += fmt::format("ferry_feature_view_freshness_seconds{{view=\"{}\"}} {}\n",
                         EscapeLabelValue(v.view),
                         static_cast<double>(now - *v.newest_event) / 1e6);
    }
  }
  AppendMetricFamily(out, "ferry_feature_view_materialized_timestamp_seconds", "gauge",
                     "When a feature view was last materialized into the online store (Unix "
                     "seconds).");
  for (const Freshness& v : views) {
    if (v.materialized) {
      out += fmt::format("ferry_feature_view_materialized_timestamp_seconds{{view=\"{}\"}} {}\n",
                         EscapeLabelValue(v.view), static_cast<double>(*v.materialized) / 1e6);
    }
  }
  if (log != nullptr) {
    AppendMetricFamily(out, "ferry_prediction_log_queue_depth", "gauge",
                       "Predictions waiting to be written to the prediction log.");
    out += fmt::format("ferry_prediction_log_queue_depth {}\n", log->queued());
  }
  return absl::OkStatus();
}

}  // namespace ferry::api
