#include "pipeline/model_scoring.h"

#include <array>
#include <cmath>
#include <limits>
#include <set>

#include "core/status.h"
#include "core/strings.h"
#include "stats/quality.h"

namespace ferry::pipeline {
namespace {

using core::Cat;
using table::ColumnArray;
using table::ColumnType;

constexpr size_t kBatchRows = 65'536;
constexpr size_t kPredictRows = 8'192;  // rows per libxgboost call

constexpr std::array<std::string_view, 5> kBinaryMetrics = {"auc", "logloss", "accuracy",
                                                            "precision", "recall"};
constexpr std::array<std::string_view, 2> kMultiClassMetrics = {"accuracy", "logloss"};
constexpr std::array<std::string_view, 2> kRegressionMetrics = {"rmse", "mae"};

absl::StatusOr<ObjectiveFamily> FamilyOf(std::string_view objective) {
  ASSIGN_OR_RETURN(const stats::QualityMetric metric, stats::QualityMetricForObjective(objective));
  switch (metric) {
    case stats::QualityMetric::kAuc:
      return ObjectiveFamily::kBinary;
    case stats::QualityMetric::kAccuracy:
      return ObjectiveFamily::kMultiClass;
    default:
      return ObjectiveFamily::kRegression;
  }
}

bool IsNumeric(ColumnType type) {
  return type == ColumnType::kInt64 || type == ColumnType::kFloat64 || type == ColumnType::kBool;
}

double NumberAt(const ColumnArray& c, size_t row) {
  if (c.IsNull(row)) return std::numeric_limits<double>::quiet_NaN();
  switch (c.type) {
    case ColumnType::kFloat64:
      return c.float64_values[row];
    case ColumnType::kBool:
      return c.bool_values[row];
    default:
      return static_cast<double>(c.int64_values[row]);
  }
}

// Predictions of every row, `outputs` values a row.
struct Predictions {
  std::vector<double> values;
  int outputs = 1;
};

absl::StatusOr<Predictions> Predict(const ScoringModel& model, const LabelledRows& rows) {
  const size_t width = model.features.size();
  const int64_t num_class = model.booster->config().num_class;
  const size_t per_row_room = static_cast<size_t>(std::max<int64_t>(1, num_class));
  std::vector<const std::vector<float>*> columns;
  for (const std::string& name : model.features) columns.push_back(&rows.columns.at(name));
  Predictions out;
  std::vector<float> matrix;
  std::vector<float> result;
  for (size_t begin = 0; begin < static_cast<size_t>(rows.rows); begin += kPredictRows) {
    const size_t count = std::min(kPredictRows, static_cast<size_t>(rows.rows) - begin);
    matrix.resize(count * width);
    for (size_t r = 0; r < count; ++r) {
      for (size_t f = 0; f < width; ++f) matrix[r * width + f] = (*columns[f])[begin + r];
    }
    result.resize(count * per_row_room);
    ASSIGN_OR_RETURN(const size_t given,
                     model.booster->Predict(matrix, static_cast<int64_t>(width), result));
    if (given == 0 || given % count != 0) {
      return absl::InternalError(
          Cat(model.label, ": libxgboost gave ", given, " predictions for ", count, " rows"));
    }
    out.outputs = static_cast<int>(given / count);
    out.values.insert(out.values.end(), result.begin(), result.begin() + given);
  }
  return out;
}

void Put(MetricValues& metrics, std::string_view name,
         const absl::StatusOr<std::optional<double>>& value) {
  metrics[std::string(name)] = value.ok() ? *value : std::nullopt;
}

}  // namespace

std::string_view ObjectiveFamilyName(ObjectiveFamily family) {
  switch (family) {
    case ObjectiveFamily::kBinary:
      return "binary";
    case ObjectiveFamily::kMultiClass:
      return "multi-class";
    case ObjectiveFamily::kRegression:
      return "regression";
  }
  return "binary";
}

std::span<const std::string_view> FamilyMetrics(ObjectiveFamily family) {
  switch (family) {
    case ObjectiveFamily::kBinary:
      return kBinaryMetrics;
    case ObjectiveFamily::kMultiClass:
      return kMultiClassMetrics;
    case ObjectiveFamily::kRegression:
      return kRegressionMetrics;
  }
  return kBinaryMetrics;
}

bool MetricHigherIsBetter(std::string_view metric) {
  return metric == "auc" || metric == "accuracy" || metric == "precision" || metric == "recall";
}

absl::StatusOr<ScoringModel> LoadScoringModel(std::string label, std::string_view bytes,
                                              std::vector<std::string> features, int threads) {
  const auto named = [&label](const absl::Status& status) {
    return absl::Status(status.code(), Cat(label, ": ", core::View(status.message())));
  };
  ScoringModel model;
  absl::StatusOr<std::unique_ptr<serving::XGBoostBooster>> booster =
      serving::XGBoostBooster::Load(bytes, threads);
  if (!booster.ok()) return named(booster.status());
  model.booster = *std::move(booster);
  absl::StatusOr<ObjectiveFamily> family = FamilyOf(model.booster->config().objective);
  if (!family.ok()) return named(family.status());
  model.family = *family;
  absl::StatusOr<int64_t> count = model.booster->NumFeatures();
  if (!count.ok()) return named(count.status());
  if (features.empty()) {
    absl::StatusOr<std::vector<std::string>> names = model.booster->FeatureNames();
    if (!names.ok()) return named(names.status());
    features = *std::move(names);
    if (features.empty()) {
      return absl::InvalidArgumentError(
          Cat(label,
              " names no features, so which test columns it reads is unknown "
              "(save it with feature names)"));
    }
  }
  if (static_cast<int64_t>(features.size()) != *count) {
    return absl::InvalidArgumentError(
        Cat(label, " has ", *count, " features but ", features.size(), " feature names"));
  }
  model.label = std::move(label);
  model.features = std::move(features);
  return model;
}

absl::StatusOr<LabelledRows> ReadLabelledRows(const dataset::DatasetStore& datasets,
                                              const dataset::VersionRecord& version,
                                              const std::string& label,
                                              std::span<const ScoringModel* const> models) {
  ASSIGN_OR_RETURN(const table::TableProfile profile, datasets.Profile(version));
  const table::Schema schema = profile.schema();
  const auto check = [&](const std::string& column, std::string_view who) -> absl::Status {
    const std::optional<size_t> index = schema.Find(column);
    if (!index) {
      return absl::InvalidArgumentError(
          Cat(version.Ref(), " has no column \"", column, "\" (", who, ")"));
    }
    if (!IsNumeric(schema.columns[*index].type)) {
      return absl::InvalidArgumentError(
          Cat(version.Ref(), ": column \"", column, "\" (", who, ") holds ",
              table::ColumnTypeName(schema.columns[*index].type), ", not numbers"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check(label, "the label"));
  std::vector<std::string> projection = {label};
  std::set<std::string> seen = {label};
  for (const ScoringModel* model : models) {
    for (const std::string& feature : model->features) {
      RETURN_IF_ERROR(check(feature, Cat("a feature of ", model->label)));
      if (seen.insert(feature).second) projection.push_back(feature);
    }
  }
  LabelledRows rows;
  for (size_t i = 1; i < projection.size(); ++i) rows.columns[projection[i]];
  RETURN_IF_ERROR(datasets.ReadBatches(
      version, projection, kBatchRows, [&](table::RecordBatch batch) -> absl::Status {
        const ColumnArray& labels = batch.columns.front();
        for (size_t r = 0; r < labels.size(); ++r) {
          if (labels.IsNull(r)) {
            return absl::InvalidArgumentError(Cat(version.Ref(), " row ", rows.rows + r + 1,
                                                  ": the label \"", label, "\" is empty"));
          }
          rows.labels.push_back(NumberAt(labels, r));
        }
        for (size_t i = 1; i < batch.columns.size(); ++i) {
          const ColumnArray& c = batch.columns[i];
          std::vector<float>& to = rows.columns[c.name];
          for (size_t r = 0; r < c.size(); ++r) to.push_back(static_cast<float>(NumberAt(c, r)));
        }
        rows.rows += batch.num_rows;
        return absl::OkStatus();
      }));
  return rows;
}

absl::StatusOr<LabelledRows> KeepRecentRows(const dataset::DatasetStore& datasets,
                                            const dataset::VersionRecord& version,
                                            const std::string& time_column,
                                            std::chrono::microseconds window,
                                            const LabelledRows& rows) {
  ASSIGN_OR_RETURN(const table::TableProfile profile, datasets.Profile(version));
  const std::optional<size_t> index = profile.schema().Find(time_column);
  if (!index) {
    return absl::InvalidArgumentError(
        Cat(version.Ref(), " has no column \"", time_column, "\" (the time of param recent)"));
  }
  const ColumnType type = profile.schema().columns[*index].type;
  if (type != ColumnType::kTimestamp && type != ColumnType::kInt64) {
    return absl::InvalidArgumentError(Cat(version.Ref(), ": column \"", time_column, "\" holds ",
                                          table::ColumnTypeName(type),
                                          ", not timestamps or integers"));
  }
  std::vector<int64_t> times;
  times.reserve(static_cast<size_t>(rows.rows));
  RETURN_IF_ERROR(datasets.ReadBatches(
      version, {time_column}, kBatchRows, [&](table::RecordBatch batch) -> absl::Status {
        const ColumnArray& c = batch.columns.front();
        for (size_t r = 0; r < c.size(); ++r) {
          if (c.IsNull(r)) {
            return absl::InvalidArgumentError(
                Cat(version.Ref(), " row ", times.size() + 1, ": \"", time_column, "\" is empty"));
          }
          times.push_back(c.int64_values[r]);
        }
        return absl::OkStatus();
      }));
  if (static_cast<int64_t>(times.size()) != rows.rows) {
    return absl::InternalError(Cat(version.Ref(), " changed while it was read"));
  }
  LabelledRows kept;
  if (times.empty()) return kept;
  const int64_t newest = *std::max_element(times.begin(), times.end());
  const int64_t from = newest - window.count();
  for (const auto& [name, values] : rows.columns) kept.columns[name];
  for (size_t r = 0; r < times.size(); ++r) {
    if (times[r] < from) continue;
    kept.labels.push_back(rows.labels[r]);
    for (const auto& [name, values] : rows.columns) kept.columns[name].push_back(values[r]);
    ++kept.rows;
  }
  return kept;
}

absl::StatusOr<MetricValues> ScoreModel(const ScoringModel& model, const LabelledRows& rows) {
  MetricValues metrics;
  if (rows.rows == 0) {
    for (std::string_view name : FamilyMetrics(model.family)) metrics[std::string(name)];
    return metrics;
  }
  ASSIGN_OR_RETURN(Predictions predictions, Predict(model, rows));
  const std::vector<double>& labels = rows.labels;
  const int k = predictions.outputs;
  const auto named = [&model](const absl::Status& status) {
    return absl::Status(status.code(), Cat(model.label, ": ", core::View(status.message())));
  };
  // The first error of a metric that is malformed input (not merely undefined) fails.
  absl::Status first_error;
  const auto put = [&](std::string_view name, absl::StatusOr<std::optional<double>> value) {
    if (!value.ok() && first_error.ok()) first_error = named(value.status());
    Put(metrics, name, value);
  };
  switch (model.family) {
    case ObjectiveFamily::kBinary: {
      if (k != 1) return named(absl::InvalidArgumentError(Cat(k, " outputs a row, not 1")));
      std::vector<double> probabilities = predictions.values;
      if (model.booster->config().objective == "binary:logitraw") {
        for (double& p : probabilities) p = 1 / (1 + std::exp(-p));
      }
      put("auc", stats::Auc(predictions.values, labels));
      put("logloss", stats::LogLoss(probabilities, 1, labels));
      put("accuracy", stats::Accuracy(probabilities, 1, labels));
      put("precision", stats::Precision(probabilities, 1, labels, stats::Averaging::kBinary));
      put("recall", stats::Recall(probabilities, 1, labels, stats::Averaging::kBinary));
      break;
    }
    case ObjectiveFamily::kMultiClass:
      put("accuracy", stats::Accuracy(predictions.values, k, labels));
      // multi:softmax gives class indices: no probabilities to take the log of.
      put("logloss", k > 1 ? stats::LogLoss(predictions.values, k, labels)
                           : absl::StatusOr<std::optional<double>>(std::nullopt));
      break;
    case ObjectiveFamily::kRegression:
      if (k != 1) return named(absl::InvalidArgumentError(Cat(k, " outputs a row, not 1")));
      put("rmse", stats::Rmse(predictions.values, labels));
      put("mae", stats::Mae(predictions.values, labels));
      break;
  }
  RETURN_IF_ERROR(first_error);
  return metrics;
}

}  // namespace ferry::pipeline
