#pragma once

// ServedModel: one model version loaded behind one endpoint, with everything a request
// needs worked out once, at load: the input order and names, the online-store query
// that enriches requests giving only entity keys (when the model's signature names a
// feature service), the output layout, and the endpoint's v2 metadata document.
//
// Inputs are the signature's inputs in order; without a signature, the names stored
// in the model file; without those, XGBoost's default names f0, f1, ... A feature
// service's features may also be named "view__feature". With a feature service, every
// feature it supplies is one of the inputs (matched by name, in any order); the inputs it
// does not supply are request-time features (the transaction's amount, say) that every
// request must give.
//
// Thread-safety: immutable once built; shared by every request that uses it (held by
// shared_ptr, so a replaced version unloads when its last request finishes).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "features/feature_registry.h"
#include "features/online_features.h"
#include "monitoring/model_monitor.h"
#include "registry/model_record.h"
#include "serving/batcher.h"
#include "serving/deployment_store.h"
#include "serving/model_runtime.h"
#include "serving/serving_metrics.h"

namespace ferry::serving {

// The one output every model has: its predictions (num_outputs values per row).
inline constexpr std::string_view kPredictOutput = "predict";

struct ServedModel {
  std::string endpoint;
  registry::ModelVersion version;
  std::string version_text;  // "3"
  MissingFeaturePolicy missing_features = MissingFeaturePolicy::kError;
  LoadedModelPtr model;
  size_t num_inputs = 0;
  size_t num_outputs = 1;
  std::vector<std::string> input_names;
  // Every name an input answers to -> its position.
  absl::flat_hash_map<std::string, size_t> input_index;
  // Enrichment: the feature service's online query, whose i-th feature is input
  // query_inputs[i]. Null when the signature names no feature service.
  std::shared_ptr<const features::OnlineQuery> query;
  std::vector<size_t> query_inputs;
  // The inputs the feature service does not supply (request-time features), in order.
  std::vector<size_t> request_inputs;
  // The feature service's views as resolved when the query was prepared: when their
  // definitions change (`ferry features apply`), the query is prepared again.
  std::vector<features::FeatureSelection::ViewPart> feature_views;
  // This endpoint's counters for this version (null in tests that build models bare).
  std::shared_ptr<ModelMetrics> metrics;
  // Live drift, data quality, latency and throughput of this version behind this
  // endpoint; null in tests that build models bare. Survives a rebuild for new feature
  // definitions (the same version keeps its window).
  std::shared_ptr<monitoring::ModelMonitor> monitor;
  // Adaptive batching of single-row requests; null when off.
  std::unique_ptr<Batcher> batcher;
  // GET /v2/models/{endpoint}, precomputed.
  std::string metadata_json;
  int64_t loaded_at = 0;  // microseconds since the epoch

  // The position of a named input, or -1.
  int64_t InputIndex(std::string_view name) const {
    auto it = input_index.find(absl::string_view(name.data(), name.size()));
    return it == input_index.end() ? -1 : static_cast<int64_t>(it->second);
  }
  // True when `name` is one of the feature service's join keys.
  bool IsJoinKey(std::string_view name) const;
};

using ServedModelPtr = std::shared_ptr<const ServedModel>;

// "a, b, c" for the first few names, then how many more (for messages).
std::string NameList(const std::vector<std::string>& names);

struct BatchingOptions {
  std::chrono::microseconds max_delay{0};  // 0: no batching
  size_t max_rows = 64;
};

// True when `selection` (the service resolved now) differs from what `model` was built
// with, so its online query must be prepared again.
bool FeaturesChanged(const ServedModel& model, const features::FeatureSelection& selection);

// Makes the monitor of a model being built (everything else in it is set by then).
using MonitorFactory =
    std::function<std::shared_ptr<monitoring::ModelMonitor>(const ServedModel& model)>;

// Builds a ServedModel from a loaded model and its registry record. `features` resolves
// the signature's feature service (may be null when there is none). Errors:
// InvalidArgument when the model and its record disagree (input counts) or an input
// the feature service supplies is a string (XGBoost takes numbers); the feature
// registry's errors for the service.
absl::StatusOr<ServedModelPtr> BuildServedModel(const Deployment& deployment,
                                                const registry::ModelVersion& version,
                                                LoadedModelPtr model,
                                                const features::FeatureRegistry* features,
                                                const BatchingOptions& batching,
                                                int64_t now_micros,
                                                ServingMetrics* metrics = nullptr,
                                                const MonitorFactory& monitor = {});

}  // namespace ferry::serving
