#pragma once

// Reading XGBoost's JSON model (the document `save_model("m.json")` writes, or what
// libxgboost's XGBoosterSaveModelToBuffer returns with {"format": "json"}) into the
// EnsembleSpec ferry's TreeEnsemble evaluates, with XGBoost 1.7's objective semantics:
// which transform turns margins into outputs and how base_score becomes the starting
// margin (ProbToMargin: logit for the logistic objectives, log for the log-link ones,
// the value itself for the rest).
//
// Thread-safety: pure functions.

#include <string_view>

#include "absl/status/statusor.h"
#include "serving/tree_ensemble.h"

namespace ferry::serving {

// Errors: Unimplemented with the reason when the model is valid but not one TreeEnsemble
// evaluates as XGBoost does (a booster other than gbtree, categorical splits, several
// targets, an objective outside binary:logistic, binary:logitraw, reg:logistic,
// multi:softprob, multi:softmax, reg:squarederror, reg:pseudohubererror,
// reg:absoluteerror, count:poisson, reg:gamma, reg:tweedie, rank:*); InvalidArgument
// when the text is not JSON or misses the fields of an XGBoost model.
absl::StatusOr<EnsembleSpec> EnsembleSpecFromXGBoostJson(std::string_view model_json);

}  // namespace ferry::serving
