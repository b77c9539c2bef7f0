#pragma once

// XGBoostBooster: one libxgboost (1.7) booster, loaded from a model file's bytes, and the
// calls serving makes on it: reading its configuration, feature names and JSON model at
// load time, and predicting dense float32 rows.
//
// Thread-safety. Predict may run from any number of threads at once on one booster;
// everything else is for load time, from one thread. What this rests on:
//   - XGBoost's prediction docs ("Thread Safety", doc/prediction.rst, since 1.4): all
//     prediction functions, in-place predict included, are thread-safe for gbtree and
//     dart boosters as long as nothing changes the booster meanwhile (no SetParam, no
//     training). Hence nthread is set once in Load and never after.
//   - libxgboost 1.7's src/learner.cc: InplacePredict writes into
//     GetThreadLocal().prediction_entry, a map keyed by the booster in thread-local
//     storage (LearnerAPIThreadLocalStore), so the result buffer XGBoosterPredictFromDense
//     returns is per thread and per booster, valid until that thread's next prediction on
//     the same booster. Predict copies it into the caller's span before returning.
//   - gblinear has no in-place predict in 1.7 ("Inplace predict is not supported by
//     current booster"), and the docs promise thread-safety for tree boosters only: for
//     gblinear Predict builds a DMatrix per call and holds a mutex around the prediction.
// A booster's thread-local entries are freed only in the thread that destroys it (1.7's
// ~LearnerImpl erases its own thread's entry); other serving threads keep theirs, sized
// to their last batch, until they exit. For the same reason a booster must not be
// destroyed during static destruction (after main returns): ~LearnerImpl then reaches
// a thread-local store that may already be gone (seen here: a double free at exit).

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::serving {

// What serving needs from libxgboost's saved configuration.
struct BoosterConfig {
  std::string booster;    // "gbtree", "dart" or "gblinear"
  std::string objective;  // "binary:logistic", ...
  int64_t num_class = 0;
};

class XGBoostBooster {
 public:
  // Loads XGBoost's JSON or UBJSON model format (told apart by their first two bytes,
  // as libxgboost does) and reads its configuration; threads is libxgboost's nthread
  // for one Predict call. Errors: InvalidArgument with the reason for anything else
  // (the deprecated binary format is refused: libxgboost's loader trusts the sizes in
  // its header) and for what libxgboost cannot load.
  static absl::StatusOr<std::unique_ptr<XGBoostBooster>> Load(std::string_view bytes, int threads);
  ~XGBoostBooster();
  XGBoostBooster(const XGBoostBooster&) = delete;
  XGBoostBooster& operator=(const XGBoostBooster&) = delete;

  const BoosterConfig& config() const { return config_; }
  // The model re-saved by libxgboost in its UBJSON format, whatever format it came in.
  absl::StatusOr<std::string> ModelUbjson() const;
  absl::StatusOr<int64_t> NumFeatures() const;
  // Empty when the model stores none.
  absl::StatusOr<std::vector<std::string>> FeatureNames() const;

  // Predicts rows.size() / num_features rows (at least one); returns how many values
  // libxgboost gave, copied into out when they fit, so callers can learn the outputs
  // per row. Errors: Internal with libxgboost's message; InvalidArgument when the
  // result does not fit in out.
  absl::StatusOr<size_t> Predict(std::span<const float> rows, int64_t num_features,
                                 std::span<float> out) const;

 private:
  explicit XGBoostBooster(void* handle) : handle_(handle) {}
  absl::Status ReadConfig();
  absl::StatusOr<size_t> PredictLinear(std::span<const float> rows, int64_t num_features,
                                       std::span<float> out) const;

  void* handle_;  // BoosterHandle, freed by the destructor
  BoosterConfig config_;
  mutable std::mutex linear_mutex_;  // serializes gblinear predictions
};

}  // namespace ferry::serving
