#pragma once

// XGBoost model files, as the registry checks them before it registers a version:
// loaded through libxgboost's C API (XGBoosterLoadModelFromBuffer), so a file that
// registers is a file that serves. Accepted: the JSON and UBJSON formats every XGBoost
// binding saves (`save_model("m.json")`, `"m.ubj"`); the deprecated binary format is
// refused before libxgboost sees it, since its loader trusts sizes in the file's header.
//
// Thread-safety: InspectXGBoostModel may run on several threads at once (each call
// has its own booster; XGBoost keeps its last error per thread).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::registry {

struct XGBoostModelInfo {
  int64_t num_features = 0;
  // The names and types the model was trained with ("q" quantitative, "i" indicator,
  // "int", "float", "c" categorical); empty when it was trained without names.
  std::vector<std::string> feature_names;
  std::vector<std::string> feature_types;
};

// Loads the model in `bytes`. Errors: InvalidArgument "not a loadable XGBoost model:
// <reason>" for an empty file, one in neither JSON nor UBJSON, or anything libxgboost
// cannot load (its reason).
absl::StatusOr<XGBoostModelInfo> InspectXGBoostModel(std::string_view bytes);

// The same for a file of at most `max_bytes` (ResourceExhausted beyond); NotFound
// when it does not exist. Messages start with `display_name` (default: the file name).
absl::StatusOr<XGBoostModelInfo> InspectXGBoostModelFile(const std::filesystem::path& path,
                                                         uint64_t max_bytes,
                                                         std::string_view display_name = "");

}  // namespace ferry::registry
