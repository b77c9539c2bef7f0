#include "pipeline/builtin_steps.h"

namespace ferry::pipeline {

absl::StatusOr<StepOutcome> RunBuiltinStep(BuiltinStep step, StepContext& context) {
  switch (step) {
    case BuiltinStep::kTrainingSet: return RunTrainingSetStep(context);
    case BuiltinStep::kSplit: return RunSplitStep(context);
    case BuiltinStep::kTrainXgboost: return RunTrainXgboostStep(context);
    case BuiltinStep::kEvaluate: return RunEvaluateStep(context);
    case BuiltinStep::kRegister: return RunRegisterStep(context);
    case BuiltinStep::kDeployCanary: return RunDeployCanaryStep(context);
  }
  return absl::InternalError("unknown built-in step");
}

}  // namespace ferry::pipeline
