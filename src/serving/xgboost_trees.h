#pragma once

// Reading XGBoost's UBJSON model (what `save_model("m.ubj")` writes, or libxgboost's
// XGBoosterSaveModelToBuffer with {"format": "ubj"}) into the EnsembleSpec ferry's
// TreeEnsemble evaluates, with XGBoost 1.7's objective semantics: which transform turns
// margins into outputs and how base_score becomes the starting margin (ProbToMargin:
// logit for the logistic objectives, log for the log-link ones, the value itself for
// the rest).
//
// Thread-safety: pure functions.

#include <string_view>

#include "absl/status/statusor.h"
#include "serving/tree_ensemble.h"

namespace ferry::serving {

// Reads the model from libxgboost's UBJSON (rather than JSON: its floats are float32
// bits, not decimals, and it holds the NaN split conditions libxgboost writes for
// categorical splits, which its JSON writer prints as a bare NaN no JSON parser takes).
// Errors: Unimplemented with the reason when the model is valid but not one
// TreeEnsemble evaluates as XGBoost does (a booster other than gbtree, categorical
// splits, several targets, an objective outside binary:logistic, binary:logitraw,
// reg:logistic, multi:softprob, multi:softmax, reg:squarederror, reg:pseudohubererror,
// reg:absoluteerror, count:poisson, reg:gamma, reg:tweedie, rank:*); InvalidArgument
// when the bytes are not UBJSON or miss the fields of an XGBoost model.
absl::StatusOr<EnsembleSpec> EnsembleSpecFromXGBoostUbjson(std::string_view model_ubjson);

}  // namespace ferry::serving
