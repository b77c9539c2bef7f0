#include "serving/model_runtime.h"

#include "core/strings.h"
#include "serving/xgboost_backend.h"

namespace ferry::serving {

absl::StatusOr<EvaluatorChoice> ParseEvaluatorChoice(std::string_view name) {
  if (name == "auto") return EvaluatorChoice::kAuto;
  if (name == "libxgboost" || name == "library") return EvaluatorChoice::kLibrary;
  if (name == "native") return EvaluatorChoice::kNative;
  return absl::InvalidArgumentError(
      core::Cat("unknown evaluator \"", name, "\"; expected auto, libxgboost or native"));
}

absl::StatusOr<const ModelBackend*> BackendForFlavor(std::string_view flavor) {
  static const XGBoostBackend* const xgboost = new XGBoostBackend();
  if (flavor == xgboost->flavor()) return xgboost;
  return absl::NotFoundError(
      core::Cat("no serving backend for flavor \"", flavor, "\"; ferry serves: xgboost"));
}

}  // namespace ferry::serving
