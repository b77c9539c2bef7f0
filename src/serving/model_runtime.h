#pragma once

// The model runtime interface: how ferry loads a registered model's artifact and asks it
// for predictions, whatever library evaluates it. A ModelBackend knows one flavor (the
// registry's `flavor`, e.g. "xgboost") and turns an artifact's bytes into a LoadedModel;
// a LoadedModel describes its inputs and outputs and predicts batches of dense rows.
// Further backends (ONNX, LightGBM, ...) implement the same two classes and register in
// BackendForFlavor.
//
// Lifecycle (as TF Serving's loader.h states its own):
//   1. Load: ModelBackend::Load parses and checks the artifact and allocates everything
//      the model needs to serve (which may take long: seconds for big models). A Load
//      that fails leaves nothing behind. Load may run on any thread, concurrently with
//      other Loads and with Predict calls on other models.
//   2. Serve: once Load returned, description() and Predict may be called from any
//      number of threads at once, for as long as the object lives. They never block on
//      each other beyond what the backend's library needs; Predict is allocation-free
//      in steady state where the backend allows it.
//   3. Unload: destroying the LoadedModel frees everything. The owner guarantees that no
//      Predict call is running when it does (serving holds models by shared_ptr, so the
//      last request to finish with an old version unloads it).
//
// Inputs are row-major float32 rows of exactly num_features values; NaN means missing,
// as in XGBoost (a missing value takes each split's default branch). Outputs are
// num_outputs float32 values per row, in the layout description().outputs states.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::serving {

struct ModelDescription {
  // Open Inference Protocol platform, e.g. "xgboost_json".
  std::string platform;
  // Which evaluator serves predictions, for status and logs: "native-trees" (ferry's own
  // tree walker, checked against libxgboost at load) or "libxgboost".
  std::string evaluator;
  // The model's own objective ("binary:logistic", "multi:softprob", "reg:squarederror").
  std::string objective;
  int64_t num_features = 0;
  // Feature names stored in the model file; empty when it has none.
  std::vector<std::string> feature_names;
  // Values per row in Predict's output: 1 for regression and binary objectives (the
  // probability of class 1 for binary:logistic), num_class for multi:softprob (one
  // probability per class), 1 for multi:softmax (the class index as a float).
  int64_t num_outputs = 1;
  // Number of classes for classification objectives; 0 for regression.
  int64_t num_classes = 0;
};

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;

  virtual const ModelDescription& description() const = 0;

  // Predicts rows.size() / num_features rows into out (num_outputs values per row).
  // Errors: InvalidArgument when rows.size() is not a multiple of num_features or
  // out.size() is not rows * num_outputs; Internal with the library's message when it
  // fails. Thread-safe (see the top of this file).
  virtual absl::Status Predict(std::span<const float> rows, std::span<float> out) const = 0;
};

using LoadedModelPtr = std::shared_ptr<const LoadedModel>;

// Which evaluator serves a model that ferry can also evaluate itself (XGBoost gbtree):
//   kAuto     ferry's own ("native-trees") when the model is one it evaluates and it
//             agrees with the library on probe rows at load, else the library;
//   kLibrary  always the backend's library (libxgboost);
//   kNative   ferry's own, or Load fails with InvalidArgument saying why it cannot.
enum class EvaluatorChoice { kAuto, kLibrary, kNative };

// "auto", "libxgboost" (or "library"), "native"; InvalidArgument for anything else.
absl::StatusOr<EvaluatorChoice> ParseEvaluatorChoice(std::string_view name);

struct LoadOptions {
  // For messages: what is being loaded, e.g. "fraud@3".
  std::string display_name;
  // Threads the backend's library may use for one Predict call (libxgboost's nthread);
  // serving runs one call per request thread, so 1 is the default.
  int threads_per_call = 1;
  EvaluatorChoice evaluator = EvaluatorChoice::kAuto;
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // The registry flavor this backend loads ("xgboost").
  virtual std::string_view flavor() const = 0;
  // Loads an artifact. Errors: InvalidArgument naming display_name and the reason when
  // the bytes are not a model this backend can serve.
  virtual absl::StatusOr<LoadedModelPtr> Load(std::string_view artifact,
                                              const LoadOptions& options) const = 0;
};

// The backend for a registry flavor; NotFound ("no serving backend for flavor ...")
// for flavors ferry cannot serve. The returned backend lives for the whole process.
absl::StatusOr<const ModelBackend*> BackendForFlavor(std::string_view flavor);

}  // namespace ferry::serving
