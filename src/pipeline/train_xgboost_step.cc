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
  int round = -1;  // -1: no early stopping
  double score = 0;
  std::string metric;
};

struct Boosting {
  int rounds = 0;                // rounds boosted
  std::vector<EvalMetric> last;  // the last round's metrics
  BestRound best;
};

// Boosts up to settings.rounds rounds, logging every round's metrics into the run and
// stopping early when asked. Errors: Cancelled, libxgboost's, the tracking store's.
absl::StatusOr<Boosting> Boost(StepContext& context, const TrainSettings& settings,
                               XGBoostTraining& training) {
  Boosting boosting;
  tracking::RunBatch pending;
  for (int round = 0; round < settings.rounds; ++round) {
    if (context.cancelled()) {
      return absl::CancelledError(Cat(StepPrefix(context), "cancelled after ", round, " rounds"));
    }
    RETURN_IF_ERROR(training.Update(round));
    ASSIGN_OR_RETURN(boosting.last, training.Evaluate(round));
    boosting.rounds = round + 1;
    if (pending.metrics.size() + boosting.last.size() > tracking::RunBatch::kMaxBatchMetrics) {
      RETURN_IF_ERROR(context.Log(pending));
      pending.metrics.clear();
    }
    for (const EvalMetric& metric : boosting.last) {
      pending.metrics.push_back({MetricKey(metric.name), metric.value, round, 0});
    }
    if ((round + 1) % kLogEveryRounds == 0) {
      RETURN_IF_ERROR(context.Log(pending));
      pending.metrics.clear();
    }
    if (settings.early_stopping_rounds == 0 || boosting.last.empty()) continue;
    const EvalMetric& watched = boosting.last.back();
    // "validation-auc" -> "auc"
    const std::string_view metric =
        std::string_view(watched.name).substr(watched.name.find('-') + 1);
    BestRound& best = boosting.best;
    if (best.round < 0 ||
        (HigherIsBetter(metric) ? watched.value > best.score : watched.value < best.score)) {
      best = {round, watched.value, watched.name};
    }
    if (round - best.round >= settings.early_stopping_rounds) break;
  }
  if (!pending.empty()) RETURN_IF_ERROR(context.Log(pending));
  return boosting;
}

// After early stopping: the model cut to its best round (so the saved model is the
// best one), with Python's best_iteration and best_score attributes, and those logged.
absl::Status KeepBestRound(StepContext& context, const Boosting& boosting,
                           XGBoostTraining& training) {
  const BestRound& best = boosting.best;
  if (best.round + 1 < boosting.rounds) RETURN_IF_ERROR(training.Truncate(best.round + 1));
  RETURN_IF_ERROR(training.SetAttribute("best_iteration", std::to_string(best.round)));
  RETURN_IF_ERROR(training.SetAttribute("best_score", Cat(best.score)));
  tracking::RunBatch batch;
  const int64_t step = boosting.rounds - 1;
  batch.metrics.push_back({"best_iteration", static_cast<double>(best.round), step, 0});
  batch.metrics.push_back({"best_score", best.score, step, 0});
  batch.tags.push_back({"early_stopping", Cat("best round ", best.round, " of ", boosting.rounds,
                                              " by ", best.metric)});
  return context.Log(batch);
}

// The matrices of the train input and, if given, the validation input (with the train
// set's features and bin boundaries).
struct Matrices {
  std::unique_ptr<XGBoostMatrix> train;
  std::unique_ptr<XGBoostMatrix> validation;
  FeatureMatrix features;  // the train input's names and types (values dropped)
};

absl::StatusOr<Matrices> MakeMatrices(StepContext& context, const TrainSettings& settings,
                                      const dataset::VersionRecord& train_version,
                                      const std::optional<dataset::VersionRecord>& validation) {
  Matrices out;
  ASSIGN_OR_RETURN(out.features, ReadInput(context, settings, train_version, nullptr));
  ASSIGN_OR_RETURN(out.train, XGBoostMatrix::Create(out.features, settings.matrix));
  // The matrix holds its own copy (or bin index) of the values: give theirs back.
  out.features.values = std::vector<float>();
  out.features.labels = std::vector<float>();
  if (validation) {
    ASSIGN_OR_RETURN(const FeatureMatrix rows,
                     ReadInput(context, settings, *validation, &out.features.names));
    ASSIGN_OR_RETURN(out.validation, XGBoostMatrix::Create(rows, settings.matrix, out.train.get()));
  }
  return out;
}

// Adds "step ID: " in front of errors that lack it (libxgboost's, the stores').
absl::Status Named(const StepContext& context, const absl::Status& status) {
  if (status.ok() || core::View(status.message()).starts_with(StepPrefix(context))) return status;
  return InStep(context, "", status);
}

absl::StatusOr<StepOutcome> TrainXgboost(StepContext& context) {
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

  ASSIGN_OR_RETURN(const Matrices matrices,
                   MakeMatrices(context, settings, train_version, validation_version));
  std::vector<std::pair<std::string, const XGBoostMatrix*>> evals = {
      {"train", matrices.train.get()}};
  if (matrices.validation) evals.emplace_back("validation", matrices.validation.get());
  ASSIGN_OR_RETURN(std::unique_ptr<XGBoostTraining> training,
                   XGBoostTraining::Create(*matrices.train, std::move(evals),
                                           settings.booster_params, matrices.features));
  ASSIGN_OR_RETURN(const Boosting boosting, Boost(context, settings, *training));
  if (boosting.best.round >= 0) RETURN_IF_ERROR(KeepBestRound(context, boosting, *training));

  ASSIGN_OR_RETURN(const std::string model, training->Save(settings.format));
  const std::filesystem::path file =
      context.work_dir() / (settings.format == ModelFormat::kJson ? "model.json" : "model.ubj");
  RETURN_IF_ERROR(core::WriteFileAtomically(file, model));
  RETURN_IF_ERROR(context.OutputFile("model", file));

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string note = Cat(boosting.rounds, " rounds");
  if (boosting.best.round >= 0) {
    note += fmt::format(" (best {}), {} {:.4f}", boosting.best.round, boosting.best.metric,
                        boosting.best.score);
  } else if (!boosting.last.empty()) {
    note += fmt::format(", {} {:.4f}", boosting.last.back().name, boosting.last.back().value);
  }
  note += fmt::format(", {} rows x {} features in {:.1f} s", Thousands(matrices.features.rows),
                      matrices.features.columns(), seconds);
  return StepOutcome{.skipped = false, .note = std::move(note)};
}

}  // namespace

absl::StatusOr<StepOutcome> RunTrainXgboostStep(StepContext& context) {
  absl::StatusOr<StepOutcome> outcome = TrainXgboost(context);
  if (!outcome.ok()) return Named(context, outcome.status());
  return outcome;
}

}  // namespace ferry::pipeline
