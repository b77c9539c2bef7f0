#pragma once

// XGBoost training through libxgboost's (1.7) C API, for the train-xgboost step
// (train_xgboost_step.cc):
//
//   - FeatureMatrix: a dataset version's feature and label columns, read as typed
//     columnar batches (never through text) into the row-major float32 matrix libxgboost
//     takes, nulls as NaN.
//   - XGBoostMatrix: libxgboost's DMatrix over it. For tree_method hist it is a
//     QuantileDMatrix, which keeps only each value's histogram bin (one byte a value
//     with max_bin <= 256) instead of a copy of the values; for approx and exact, a plain
//     DMatrix. Neither keeps a reference to the FeatureMatrix, which may be dropped once
//     the matrix is made. The trees are the same as Python's xgboost.DMatrix gives with
//     the same data and params: libxgboost computes the same bin boundaries either way.
//   - XGBoostTraining: a booster trained one round at a time, evaluated each round, cut
//     to its best round, saved as UBJSON or JSON.
//
// Determinism: the same matrix, params and thread count give the same model bytes
// (libxgboost's hist and approx are deterministic for a fixed nthread; the saved model
// holds no time or host).
//
// Thread-safety: none of these may be used from two threads at once. libxgboost keeps
// its last error per thread, so each call reads it on the thread that failed.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"

namespace ferry::pipeline {

struct FeatureMatrix {
  std::vector<std::string> names;
  // libxgboost's feature types, as Python's xgboost gives them for pandas columns:
  // "float" (float64), "int" (int64), "i" (bool, an indicator).
  std::vector<std::string> types;
  int64_t rows = 0;
  std::vector<float> values;  // rows x names.size(), row-major; NaN where null
  std::vector<float> labels;  // one per row

  size_t columns() const { return names.size(); }
};

// Reads `features` and `label` of `version` (a tabular dataset version) through
// DatasetStore::ReadBatches. Errors (InvalidArgument unless said): a feature or label
// column that is not int64, float64 or bool ("column \"city\" is string: XGBoost takes
// numeric columns only; list it in `exclude` ..."), a null label ("row 17 has no
// label ..."; rows count from 1), no rows; ReadBatches' errors as returned.
absl::StatusOr<FeatureMatrix> ReadFeatureMatrix(const dataset::DatasetStore& datasets,
                                                const dataset::VersionRecord& version,
                                                const table::Schema& schema,
                                                const std::vector<std::string>& features,
                                                const std::string& label);

enum class TreeMethod : uint8_t { kHist, kApprox, kExact };

struct MatrixOptions {
  TreeMethod tree_method = TreeMethod::kHist;
  int max_bin = 256;  // hist: must equal the booster's max_bin
  int threads = 1;
};

// One libxgboost DMatrix, freed by the destructor.
class XGBoostMatrix {
 public:
  // A matrix over `matrix` (rows, labels, feature names and types). With hist,
  // `reference` (the training matrix) gives a validation matrix the training set's bin
  // boundaries, as libxgboost requires. Errors: Internal with libxgboost's message.
  static absl::StatusOr<std::unique_ptr<XGBoostMatrix>> Create(
      const FeatureMatrix& matrix, const MatrixOptions& options,
      const XGBoostMatrix* reference = nullptr);
  ~XGBoostMatrix();
  XGBoostMatrix(const XGBoostMatrix&) = delete;
  XGBoostMatrix& operator=(const XGBoostMatrix&) = delete;

  void* handle() const { return handle_; }

 private:
  explicit XGBoostMatrix(void* handle) : handle_(handle) {}
  void* handle_;  // DMatrixHandle
};

// One evaluation result of a round: "validation-auc" 0.9132.
struct EvalMetric {
  std::string name;  // "<set>-<metric>", as libxgboost prints it
  double value = 0;
};

// Parses libxgboost's evaluation line ("[3]\ttrain-logloss:0.51\tvalidation-auc:0.87").
// InvalidArgument for anything else.
absl::StatusOr<std::vector<EvalMetric>> ParseEvalLine(std::string_view line);

// Whether a larger value of the metric ("validation-auc", "ndcg@5") is better: auc,
// aucpr, map, ndcg and pre (precision at k) are; losses and errors are not.
bool HigherIsBetter(std::string_view metric);

enum class ModelFormat : uint8_t { kUbjson, kJson };

// A booster being trained on one matrix and evaluated on named ones.
class XGBoostTraining {
 public:
  // A booster for `train` and `evals` (libxgboost caches predictions for each, so a
  // round's evaluation costs only the new trees), with `params` set in order (a name
  // may repeat: eval_metric) and the feature names and types the saved model keeps.
  // The matrices must outlive the training. Errors: Internal with libxgboost's message
  // (an unknown objective, a bad value).
  static absl::StatusOr<std::unique_ptr<XGBoostTraining>> Create(
      const XGBoostMatrix& train, std::vector<std::pair<std::string, const XGBoostMatrix*>> evals,
      const std::vector<std::pair<std::string, std::string>>& params,
      const FeatureMatrix& features);
  ~XGBoostTraining();
  XGBoostTraining(const XGBoostTraining&) = delete;
  XGBoostTraining& operator=(const XGBoostTraining&) = delete;

  // Boosts round `round` (0, 1, ...). Errors: Internal (a label out of the objective's
  // range, ...).
  absl::Status Update(int round);
  // The round's metrics on every evaluation matrix, in order.
  absl::StatusOr<std::vector<EvalMetric>> Evaluate(int round);
  // Keeps the first `rounds` rounds only (the best model after early stopping).
  absl::Status Truncate(int rounds);
  absl::StatusOr<int> BoostedRounds() const;
  // Sets a model attribute (saved with the model).
  absl::Status SetAttribute(const std::string& key, const std::string& value);
  absl::StatusOr<std::string> Save(ModelFormat format) const;

 private:
  XGBoostTraining(void* booster, const XGBoostMatrix& train,
                  std::vector<std::pair<std::string, const XGBoostMatrix*>> evals);

  void* booster_;  // BoosterHandle
  const XGBoostMatrix& train_;
  std::vector<void*> eval_handles_;
  std::vector<std::string> eval_names_;
};

}  // namespace ferry::pipeline
