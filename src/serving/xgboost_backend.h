#pragma once

// The backend of the registry's "xgboost" flavor: XGBoost models saved as JSON or UBJSON
// (platform "xgboost_json" for both), loaded through libxgboost's C API
// (xgboost_booster.h) and served either by ferry's own tree walker (tree_ensemble.h,
// description().evaluator "native-trees") or by libxgboost's in-place prediction
// ("libxgboost").
//
// The native walker serves only what it reproduces: a gbtree booster with numerical
// splits, one target and an objective xgboost_trees.h knows. Even then, every Load
// checks it against libxgboost on probe rows built from the model's own thresholds
// (values at, just below and just above them, NaN, random) and serves with libxgboost,
// logging a warning with the reason, when any output differs by more than
// kParityTolerance. LoadOptions::evaluator forces either evaluator; forcing native on a
// model where it is impossible or disagrees is an InvalidArgument.
//
// Thread-safety: the backend is stateless; loaded models follow model_runtime.h
// (Predict from any number of threads: the native walker is immutable, libxgboost's
// in-place predict is thread-safe for tree boosters and its result is copied out of the
// calling thread's own buffer, see xgboost_booster.h).

#include <string_view>

#include "serving/model_runtime.h"

namespace ferry::serving {

// Largest |native - libxgboost| accepted on any probe output at load.
inline constexpr double kParityTolerance = 1e-6;
// Probe rows evaluated by both evaluators at load.
inline constexpr int kProbeRows = 256;

class XGBoostBackend final : public ModelBackend {
 public:
  std::string_view flavor() const override { return "xgboost"; }
  // Errors: InvalidArgument "<display_name>: not a loadable XGBoost model: <reason>" for
  // bytes libxgboost cannot load (empty, garbage, the deprecated binary format);
  // InvalidArgument when the native evaluator is forced and cannot serve the model;
  // Internal when libxgboost fails on a model it loaded.
  absl::StatusOr<LoadedModelPtr> Load(std::string_view artifact,
                                      const LoadOptions& options) const override;
};

}  // namespace ferry::serving
