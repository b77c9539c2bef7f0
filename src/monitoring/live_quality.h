#pragma once

// LiveQuality: how well a served model version does on the predictions whose ground
// truth has come back (POST /api/v1/feedback), over the policy's quality window of
// label arrivals, with how late the labels came.
//
// Metrics by the model's objective: binary classifiers (binary:*) accuracy, precision,
// recall (class 1 when the probability is above 0.5), AUC and log loss; multi-class
// (multi:*) accuracy, macro precision and recall, and log loss when the model gives
// probabilities; regression RMSE and MAE. Each equals sklearn.metrics' on the same rows
// (src/stats/quality.h).
//
// Thread-safety: pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json_fwd.hpp"

namespace ferry::monitoring {

// Labeled predictions: `width` outputs per row.
struct LabeledRows {
  size_t width = 1;
  std::vector<double> outputs;
  std::vector<double> labels;
  std::vector<int64_t> created_at;  // microseconds
  std::vector<int64_t> label_at;
};

struct LiveQuality {
  int64_t labeled = 0;
  std::map<std::string, std::optional<double>> metrics;  // by name; nullopt: undefined here
  std::optional<double> label_delay_p50;  // seconds from prediction to label
  std::optional<double> label_delay_p95;
  std::optional<double> label_delay_max;
  std::string note;  // why there are no metrics, when there are none
};

LiveQuality ComputeLiveQuality(std::string_view objective, const LabeledRows& rows);

nlohmann::json LiveQualityToJson(const LiveQuality& quality);

}  // namespace ferry::monitoring
