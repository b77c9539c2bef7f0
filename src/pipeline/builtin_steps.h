#pragma once

// The built-in steps (`uses:` in a pipeline file). Each reads its params and inputs from
// the context (builtin_catalog.h lists them with their defaults), does its work through
// the context's stores, hands its outputs back through the context and returns how it
// ended. Errors name the step and what is wrong; nothing a failed step began is left
// half-written (datasets and model versions are created in one transaction each).
// docs/pipelines.md describes every step.

#include "absl/status/statusor.h"
#include "pipeline/step_context.h"

namespace ferry::pipeline {

// training-set: the point-in-time join of the `entities` input (entity keys,
// event_timestamp, labels) with the feature service `features`, as a new version of
// `dataset` (default "<pipeline>_<step>"): output `data`.
absl::StatusOr<StepOutcome> RunTrainingSetStep(StepContext& context);

// split: rows of `data` into `train`, `validation` and `test` datasets
// ("<prefix>_train", ...) by the fractions `train`, `validation`, `test`; `by: random`
// (a row's split comes from a hash of `seed` and its row number, or of its `key`
// column's value so equal keys stay together) or `by: time` (ordered by `time_column`,
// earliest rows train, latest test). Deterministic: the same data and params give the
// same bytes.
absl::StatusOr<StepOutcome> RunSplitStep(StepContext& context);

// train-xgboost: trains through libxgboost's C API on the `train` input (early stopping
// on `validation` when given), reading columns as typed batches; output `model`.
absl::StatusOr<StepOutcome> RunTrainXgboostStep(StepContext& context);

// evaluate: the candidate `model` and the model behind `endpoint`'s production alias (or
// `baseline`) on the `test` rows; the gate (min_improvement, min_<metric>/max_<metric>
// floors) decides "blessed"; output `evaluation` (JSON).
absl::StatusOr<StepOutcome> RunEvaluateStep(StepContext& context);

// register: `model` as a new version of model `name`, with signature, feature service,
// evaluation metrics, reference statistics and lineage to the run that trained it;
// skipped when `evaluation` says not blessed. Output `model_version`.
absl::StatusOr<StepOutcome> RunRegisterStep(StepContext& context);

// deploy-canary: starts a canary rollout of `model_version` on `endpoint` with a policy
// (`policy` file and `policy.KEY` params); skipped when not blessed or reproducing.
// Output `rollout` (JSON).
absl::StatusOr<StepOutcome> RunDeployCanaryStep(StepContext& context);

// The function for a built-in.
absl::StatusOr<StepOutcome> RunBuiltinStep(BuiltinStep step, StepContext& context);

}  // namespace ferry::pipeline
