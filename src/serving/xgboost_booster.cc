#include "serving/xgboost_booster.h"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "core/ubjson_check.h"
#include "serving/xgboost_error.h"

namespace ferry::serving {
namespace {

using core::Cat;

// In-place prediction's configuration; libxgboost 1.7 fails every call ("Invalid cast,
// from Null to Integer") unless each field, cache_id included, is there.
constexpr const char* kInPlaceConfig =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": false, "cache_id": 0, "missing": NaN})";
constexpr const char* kDMatrixConfig =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": false})";

// libxgboost 1.7 picks the loader from the first two bytes: '{' then '"' is JSON, '{'
// then a letter (UBJSON's type marker of the first key's length) is UBJSON, anything
// else goes to the deprecated binary loader, which trusts the sizes in its header
// (garbage makes it allocate whatever they say). Only the first two are let through.
absl::Status CheckModelFormat(std::string_view bytes) {
  if (bytes.size() >= 2 && bytes[0] == '{' && bytes[1] == '"') return absl::OkStatus();
  if (bytes.size() >= 2 && bytes[0] == '{' && std::isalpha(static_cast<unsigned char>(bytes[1]))) {
    // libxgboost's UBJSON reader trusts lengths: every one is checked first.
    if (absl::Status well_formed = core::CheckUbjson(bytes); !well_formed.ok()) {
      return absl::InvalidArgumentError(
          Cat("not a loadable XGBoost model: ", core::View(well_formed.message())));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      Cat("not a loadable XGBoost model: ", bytes.empty() ? "the file is empty" : "unknown format",
          "; ferry serves XGBoost's JSON and UBJSON model formats (save_model to a .json or .ubj"
          " file), not the deprecated binary one"));
}

absl::Status Internal(std::string_view what) {
  return absl::InternalError(Cat("libxgboost: ", what, ": ", XGBoostLastError()));
}

// Copies a result libxgboost owns (its shape's product of values) into out.
absl::StatusOr<size_t> CopyResult(const bst_ulong* shape, bst_ulong dims, const float* result,
                                  std::span<float> out) {
  size_t count = 1;
  for (bst_ulong d = 0; d < dims; ++d) count *= shape[d];
  if (count > out.size()) {
    return absl::InvalidArgumentError(
        Cat("libxgboost gave ", count, " values for an output of ", out.size()));
  }
  std::memcpy(out.data(), result, count * sizeof(float));
  return count;
}

}  // namespace

absl::StatusOr<std::unique_ptr<XGBoostBooster>> XGBoostBooster::Load(std::string_view bytes,
                                                                     int threads) {
  RETURN_IF_ERROR(CheckModelFormat(bytes));
  void* handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return Internal("creating a booster");
  std::unique_ptr<XGBoostBooster> booster(new XGBoostBooster(handle));
  if (XGBoosterLoadModelFromBuffer(handle, bytes.data(), static_cast<bst_ulong>(bytes.size())) !=
      0) {
    return absl::InvalidArgumentError(Cat("not a loadable XGBoost model: ", XGBoostLastError()));
  }
  // Set once, before any prediction: changing parameters while predicting is unsafe.
  const std::string nthread = std::to_string(std::max(threads, 1));
  if (XGBoosterSetParam(handle, "nthread", nthread.c_str()) != 0)
    return Internal("setting nthread");
  RETURN_IF_ERROR(booster->ReadConfig());
  return booster;
}

XGBoostBooster::~XGBoostBooster() { XGBoosterFree(handle_); }

absl::Status XGBoostBooster::ReadConfig() {
  bst_ulong length = 0;
  const char* text = nullptr;
  if (XGBoosterSaveJsonConfig(handle_, &length, &text) != 0) return Internal("reading the config");
  try {
    const nlohmann::json config = nlohmann::json::parse(text, text + length);
    const nlohmann::json& learner = config.at("learner");
    config_.booster = learner.at("gradient_booster").at("name").get<std::string>();
    config_.objective = learner.at("objective").at("name").get<std::string>();
    config_.num_class =
        std::stoll(learner.at("learner_model_param").at("num_class").get<std::string>());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        Cat("not a loadable XGBoost model: its configuration: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> XGBoostBooster::ModelUbjson() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(handle_, R"({"format": "ubj"})", &length, &bytes) != 0) {
    return Internal("saving the model as UBJSON");
  }
  return std::string(bytes, length);
}

absl::StatusOr<int64_t> XGBoostBooster::NumFeatures() const {
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(handle_, &features) != 0) return Internal("reading the feature count");
  return static_cast<int64_t>(features);
}

absl::StatusOr<std::vector<std::string>> XGBoostBooster::FeatureNames() const {
  bst_ulong count = 0;
  const char** names = nullptr;
  if (XGBoosterGetStrFeatureInfo(handle_, "feature_name", &count, &names) != 0) {
    return Internal("reading the feature names");
  }
  return std::vector<std::string>(names, names + count);
}

absl::StatusOr<size_t> XGBoostBooster::Predict(std::span<const float> rows, int64_t num_features,
                                               std::span<float> out) const {
  if (config_.booster == "gblinear") return PredictLinear(rows, num_features, out);
  // The caller's buffer as NumPy's __array_interface__ (read-only, C order).
  char interface[192];
  const auto written = fmt::format_to_n(interface, sizeof(interface) - 1,
                                        R"({{"data": [{}, true], "shape": [{}, {}],)"
                                        R"( "strides": null, "typestr": "<f4", "version": 3}})",
                                        reinterpret_cast<uintptr_t>(rows.data()),
                                        rows.size() / num_features, num_features);
  *written.out = '\0';
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(handle_, interface, kInPlaceConfig, nullptr, &shape, &dims,
                                &result) != 0) {
    return Internal("predicting");
  }
  // result is this thread's buffer for this booster (see the header).
  return CopyResult(shape, dims, result, out);
}

absl::StatusOr<size_t> XGBoostBooster::PredictLinear(std::span<const float> rows,
                                                     int64_t num_features,
                                                     std::span<float> out) const {
  DMatrixHandle matrix = nullptr;
  if (XGDMatrixCreateFromMat(rows.data(), rows.size() / num_features, num_features, NAN, &matrix) !=
      0) {
    return Internal("building a DMatrix");
  }
  const std::unique_ptr<void, int (*)(DMatrixHandle)> owned(matrix, XGDMatrixFree);
  std::lock_guard lock(linear_mutex_);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDMatrix(handle_, matrix, kDMatrixConfig, &shape, &dims, &result) != 0) {
    return Internal("predicting");
  }
  return CopyResult(shape, dims, result, out);
}

}  // namespace ferry::serving
