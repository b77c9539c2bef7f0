#pragma once

// Model quality on labeled predictions: the metric a canary is judged by, chosen from the
// model's XGBoost objective, and the metric functions themselves.
//
// Layout: predictions come as rows of `num_outputs` values (what the serving runtime and
// the prediction log hold). Classification metrics take one label per row; regression
// metrics one label per prediction value (labels laid out like the predictions).
//
// Edge cases, the same for every function here: malformed input is an InvalidArgument
// error naming the first offending position — sizes that do not match the layout, NaN or
// infinite values (a broken model output or label; skipping them would silently shrink
// the sample), labels outside the metric's domain. Well-formed input on which the metric
// is undefined gives nullopt: no rows, (AUC) only one class among the labels, (binary
// precision and recall) no row to divide by.
//
// Thread-safety: pure functions.

#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::stats {

enum class QualityMetric {
  kAuc,       // binary: area under the ROC curve
  kAccuracy,  // classification: share of rows whose predicted class is the label
  kLogLoss,   // classification: mean -ln(probability given to the label), clipped
  kRmse,      // regression: root mean squared error
  kMae,       // regression: mean absolute error
};

// "auc", "accuracy", "logloss", "rmse", "mae" (XGBoost's eval_metric names).
std::string_view QualityMetricName(QualityMetric metric);
// AUC and accuracy: higher is better; log loss, RMSE and MAE: lower.
bool HigherIsBetter(QualityMetric metric);

// The metric a model with this XGBoost objective is judged by:
//   binary:*                         -> kAuc (needs one output per row)
//   multi:*                          -> kAccuracy
//   reg:*, count:*, survival:aft     -> kRmse
// InvalidArgument for anything else, rank:* and survival:cox included: their outputs
// (scores within a query group, hazard ratios) are not comparable with a label row by row.
absl::StatusOr<QualityMetric> QualityMetricForObjective(std::string_view objective);

// Clips probabilities into [kLogLossEpsilon, 1 - kLogLossEpsilon] so that one confident
// mistake costs ~34.5 instead of infinity (sklearn's default before 1.2).
inline constexpr double kLogLossEpsilon = 1e-15;

// AUC, rank-based: the Mann-Whitney U of the positives' scores over the negatives',
// divided by n_pos * n_neg, with tied scores given their average rank (a tie counts
// half). Equal to sklearn.metrics.roc_auc_score. Scores may be any finite values
// (probabilities or margins); labels must be 0 or 1. nullopt when either class is absent.
absl::StatusOr<std::optional<double>> Auc(std::span<const double> scores,
                                          std::span<const double> labels);

// Accuracy over rows of `num_outputs` predictions; labels are class indices (whole
// numbers >= 0). With one output, a prediction that is a whole number is a class index
// (multi:softmax) and one strictly between 0 and 1 the probability of class 1, taken as
// class 1 when > 0.5 (XGBoost's `error` metric); anything else is refused. The two
// readings agree on 0 and 1. With several outputs, the predicted class is the one with
// the largest value (the first on ties) and labels must be below num_outputs.
absl::StatusOr<std::optional<double>> Accuracy(std::span<const double> predictions, int num_outputs,
                                               std::span<const double> labels);

enum class Averaging {
  // Class 1 is the positive class; labels and predicted classes must be 0 or 1
  // (sklearn's average='binary', pos_label=1).
  kBinary,
  // The unweighted mean of the per-class scores over every class among the labels and the
  // predicted classes (sklearn's average='macro'); a class with no rows to score (never
  // predicted, for precision; never a label, for recall) scores 0, as sklearn's default
  // zero_division="warn" does.
  kMacro,
};

// Precision (hits over rows predicted as the class) and recall (hits over rows labeled
// as it), equal to sklearn.metrics.precision_score / recall_score(labels, predicted
// classes, average=...). Predicted classes come from the rows as Accuracy reads them: one
// output strictly between 0 and 1 is class 1 when > 0.5 (so 0.5 itself is class 0),
// whole numbers are class indices, several outputs take the largest. Binary: nullopt
// when no row is predicted positive (precision) or labeled positive (recall), where
// sklearn returns 0 with an UndefinedMetricWarning: "undefined" rather than a score of 0
// that would fail a model that never meets a positive. Macro: nullopt only for no rows.
// InvalidArgument as Accuracy, and for kBinary a label or predicted class other than 0
// and 1. O(rows log classes).
absl::StatusOr<std::optional<double>> Precision(std::span<const double> predictions,
                                                int num_outputs, std::span<const double> labels,
                                                Averaging averaging);
absl::StatusOr<std::optional<double>> Recall(std::span<const double> predictions, int num_outputs,
                                             std::span<const double> labels, Averaging averaging);

// Mean log loss with clipped probabilities (natural log). One output: the probability of
// class 1, labels 0 or 1. Several outputs: a probability per class, labels class indices.
// Probabilities outside [0, 1] are refused.
absl::StatusOr<std::optional<double>> LogLoss(std::span<const double> predictions, int num_outputs,
                                              std::span<const double> labels);

// sqrt(mean((prediction - label)^2)) and mean(|prediction - label|) over every value;
// predictions and labels must have the same size.
absl::StatusOr<std::optional<double>> Rmse(std::span<const double> predictions,
                                           std::span<const double> labels);
absl::StatusOr<std::optional<double>> Mae(std::span<const double> predictions,
                                          std::span<const double> labels);

// `metric` over rows of `num_outputs` predictions; InvalidArgument for num_outputs < 1,
// a prediction count that is not a multiple of it, or AUC with more than one output.
absl::StatusOr<std::optional<double>> ComputeQuality(QualityMetric metric,
                                                     std::span<const double> predictions,
                                                     int num_outputs,
                                                     std::span<const double> labels);

struct QualityScore {
  QualityMetric metric;
  std::optional<double> value;  // nullopt: undefined on these rows (see above)
};

// QualityMetricForObjective, then ComputeQuality; the errors of either.
absl::StatusOr<QualityScore> ScoreForObjective(std::string_view objective,
                                               std::span<const double> predictions, int num_outputs,
                                               std::span<const double> labels);

}  // namespace ferry::stats
