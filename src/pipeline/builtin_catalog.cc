#include "pipeline/builtin_catalog.h"

#include <algorithm>
#include <array>

#include "core/strings.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr std::array kTrainingSetInputs = {
    BuiltinInput{"entities", true, "entity keys, event_timestamp and labels"},
};
constexpr std::array kTrainingSetOutputs = {
    BuiltinOutput{"data", ValueKind::kDataset, "the training set"},
};
constexpr std::array kTrainingSetParams = {
    BuiltinParam{"features", "", true, "the feature service to join"},
    BuiltinParam{"dataset", "", false, "dataset for the result (default <pipeline>_<step>)"},
    BuiltinParam{"full_feature_names", "false", false, "name columns view__feature"},
};

constexpr std::array kSplitInputs = {
    BuiltinInput{"data", true, "the rows to split"},
};
constexpr std::array kSplitOutputs = {
    BuiltinOutput{"train", ValueKind::kDataset, "training rows"},
    BuiltinOutput{"validation", ValueKind::kDataset, "validation rows"},
    BuiltinOutput{"test", ValueKind::kDataset, "test rows"},
};
constexpr std::array kSplitParams = {
    BuiltinParam{"train", "0.8", false, "fraction of rows for training"},
    BuiltinParam{"validation", "0", false, "fraction for validation"},
    BuiltinParam{"test", "0.2", false, "fraction for test"},
    BuiltinParam{"by", "random", false, "random or time"},
    BuiltinParam{"seed", "0", false, "seed of the random split"},
    BuiltinParam{"key", "", false, "column whose equal values stay in one split"},
    BuiltinParam{"time_column", "event_timestamp", false, "the column ordering a time split"},
    BuiltinParam{"dataset_prefix", "", false,
                 "datasets <prefix>_train... (default <pipeline>_<step>)"},
};

constexpr std::array kTrainInputs = {
    BuiltinInput{"train", true, "training rows"},
    BuiltinInput{"validation", false, "rows for early stopping and per-round metrics"},
};
constexpr std::array kTrainOutputs = {
    BuiltinOutput{"model", ValueKind::kFile, "the trained model (UBJSON or JSON)"},
};
constexpr std::array kTrainParams = {
    BuiltinParam{"label", "", true, "the label column"},
    BuiltinParam{"features", "", false, "feature columns, comma-separated (default: the rest)"},
    BuiltinParam{"exclude", "", false, "columns that are not features besides the label"},
    BuiltinParam{"objective", "binary:logistic", false, "XGBoost objective"},
    BuiltinParam{"num_class", "", false, "classes, for multi:* objectives"},
    BuiltinParam{"rounds", "100", false, "boosting rounds"},
    BuiltinParam{"max_depth", "6", false, "tree depth"},
    BuiltinParam{"eta", "0.3", false, "learning rate"},
    BuiltinParam{"seed", "0", false, "random seed"},
    BuiltinParam{"early_stopping_rounds", "0", false,
                 "stop after this many rounds without "
                 "improvement on validation (0: off)"},
    BuiltinParam{"threads", "", false, "training threads (default: the step's share)"},
    BuiltinParam{"eval_metric", "", false, "metric per round (default: the objective's)"},
    BuiltinParam{"subsample", "1", false, "row subsampling per tree"},
    BuiltinParam{"colsample_bytree", "1", false, "column subsampling per tree"},
    BuiltinParam{"min_child_weight", "1", false, "minimum hessian in a leaf"},
    BuiltinParam{"lambda", "1", false, "L2 regularisation"},
    BuiltinParam{"alpha", "0", false, "L1 regularisation"},
    BuiltinParam{"gamma", "0", false, "minimum loss reduction to split"},
    BuiltinParam{"scale_pos_weight", "1", false, "weight of positive rows"},
    BuiltinParam{"max_bin", "256", false, "histogram bins"},
    BuiltinParam{"tree_method", "hist", false, "hist, approx or exact"},
    BuiltinParam{"format", "ubj", false, "model file format: ubj or json"},
};

constexpr std::array kEvaluateInputs = {
    BuiltinInput{"model", true, "the candidate model"},
    BuiltinInput{"test", true, "rows both models are scored on"},
};
constexpr std::array kEvaluateOutputs = {
    BuiltinOutput{"evaluation", ValueKind::kFile, "metrics and the gate's verdict (JSON)"},
};
constexpr std::array kEvaluateParams = {
    BuiltinParam{"label", "", true, "the label column"},
    BuiltinParam{"endpoint", "", false,
                 "compare with the model behind this endpoint's "
                 "production alias"},
    BuiltinParam{"baseline", "", false, "or with this model version (NAME@V, NAME@ALIAS)"},
    BuiltinParam{"metric", "", false,
                 "the gate's metric (default: auc for binary, "
                 "accuracy for multi-class, rmse for regression)"},
    BuiltinParam{"min_improvement", "0", false, "required gain over the baseline"},
    BuiltinParam{"recent", "", false,
                 "score only the test rows of this last stretch of time before the newest "
                 "one (a duration: 2d), the world as it is now"},
    BuiltinParam{"time_column", "event_timestamp", false, "the rows' time, for recent"},
};

constexpr std::array kRegisterInputs = {
    BuiltinInput{"model", true, "the model file"},
    BuiltinInput{"evaluation", false, "the gate's verdict: not blessed -> skipped"},
    BuiltinInput{"reference", false, "reference statistics (default: the training input)"},
};
constexpr std::array kRegisterOutputs = {
    BuiltinOutput{"model_version", ValueKind::kModel, "the registered version"},
};
constexpr std::array kRegisterParams = {
    BuiltinParam{"name", "", true, "the registered model"},
    BuiltinParam{"feature_service", "", false, "the signature's feature service"},
    BuiltinParam{"description", "", false, "the version's description"},
};

constexpr std::array kDeployInputs = {
    BuiltinInput{"model_version", true, "the version to roll out"},
    BuiltinInput{"evaluation", false, "the gate's verdict: not blessed -> skipped"},
};
constexpr std::array kDeployOutputs = {
    BuiltinOutput{"rollout", ValueKind::kFile, "the rollout started (JSON)"},
};
constexpr std::array kDeployParams = {
    BuiltinParam{"endpoint", "", true, "the endpoint"},
    BuiltinParam{"policy", "", false, "a rollout policy file (relative to the pipeline file)"},
};

constexpr std::array<std::string_view, 0> kNoPrefixes = {};
constexpr std::array<std::string_view, 2> kFloorPrefixes = {"min_", "max_"};
constexpr std::array<std::string_view, 1> kPolicyPrefixes = {"policy."};

const std::array kDefinitions = {
    BuiltinDefinition{BuiltinStep::kTrainingSet, kTrainingSetInputs, kTrainingSetOutputs,
                      kTrainingSetParams, true, kNoPrefixes},
    BuiltinDefinition{BuiltinStep::kSplit, kSplitInputs, kSplitOutputs, kSplitParams, true,
                      kNoPrefixes},
    BuiltinDefinition{BuiltinStep::kTrainXgboost, kTrainInputs, kTrainOutputs, kTrainParams, true,
                      kNoPrefixes},
    // evaluate's baseline is whatever an endpoint's production alias points at when it
    // runs, which no input hash captures: it is never cached (it only scores test rows).
    BuiltinDefinition{BuiltinStep::kEvaluate, kEvaluateInputs, kEvaluateOutputs, kEvaluateParams,
                      false, kFloorPrefixes},
    BuiltinDefinition{BuiltinStep::kRegister, kRegisterInputs, kRegisterOutputs, kRegisterParams,
                      true, kNoPrefixes},
    BuiltinDefinition{BuiltinStep::kDeployCanary, kDeployInputs, kDeployOutputs, kDeployParams,
                      false, kPolicyPrefixes},
};

template <typename T>
std::string Names(std::span<const T> items) {
  std::string out;
  for (const T& item : items) {
    if (!out.empty()) out += ", ";
    out += item.name;
  }
  return out;
}

}  // namespace

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kDataset:
      return "dataset";
    case ValueKind::kFile:
      return "file";
    case ValueKind::kModel:
      return "model";
  }
  return "file";
}

const BuiltinDefinition& BuiltinDefinitionOf(BuiltinStep step) {
  for (const BuiltinDefinition& definition : kDefinitions) {
    if (definition.step == step) return definition;
  }
  return kDefinitions.front();  // unreachable: every enumerator has a definition
}

std::map<std::string, std::string> BuiltinDefaultParams(BuiltinStep step) {
  std::map<std::string, std::string> out;
  for (const BuiltinParam& param : BuiltinDefinitionOf(step).params) {
    if (!param.default_value.empty()) out.emplace(param.name, param.default_value);
  }
  return out;
}

absl::Status CheckBuiltinStep(StepSpec& step) {
  const BuiltinDefinition& def = BuiltinDefinitionOf(*step.uses);
  const std::string_view uses = BuiltinStepName(def.step);
  // Keys by name, not structured bindings: clang 14 (the fuzz build) cannot capture
  // those in the lambdas below.
  for (const auto& input_entry : step.inputs) {
    const std::string& name = input_entry.first;
    const bool known = std::any_of(def.inputs.begin(), def.inputs.end(),
                                   [&](const BuiltinInput& in) { return in.name == name; });
    if (!known) {
      return absl::InvalidArgumentError(Cat("inputs: ", uses, " reads no input \"", name,
                                            "\" (its inputs: ", Names(def.inputs), ")"));
    }
  }
  for (const BuiltinInput& input : def.inputs) {
    if (input.required && !step.inputs.contains(std::string(input.name))) {
      return absl::InvalidArgumentError(
          Cat("inputs: ", uses, " needs the input \"", input.name, "\" (", input.what, ")"));
    }
  }
  for (const auto& param_entry : step.params) {
    const std::string& name = param_entry.first;
    const bool known = std::any_of(def.params.begin(), def.params.end(),
                                   [&](const BuiltinParam& p) { return p.name == name; });
    const bool prefixed = std::any_of(
        def.param_prefixes.begin(), def.param_prefixes.end(), [&](std::string_view prefix) {
          return name.size() > prefix.size() && std::string_view(name).starts_with(prefix);
        });
    if (!known && !prefixed) {
      std::string also;
      for (std::string_view prefix : def.param_prefixes) also += Cat(", ", prefix, "*");
      return absl::InvalidArgumentError(Cat("params: ", uses, " takes no param \"", name,
                                            "\" (its params: ", Names(def.params), also, ")"));
    }
  }
  for (const BuiltinParam& param : def.params) {
    if (param.required && !step.params.contains(std::string(param.name))) {
      return absl::InvalidArgumentError(
          Cat("params: ", uses, " needs the param \"", param.name, "\" (", param.what, ")"));
    }
  }
  if (step.outputs.empty()) {
    for (const BuiltinOutput& output : def.outputs) step.outputs.emplace_back(output.name);
  } else {
    for (const std::string& name : step.outputs) {
      const bool known = std::any_of(def.outputs.begin(), def.outputs.end(),
                                     [&](const BuiltinOutput& out) { return out.name == name; });
      if (!known) {
        return absl::InvalidArgumentError(Cat("outputs: ", uses, " makes no output \"", name,
                                              "\" (its outputs: ", Names(def.outputs), ")"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::pipeline
