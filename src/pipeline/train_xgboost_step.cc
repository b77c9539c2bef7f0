// The train-xgboost built-in step (builtin_steps.h): reads the `train` (and optional
// `validation`) dataset versions as typed columns into libxgboost matrices
// (xgboost_training.h), boosts round by round with every round's metrics logged into the
// step's run, stops early on validation when asked (keeping only the rounds up to the
// best one), and hands back the saved model as the output `model`.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/xgboost_training.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

// Metric points per RunBatch: every kLogEveryRounds rounds (and at the end), or sooner
// when a batch would pass RunBatch's limit.
constexpr int kLogEveryRounds = 50;

struct TrainSettings {
  std::string label;
  std::vector<std::string> features;  // empty: every numeric column but the excluded
  std::vector<std::string> exclude;
  int rounds = 100;
  int early_stopping_rounds = 0;
  int threads = 1;
  MatrixOptions matrix;
  ModelFormat format = ModelFormat::kUbjson;
  std::vector<std::pair<std::string, std::string>> booster_params;  // in order
};

std::string StepPrefix(const StepContext& context) { return Cat("step ", context.step().id, ": "); }

// `status` with what it is about in front: "step train: input train (d@1): ...".
absl::Status InStep(const StepContext& context, std::string_view what, const absl::Status& status) {
  return absl::Status(status.code(), Cat(StepPrefix(context), what, core::View(status.message())));
}

// Adds the param `name` to the booster's params as its text, once it reads as a number in
// [min, max].
absl::Status AddNumber(const StepContext& context, std::string_view name, double min, double max,
                       TrainSettings& settings) {
  RETURN_IF_ERROR(ParamDouble(context, name, min, max).status());
  settings.booster_params.emplace_back(name, *OptionalParamText(context, name));
  return absl::OkStatus();
}

absl::StatusOr<TrainSettings> ReadSettings(const StepContext& context) {
  TrainSettings settings;
  ASSIGN_OR_RETURN(settings.label, ParamText(context, "label"));
  ASSIGN_OR_RETURN(settings.features, ParamList(context, "features"));
  ASSIGN_OR_RETURN(settings.exclude, ParamList(context, "exclude"));
  ASSIGN_OR_RETURN(const int64_t rounds, ParamInt(context, "rounds", 1, 100'000));
  settings.rounds = static_cast<int>(rounds);
  ASSIGN_OR_RETURN(const int64_t patience, ParamInt(context, "early_stopping_rounds", 0, 100'000));
  settings.early_stopping_rounds = static_cast<int>(patience);
  settings.threads = context.threads();
  if (OptionalParamText(context, "threads")) {
    ASSIGN_OR_RETURN(const int64_t threads, ParamInt(context, "threads", 1, 1024));
    settings.threads = static_cast<int>(threads);
  }
  settings.matrix.threads = settings.threads;
  ASSIGN_OR_RETURN(const std::string tree_method, ParamText(context, "tree_method"));
  if (tree_method == "hist") {
    settings.matrix.tree_method = TreeMethod::kHist;
  } else if (tree_method == "approx") {
    settings.matrix.tree_method = TreeMethod::kApprox;
  } else if (tree_method == "exact") {
    settings.matrix.tree_method = TreeMethod::kExact;
  } else {
    return absl::InvalidArgumentError(Cat(StepPrefix(context),
                                          "param tree_method: expected hist, approx or exact, "
                                          "got \"",
                                          tree_method, "\""));
  }
  ASSIGN_OR_RETURN(const int64_t max_bin, ParamInt(context, "max_bin", 2, 65'536));
  settings.matrix.max_bin = static_cast<int>(max_bin);
  ASSIGN_OR_RETURN(const std::string format, ParamText(context, "format"));
  if (format != "ubj" && format != "json") {
    return absl::InvalidArgumentError(
        Cat(StepPrefix(context), "param format: expected ubj or json, got \"", format, "\""));
  }
  settings.format = format == "json" ? ModelFormat::kJson : ModelFormat::kUbjson;

  auto& params = settings.booster_params;
  ASSIGN_OR_RETURN(const std::string objective, ParamText(context, "objective"));
  params.emplace_back("objective", objective);
  if (OptionalParamText(context, "num_class")) {
    ASSIGN_OR_RETURN(const int64_t classes, ParamInt(context, "num_class", 2, 1'000'000));
    params.emplace_back("num_class", std::to_string(classes));
  } else if (objective.starts_with("multi:")) {
    return absl::InvalidArgumentError(
        Cat(StepPrefix(context), "param num_class is required with the objective ", objective));
  }
  params.emplace_back("tree_method", tree_method);
  params.emplace_back("max_bin", std::to_string(max_bin));
  ASSIGN_OR_RETURN(const int64_t depth, ParamInt(context, "max_depth", 0, 64));
  params.emplace_back("max_depth", std::to_string(depth));
  ASSIGN_OR_RETURN(const int64_t seed,
                   ParamInt(context, "seed", 0, std::numeric_limits<int32_t>::max()));
  params.emplace_back("seed", std::to_string(seed));
  params.emplace_back("nthread", std::to_string(settings.threads));
  RETURN_IF_ERROR(AddNumber(context, "eta", 0, 1, settings));
  RETURN_IF_ERROR(AddNumber(context, "subsample", 0, 1, settings));
  RETURN_IF_ERROR(AddNumber(context, "colsample_bytree", 0, 1, settings));
  for (std::string_view name :
       {"min_child_weight", "lambda", "alpha", "gamma", "scale_pos_weight"}) {
    RETURN_IF_ERROR(AddNumber(context, name, 0, 1e12, settings));
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> metrics, ParamList(context, "eval_metric"));
  for (const std::string& metric : metrics) params.emplace_back("eval_metric", metric);
  return settings;
}

// The feature columns: the `features` param in its order, else every column of
// `schema` but the label, event_timestamp and the excluded ones, in the dataset's order.
absl::StatusOr<std::vector<std::string>> SelectFeatures(const StepContext& context,
                                                        const TrainSettings& settings,
                                                        const table::Schema& schema,
                                                        const std::string& ref) {
  std::string columns;
  for (const table::ColumnSchema& column : schema.columns) {
    columns += Cat(columns.empty() ? "" : ", ", column.name);
  }
  if (!schema.Find(settings.label)) {
    return absl::InvalidArgumentError(Cat(StepPrefix(context), "the label column \"",
                                          settings.label, "\" is not in ", ref,
                                          " (its columns: ", columns, ")"));
  }
  std::vector<std::string> features;
  if (!settings.features.empty()) {
    for (const std::string& name : settings.features) {
      if (!schema.Find(name)) {
        return absl::InvalidArgumentError(Cat(StepPrefix(context), "param features: there is no ",
                                              "column \"", name, "\" in ", ref,
                                              " (its columns: ", columns, ")"));
      }
      if (name == settings.label) {
        return absl::InvalidArgumentError(
            Cat(StepPrefix(context), "param features: \"", name, "\" is the label, not a feature"));
      }
    }
    return settings.features;
  }
  for (const std::string& name : settings.exclude) {
    if (!schema.Find(name)) {
      return absl::InvalidArgumentError(Cat(StepPrefix(context), "param exclude: there is no ",
                                            "column \"", name, "\" in ", ref,
                                            " (its columns: ", columns, ")"));
    }
  }
  for (const table::ColumnSchema& column : schema.columns) {
    if (column.name == settings.label || column.name == "event_timestamp" ||
        std::find(settings.exclude.begin(), settings.exclude.end(), column.name) !=
            settings.exclude.end()) {
      continue;
    }
    features.push_back(column.name);
  }
  if (features.empty()) {
    return absl::InvalidArgumentError(
        Cat(StepPrefix(context), ref, " has no feature columns besides the label"));
  }
  return features;
}

// Reads the dataset version `version` as a matrix of `features`, or of the features
// SelectFeatures picks from its schema when null.
absl::StatusOr<FeatureMatrix> ReadInput(StepContext& context, const TrainSettings& settings,
                                        const dataset::VersionRecord& version,
                                        const std::vector<std::string>* features) {
  const dataset::DatasetStore& datasets = context.services().datasets;
  const std::string what = Cat("input ", version.Ref(), ": ");
  absl::StatusOr<table::TableProfile> profile = datasets.Profile(version);
  if (!profile.ok()) return InStep(context, what, profile.status());
  const table::Schema schema = profile->schema();
  std::vector<std::string> selected;
  if (features == nullptr) {
    ASSIGN_OR_RETURN(selected, SelectFeatures(context, settings, schema, version.Ref()));
    features = &selected;
  }
  absl::StatusOr<FeatureMatrix> matrix =
      ReadFeatureMatrix(datasets, version, schema, *features, settings.label);
  if (!matrix.ok()) return InStep(context, what, matrix.status());
  return matrix;
}

// Metric names as tracking keys: libxgboost's "ndcg@5" becomes "ndcg_5" (keys take
// letters, digits and "_-./ ").
std::string MetricKey(std::string_view name) {
  std::string key(name);
  for (char& c : key) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/';
    if (!allowed) c = '_';
  }
  return key;
}

// 1234567 -> "1,234,567".
std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Early stopping on the last metric of the validation set, as Python's xgboost does.
struct BestRound {
  int round = -1;
  double score = 0;
  std::string metric;
};

}  // namespace

absl::StatusOr<StepOutcome> RunTrainXgboostStep(StepContext& context) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const TrainSettings settings, ReadSettings(context));
  const bool has_validation = context.inputs().contains("validation");
  if (settings.early_stopping_rounds > 0 && !has_validation) {
    return absl::InvalidArgumentError(
        Cat(StepPrefix(context), "early_stopping_rounds needs the input validation (the rows ",
            "whose metric decides when to stop)"));
  }
  ASSIGN_OR_RETURN(const dataset::VersionRecord train_version, context.InputDataset("train"));
  std::optional<dataset::VersionRecord> validation_version;
  if (has_validation) {
    ASSIGN_OR_RETURN(validation_version, context.InputDataset("validation"));
  }
  // The executor records the inputs of command steps; a built-in records what it read.
  tracking::RunBatch inputs;
  inputs.inputs.push_back({train_version.Ref(), tracking::InputRole::kTrain});
  if (validation_version) {
    inputs.inputs.push_back({validation_version->Ref(), tracking::InputRole::kValidation});
  }
  RETURN_IF_ERROR(context.Log(inputs));

  ASSIGN_OR_RETURN(FeatureMatrix train_rows,
                   ReadInput(context, settings, train_version, /*features=*/nullptr));
  const int64_t rows = train_rows.rows;
  absl::StatusOr<std::unique_ptr<XGBoostMatrix>> train =
      XGBoostMatrix::Create(train_rows, settings.matrix);
  if (!train.ok()) return InStep(context, "", train.status());
  train_rows.values = {};  // the matrix holds its own copy (or bin index) of the values
  train_rows.labels = {};
  std::vector<std::pair<std::string, const XGBoostMatrix*>> evals = {{"train", train->get()}};
  std::unique_ptr<XGBoostMatrix> validation;
  if (validation_version) {
    ASSIGN_OR_RETURN(const FeatureMatrix validation_rows,
                     ReadInput(context, settings, *validation_version, &train_rows.names));
    absl::StatusOr<std::unique_ptr<XGBoostMatrix>> made =
        XGBoostMatrix::Create(validation_rows, settings.matrix, train->get());
    if (!made.ok()) return InStep(context, "", made.status());
    validation = *std::move(made);
    evals.emplace_back("validation", validation.get());
  }

  absl::StatusOr<std::unique_ptr<XGBoostTraining>> made =
      XGBoostTraining::Create(**train, std::move(evals), settings.booster_params, train_rows);
  if (!made.ok()) return InStep(context, "", made.status());
  XGBoostTraining& training = **made;
  tracking::RunBatch pending;
  BestRound best;
  std::vector<EvalMetric> last;
  int round = 0;
  for (; round < settings.rounds; ++round) {
    if (context.cancelled()) {
      return absl::CancelledError(Cat(StepPrefix(context), "cancelled after ", round, " rounds"));
    }
    if (absl::Status updated = training.Update(round); !updated.ok()) {
      return InStep(context, "", updated);
    }
    absl::StatusOr<std::vector<EvalMetric>> metrics = training.Evaluate(round);
    if (!metrics.ok()) return InStep(context, "", metrics.status());
    last = *std::move(metrics);
    for (const EvalMetric& metric : last) {
      pending.metrics.push_back({MetricKey(metric.name), metric.value, round, 0});
    }
    if ((round + 1) % kLogEveryRounds == 0 ||
        pending.metrics.size() + last.size() > tracking::RunBatch::kMaxBatchMetrics) {
      RETURN_IF_ERROR(context.Log(pending));
      pending.metrics.clear();
    }
    if (settings.early_stopping_rounds == 0 || last.empty()) continue;
    const EvalMetric& watched = last.back();
    // "validation-auc" -> "auc"
    const std::string_view metric =
        std::string_view(watched.name).substr(watched.name.find('-') + 1);
    const bool better = best.round < 0 || (HigherIsBetter(metric) ? watched.value > best.score
                                                                  : watched.value < best.score);
    if (better) best = {round, watched.value, watched.name};
    if (round - best.round >= settings.early_stopping_rounds) {
      ++round;
      break;
    }
  }
  if (best.round >= 0) {
    pending.metrics.push_back({"best_iteration", static_cast<double>(best.round), round - 1, 0});
    pending.metrics.push_back({"best_score", best.score, round - 1, 0});
    pending.tags.push_back(
        {"early_stopping", Cat("best round ", best.round, " of ", round, " by ", best.metric)});
    if (best.round + 1 < round) RETURN_IF_ERROR(training.Truncate(best.round + 1));
    RETURN_IF_ERROR(training.SetAttribute("best_iteration", std::to_string(best.round)));
    RETURN_IF_ERROR(training.SetAttribute("best_score", Cat(best.score)));
  }
  if (!pending.empty()) RETURN_IF_ERROR(context.Log(pending));

  absl::StatusOr<std::string> model = training.Save(settings.format);
  if (!model.ok()) return InStep(context, "", model.status());
  const std::filesystem::path file =
      context.work_dir() / (settings.format == ModelFormat::kJson ? "model.json" : "model.ubj");
  RETURN_IF_ERROR(core::WriteFileAtomically(file, *model));
  RETURN_IF_ERROR(context.OutputFile("model", file));

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string note = Cat(round, " rounds");
  if (best.round >= 0) {
    note += fmt::format(" (best {}), {} {:.4f}", best.round, best.metric, best.score);
  } else if (!last.empty()) {
    note += fmt::format(", {} {:.4f}", last.back().name, last.back().value);
  }
  note += fmt::format(", {} rows x {} features in {:.1f} s", Thousands(rows), train_rows.columns(),
                      seconds);
  return StepOutcome{.skipped = false, .note = std::move(note)};
}

}  // namespace ferry::pipeline
