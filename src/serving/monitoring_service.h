#pragma once

// MonitoringService: what the server reports about its endpoints' live traffic, from
// each served model version's monitor (monitoring/model_monitor.h) and the prediction
// log's labels: GET /api/v1/deployments/{endpoint}/monitoring (Report) and the
// monitoring families of GET /metrics (AppendMetrics):
//
//   ferry_feature_drift_score{endpoint,model,version,feature,method}   gauge: the
//       statistic compared with the threshold (p-value of a test, else the distance)
//   ferry_feature_drift_detected{endpoint,model,version,feature}       gauge: 1 / 0
//   ferry_prediction_drift_score{endpoint,model,version,method}, ferry_prediction_drift_detected
//   ferry_dataset_drift_share{endpoint,model,version}                  gauge: drifted share
//   ferry_dataset_drift_detected{endpoint,model,version}               gauge: 1 / 0
//   ferry_feature_missing_ratio{endpoint,model,version,feature}        gauge
//   ferry_feature_out_of_range_ratio{endpoint,model,version,feature}   gauge
//   ferry_feature_unseen_category_ratio{endpoint,model,version,feature} gauge
//   ferry_monitoring_window_rows{endpoint,model,version}                gauge
//   ferry_monitoring_unmonitored_rows_total{endpoint,model,version}    counter: over the cap
//   ferry_model_quality{endpoint,model,version,metric}                 gauge
//   ferry_model_quality_labeled_predictions{endpoint,model,version}    gauge
//   ferry_feedback_label_delay_seconds{endpoint,model,version,quantile} gauge
// Series without a verdict (too few rows, no reference) are left out, not reported as 0.
//
// Live quality reads at most policy.quality_max_rows labeled rows from the prediction
// log; a model's result is kept for kQualityTtl, and its drift snapshot for the metrics
// for kSnapshotTtl, so that scrapes, alert evaluations and API calls in a burst compute
// them once.
//
// Thread-safety: safe from any thread.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "monitoring/live_quality.h"
#include "nlohmann/json.hpp"
#include "serving/endpoint_manager.h"
#include "serving/prediction_log.h"

namespace ferry::serving {

class MonitoringService {
 public:
  static constexpr std::chrono::seconds kQualityTtl{2};
  static constexpr std::chrono::seconds kSnapshotTtl{1};
  // Cached results beyond this many models (versions come and go) are dropped at once.
  static constexpr size_t kMaxCached = 1000;

  // `log` may be null (no quality). Both must outlive the service.
  MonitoringService(EndpointManager& endpoints, const PredictionLog* log, core::ClockPtr clock);

  // {"endpoint", "models": [{"role": "stable"|"candidate", "model", "version", "policy",
  //  ...MonitorSnapshotToJson, "quality": LiveQualityToJson}]}. NotFound for an unknown
  // endpoint; Unavailable when it serves nothing (NotServing's reason). With
  // `distributions`, each model's "distributions" too (ColumnDistributionToJson).
  absl::StatusOr<nlohmann::json> Report(std::string_view endpoint, bool distributions = false);

  void AppendMetrics(std::string& out);

 private:
  monitoring::LiveQuality Quality(const ServedModel& model);
  // The model's monitor's snapshot for the metric families, reused for kSnapshotTtl: a
  // report with exact Kolmogorov-Smirnov p-values can take milliseconds a feature, and
  // scrapes and alert evaluations come together. Report always computes a fresh one.
  monitoring::MonitorSnapshot Snapshot(const ServedModel& model, int64_t now_micros);

  EndpointManager& endpoints_;
  const PredictionLog* log_;
  core::ClockPtr clock_;

  // Results by "endpoint/NAME@V", with when they were computed.
  template <typename T>
  using Cache = std::map<std::string, std::pair<std::chrono::steady_clock::time_point, T>,
                         std::less<>>;
  // The cached value of `model` when younger than `ttl`, else compute() (stored).
  template <typename T, typename Compute>
  T Cached(Cache<T>& cache, const ServedModel& model, std::chrono::seconds ttl, Compute compute);

  std::mutex mu_;  // guards quality_ and snapshots_
  Cache<monitoring::LiveQuality> quality_;
  Cache<monitoring::MonitorSnapshot> snapshots_;
};

}  // namespace ferry::serving
