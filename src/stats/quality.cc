#include "stats/quality.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::stats {
namespace {

absl::Status CheckFinite(std::span<const double> values, std::string_view what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          core::Cat(what, " ", i, " is not a finite number (", values[i], ")"));
    }
  }
  return absl::OkStatus();
}

// Checks the shape shared by the classification metrics and returns the row count.
absl::StatusOr<size_t> ClassificationRows(std::span<const double> predictions, int num_outputs,
                                          std::span<const double> labels) {
  if (num_outputs < 1) {
    return absl::InvalidArgumentError(core::Cat("num_outputs must be >= 1, got ", num_outputs));
  }
  const size_t width = static_cast<size_t>(num_outputs);
  if (predictions.size() % width != 0) {
    return absl::InvalidArgumentError(
        core::Cat(predictions.size(), " predictions do not make rows of ", width));
  }
  const size_t rows = predictions.size() / width;
  if (labels.size() != rows) {
    return absl::InvalidArgumentError(
        core::Cat(rows, " prediction rows but ", labels.size(), " labels"));
  }
  RETURN_IF_ERROR(CheckFinite(predictions, "prediction"));
  RETURN_IF_ERROR(CheckFinite(labels, "label"));
  return rows;
}

// A label as a class index below `classes`; InvalidArgument otherwise.
absl::StatusOr<size_t> ClassLabel(double label, size_t row, size_t classes) {
  if (!(label >= 0 && label < static_cast<double>(classes) && label == std::floor(label))) {
    return absl::InvalidArgumentError(
        core::Cat("label ", row, " (", label, ") is not a class index below ", classes));
  }
  return static_cast<size_t>(label);
}

// The predicted class of a one-output row: see Accuracy in the header.
absl::StatusOr<double> SingleOutputClass(double prediction, size_t row) {
  if (prediction >= 0 && prediction == std::floor(prediction)) return prediction;
  if (prediction > 0 && prediction < 1) return prediction > 0.5 ? 1.0 : 0.0;
  return absl::InvalidArgumentError(core::Cat("prediction ", row, " (", prediction,
                                              ") is neither a class index nor a probability"));
}

// A row's label and predicted class, both class indices, as Accuracy reads them.
struct ClassifiedRow {
  double label;
  double predicted;
};

absl::StatusOr<std::vector<ClassifiedRow>> ClassifyRows(std::span<const double> predictions,
                                                        int num_outputs,
                                                        std::span<const double> labels) {
  ASSIGN_OR_RETURN(const size_t rows, ClassificationRows(predictions, num_outputs, labels));
  const size_t width = static_cast<size_t>(num_outputs);
  std::vector<ClassifiedRow> classified;
  classified.reserve(rows);
  for (size_t row = 0; row < rows; ++row) {
    if (width == 1) {
      ASSIGN_OR_RETURN(const double predicted, SingleOutputClass(predictions[row], row));
      // Any whole number >= 0 is a label here: class indices of multi:softmax.
      ASSIGN_OR_RETURN(const size_t label, ClassLabel(labels[row], row, SIZE_MAX));
      classified.push_back({static_cast<double>(label), predicted});
    } else {
      ASSIGN_OR_RETURN(const size_t label, ClassLabel(labels[row], row, width));
      const auto values = predictions.subspan(row * width, width);
      const auto largest = std::max_element(values.begin(), values.end()) - values.begin();
      classified.push_back({static_cast<double>(label), static_cast<double>(largest)});
    }
  }
  return classified;
}

enum class ClassScore { kPrecision, kRecall };

// Per class, over the classes in labels and predictions (sorted): the rows predicted as
// it, the rows labeled as it, and the rows that are both.
struct ClassTally {
  std::vector<double> classes;
  std::vector<size_t> predicted;
  std::vector<size_t> labeled;
  std::vector<size_t> hits;

  explicit ClassTally(std::span<const ClassifiedRow> rows) {
    for (const ClassifiedRow& row : rows) {
      classes.push_back(row.label);
      classes.push_back(row.predicted);
    }
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    predicted.assign(classes.size(), 0);
    labeled.assign(classes.size(), 0);
    hits.assign(classes.size(), 0);
    for (const ClassifiedRow& row : rows) {
      const size_t p = Index(row.predicted);
      ++predicted[p];
      ++labeled[Index(row.label)];
      hits[p] += row.label == row.predicted;
    }
  }
  size_t Index(double c) const {
    return static_cast<size_t>(std::lower_bound(classes.begin(), classes.end(), c) -
                               classes.begin());
  }
  // Hits over the rows predicted as class i (precision) or labeled as it (recall);
  // nullopt when there are none.
  std::optional<double> Score(size_t i, ClassScore score) const {
    const size_t base = score == ClassScore::kPrecision ? predicted[i] : labeled[i];
    if (base == 0) return std::nullopt;
    return static_cast<double>(hits[i]) / static_cast<double>(base);
  }
};

absl::StatusOr<std::optional<double>> PrecisionOrRecall(std::span<const double> predictions,
                                                        int num_outputs,
                                                        std::span<const double> labels,
                                                        Averaging averaging, ClassScore score) {
  ASSIGN_OR_RETURN(const std::vector<ClassifiedRow> rows,
                   ClassifyRows(predictions, num_outputs, labels));
  const ClassTally tally(rows);
  if (averaging == Averaging::kBinary) {
    for (size_t row = 0; row < rows.size(); ++row) {
      if (rows[row].label > 1 || rows[row].predicted > 1) {
        return absl::InvalidArgumentError(
            core::Cat("row ", row, " has label ", rows[row].label, " and predicted class ",
                      rows[row].predicted, ": binary precision and recall need classes 0 and 1"));
      }
    }
    const size_t positive = tally.Index(1);
    if (positive == tally.classes.size() || tally.classes[positive] != 1) return std::nullopt;
    return tally.Score(positive, score);
  }
  if (rows.empty()) return std::nullopt;
  double total = 0;
  for (size_t i = 0; i < tally.classes.size(); ++i) total += tally.Score(i, score).value_or(0);
  return total / static_cast<double>(tally.classes.size());
}

absl::StatusOr<size_t> SameSize(std::span<const double> predictions,
                                std::span<const double> labels) {
  if (predictions.size() != labels.size()) {
    return absl::InvalidArgumentError(
        core::Cat(predictions.size(), " predictions but ", labels.size(), " labels"));
  }
  RETURN_IF_ERROR(CheckFinite(predictions, "prediction"));
  RETURN_IF_ERROR(CheckFinite(labels, "label"));
  return predictions.size();
}

}  // namespace

std::string_view QualityMetricName(QualityMetric metric) {
  switch (metric) {
    case QualityMetric::kAuc:
      return "auc";
    case QualityMetric::kAccuracy:
      return "accuracy";
    case QualityMetric::kLogLoss:
      return "logloss";
    case QualityMetric::kRmse:
      return "rmse";
    case QualityMetric::kMae:
      return "mae";
  }
  return "unknown";
}

bool HigherIsBetter(QualityMetric metric) {
  return metric == QualityMetric::kAuc || metric == QualityMetric::kAccuracy;
}

absl::StatusOr<QualityMetric> QualityMetricForObjective(std::string_view objective) {
  if (objective.starts_with("binary:")) return QualityMetric::kAuc;
  if (objective.starts_with("multi:")) return QualityMetric::kAccuracy;
  if (objective.starts_with("reg:") || objective.starts_with("count:") ||
      objective == "survival:aft") {
    return QualityMetric::kRmse;
  }
  return absl::InvalidArgumentError(
      core::Cat("no quality metric for objective '", objective,
                "': canary analysis scores binary:*, multi:*, reg:*, count:* and "
                "survival:aft models"));
}

absl::StatusOr<std::optional<double>> Auc(std::span<const double> scores,
                                          std::span<const double> labels) {
  ASSIGN_OR_RETURN(const size_t n, ClassificationRows(scores, 1, labels));
  size_t positives = 0;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return absl::InvalidArgumentError(core::Cat("label ", i, " (", labels[i], ") is not 0 or 1"));
    }
    positives += labels[i] == 1;
  }
  if (positives == 0 || positives == n) return std::nullopt;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' 1-based ranks, each run of tied scores sharing its mean rank.
  double positive_rank_sum = 0;
  for (size_t start = 0; start < n;) {
    size_t end = start;
    size_t tied_positives = 0;
    while (end < n && scores[order[end]] == scores[order[start]]) {
      tied_positives += labels[order[end]] == 1;
      ++end;
    }
    const double mean_rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
    positive_rank_sum += mean_rank * static_cast<double>(tied_positives);
    start = end;
  }
  const double n_pos = static_cast<double>(positives);
  const double n_neg = static_cast<double>(n - positives);
  const double u = positive_rank_sum - n_pos * (n_pos + 1) / 2;
  return u / (n_pos * n_neg);
}

absl::StatusOr<std::optional<double>> Accuracy(std::span<const double> predictions, int num_outputs,
                                               std::span<const double> labels) {
  ASSIGN_OR_RETURN(const std::vector<ClassifiedRow> rows,
                   ClassifyRows(predictions, num_outputs, labels));
  if (rows.empty()) return std::nullopt;
  size_t correct = 0;
  for (const ClassifiedRow& row : rows) correct += row.label == row.predicted;
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

absl::StatusOr<std::optional<double>> Precision(std::span<const double> predictions,
                                                int num_outputs, std::span<const double> labels,
                                                Averaging averaging) {
  return PrecisionOrRecall(predictions, num_outputs, labels, averaging, ClassScore::kPrecision);
}

absl::StatusOr<std::optional<double>> Recall(std::span<const double> predictions, int num_outputs,
                                             std::span<const double> labels, Averaging averaging) {
  return PrecisionOrRecall(predictions, num_outputs, labels, averaging, ClassScore::kRecall);
}

absl::StatusOr<std::optional<double>> LogLoss(std::span<const double> predictions, int num_outputs,
                                              std::span<const double> labels) {
  ASSIGN_OR_RETURN(const size_t rows, ClassificationRows(predictions, num_outputs, labels));
  for (size_t i = 0; i < predictions.size(); ++i) {
    if (predictions[i] < 0 || predictions[i] > 1) {
      return absl::InvalidArgumentError(
          core::Cat("prediction ", i, " (", predictions[i], ") is not a probability"));
    }
  }
  if (rows == 0) return std::nullopt;
  const size_t width = static_cast<size_t>(num_outputs);
  double total = 0;
  for (size_t row = 0; row < rows; ++row) {
    // One output is P(class 1); the label's probability is that or its complement.
    ASSIGN_OR_RETURN(const size_t label, ClassLabel(labels[row], row, width == 1 ? 2 : width));
    const double p = width == 1 ? (label == 1 ? predictions[row] : 1 - predictions[row])
                                : predictions[row * width + label];
    total -= std::log(std::clamp(p, kLogLossEpsilon, 1 - kLogLossEpsilon));
  }
  return total / static_cast<double>(rows);
}

absl::StatusOr<std::optional<double>> Rmse(std::span<const double> predictions,
                                           std::span<const double> labels) {
  ASSIGN_OR_RETURN(const size_t n, SameSize(predictions, labels));
  if (n == 0) return std::nullopt;
  double squares = 0;
  for (size_t i = 0; i < n; ++i) {
    const double error = predictions[i] - labels[i];
    squares += error * error;
  }
  return std::sqrt(squares / static_cast<double>(n));
}

absl::StatusOr<std::optional<double>> Mae(std::span<const double> predictions,
                                          std::span<const double> labels) {
  ASSIGN_OR_RETURN(const size_t n, SameSize(predictions, labels));
  if (n == 0) return std::nullopt;
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += std::abs(predictions[i] - labels[i]);
  return total / static_cast<double>(n);
}

absl::StatusOr<std::optional<double>> ComputeQuality(QualityMetric metric,
                                                     std::span<const double> predictions,
                                                     int num_outputs,
                                                     std::span<const double> labels) {
  if (num_outputs < 1 || predictions.size() % static_cast<size_t>(num_outputs) != 0) {
    return absl::InvalidArgumentError(
        core::Cat(predictions.size(), " predictions do not make rows of ", num_outputs));
  }
  switch (metric) {
    case QualityMetric::kAuc:
      if (num_outputs != 1) {
        return absl::InvalidArgumentError(
            core::Cat("AUC needs one score per row, got ", num_outputs, " outputs"));
      }
      return Auc(predictions, labels);
    case QualityMetric::kAccuracy:
      return Accuracy(predictions, num_outputs, labels);
    case QualityMetric::kLogLoss:
      return LogLoss(predictions, num_outputs, labels);
    case QualityMetric::kRmse:
      return Rmse(predictions, labels);
    case QualityMetric::kMae:
      return Mae(predictions, labels);
  }
  return absl::InvalidArgumentError("unknown quality metric");
}

absl::StatusOr<QualityScore> ScoreForObjective(std::string_view objective,
                                               std::span<const double> predictions, int num_outputs,
                                               std::span<const double> labels) {
  ASSIGN_OR_RETURN(const QualityMetric metric, QualityMetricForObjective(objective));
  ASSIGN_OR_RETURN(const std::optional<double> value,
                   ComputeQuality(metric, predictions, num_outputs, labels));
  return QualityScore{metric, value};
}

}  // namespace ferry::stats
