#pragma once

// Scoring XGBoost models on a dataset version's labelled rows, for the evaluate step:
// each model reads the columns its feature names say, in its own order, through
// libxgboost (serving/xgboost_booster.h), and is scored with stats/quality.h by the
// metrics of its objective's family:
//   binary      (binary:*)                      auc, logloss, accuracy, precision, recall
//   multi-class (multi:*)                       accuracy, logloss
//   regression  (reg:*, count:*, survival:aft)  rmse, mae
// The first of each family is its default gate metric. Probability metrics take
// binary:logitraw's margins through the logistic function; multi:softmax, which gives
// classes rather than probabilities, has no logloss (null). Feature values: int64,
// float64 and bool (0 / 1) columns, nulls as missing (NaN); labels must be numbers.
//
// Thread-safety: a ScoringModel is used by one thread; the functions are pure.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "pipeline/evaluation_report.h"
#include "serving/xgboost_booster.h"

namespace ferry::pipeline {

enum class ObjectiveFamily : uint8_t { kBinary, kMultiClass, kRegression };
std::string_view ObjectiveFamilyName(ObjectiveFamily family);  // "binary", ...

// The metrics a family reports, its default gate metric first.
std::span<const std::string_view> FamilyMetrics(ObjectiveFamily family);
// auc, accuracy, precision, recall: true; logloss, rmse, mae: false.
bool MetricHigherIsBetter(std::string_view metric);

struct ScoringModel {
  std::string label;  // how messages name it: "the candidate", "baseline fraud@3"
  std::unique_ptr<serving::XGBoostBooster> booster;
  std::vector<std::string> features;  // the columns it reads, in its order
  ObjectiveFamily family = ObjectiveFamily::kBinary;
};

// Loads a model file's bytes; `features` empty: the names the model file stores.
// InvalidArgument naming `label` for a file libxgboost cannot load, a model without
// feature names (and none given), a feature count other than the model's, and an
// objective no family scores (rank:*, survival:cox).
absl::StatusOr<ScoringModel> LoadScoringModel(std::string label, std::string_view bytes,
                                              std::vector<std::string> features, int threads);

// The labelled rows: each model's feature columns as float32 and the labels.
struct LabelledRows {
  int64_t rows = 0;
  std::vector<double> labels;
  std::map<std::string, std::vector<float>> columns;
};

// Reads `label` and every column the models need from `version`. InvalidArgument naming
// the column (and the model that needs it) when it is missing or not numeric, and the
// row of an empty label.
absl::StatusOr<LabelledRows> ReadLabelledRows(const dataset::DatasetStore& datasets,
                                              const dataset::VersionRecord& version,
                                              const std::string& label,
                                              std::span<const ScoringModel* const> models);

// The rows of `rows` (read from `version`) whose `time_column` (a timestamp or number
// column) lies within `window` of its newest value, both ends included. InvalidArgument
// naming the column when it is missing, not a time or number, or empty in a row.
absl::StatusOr<LabelledRows> KeepRecentRows(const dataset::DatasetStore& datasets,
                                            const dataset::VersionRecord& version,
                                            const std::string& time_column,
                                            std::chrono::microseconds window,
                                            const LabelledRows& rows);

// The model's metrics on the rows (FamilyMetrics' names; nullopt where undefined).
// Errors: libxgboost's, and stats' InvalidArgument for labels outside the metric's domain
// (a binary label other than 0 and 1), naming the model.
absl::StatusOr<MetricValues> ScoreModel(const ScoringModel& model, const LabelledRows& rows);

}  // namespace ferry::pipeline
