#include "registry/xgboost_model.h"

#include <cctype>

#include <xgboost/c_api.h>

#include <memory>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/ubjson_check.h"

namespace ferry::registry {
namespace {

using core::Cat;

struct BoosterFree {
  void operator()(void* handle) const { XGBoosterFree(handle); }
};
using Booster = std::unique_ptr<void, BoosterFree>;

std::string LastError() {
  const char* error = XGBGetLastError();
  std::string text = error != nullptr ? error : "unknown error";
  // libxgboost prefixes its messages with the source location of the check that failed
  // ("[09:30:00] ../src/learner.cc:123: "); users need the reason only.
  const size_t marker = text.find(": ");
  if (!text.empty() && text.front() == '[' && marker != std::string::npos) {
    text = text.substr(marker + 2);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const size_t stack = text.find("\nStack trace");
  if (stack != std::string::npos) text = text.substr(0, stack);
  return text;
}

absl::StatusOr<std::vector<std::string>> FeatureInfo(void* booster, const char* field) {
  bst_ulong count = 0;
  const char** values = nullptr;
  if (XGBoosterGetStrFeatureInfo(booster, field, &count, &values) != 0) {
    return absl::InvalidArgumentError(Cat("not a loadable XGBoost model: reading ", field, ": ",
                                          LastError()));
  }
  std::vector<std::string> out;
  for (bst_ulong i = 0; i < count; ++i) out.emplace_back(values[i]);
  return out;
}

}  // namespace

absl::StatusOr<XGBoostModelInfo> InspectXGBoostModel(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("not a loadable XGBoost model: empty file");
  // JSON and UBJSON models both open with '{'. Anything else would go to libxgboost's
  // deprecated binary loader, which trusts the sizes in its header (garbage makes it
  // allocate whatever they say), so it is refused here with the formats that work.
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || bytes[first] != '{') {
    return absl::InvalidArgumentError(
        "not a loadable XGBoost model: expected XGBoost's JSON or UBJSON model format (what"
        " save_model writes to a .json or .ubj file); the deprecated binary format is not"
        " accepted");
  }
  // UBJSON ('{' then a type marker): libxgboost's reader trusts its lengths, so a cut or
  // forged file would make it read past its buffer; every length is checked first.
  if (first == 0 && bytes.size() >= 2 && std::isalpha(static_cast<unsigned char>(bytes[1]))) {
    if (absl::Status well_formed = core::CheckUbjson(bytes); !well_formed.ok()) {
      return absl::InvalidArgumentError(
          Cat("not a loadable XGBoost model: ", core::View(well_formed.message())));
    }
  }
  void* raw = nullptr;
  if (XGBoosterCreate(nullptr, 0, &raw) != 0) {
    return absl::InternalError(Cat("libxgboost: creating a booster: ", LastError()));
  }
  Booster booster(raw);
  if (XGBoosterLoadModelFromBuffer(booster.get(), bytes.data(),
                                   static_cast<bst_ulong>(bytes.size())) != 0) {
    return absl::InvalidArgumentError(Cat("not a loadable XGBoost model: ", LastError()));
  }
  XGBoostModelInfo info;
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(booster.get(), &features) != 0) {
    return absl::InvalidArgumentError(
        Cat("not a loadable XGBoost model: reading its feature count: ", LastError()));
  }
  info.num_features = static_cast<int64_t>(features);
  ASSIGN_OR_RETURN(info.feature_names, FeatureInfo(booster.get(), "feature_name"));
  ASSIGN_OR_RETURN(info.feature_types, FeatureInfo(booster.get(), "feature_type"));
  if (!info.feature_names.empty() &&
      static_cast<int64_t>(info.feature_names.size()) != info.num_features) {
    return absl::InvalidArgumentError(Cat("not a loadable XGBoost model: it names ",
                                          info.feature_names.size(), " features but has ",
                                          info.num_features));
  }
  return info;
}

absl::StatusOr<XGBoostModelInfo> InspectXGBoostModelFile(const std::filesystem::path& path,
                                                         uint64_t max_bytes,
                                                         std::string_view display_name) {
  ASSIGN_OR_RETURN(std::string bytes, core::ReadFileToString(path, max_bytes));
  absl::StatusOr<XGBoostModelInfo> info = InspectXGBoostModel(bytes);
  if (!info.ok()) {
    return absl::Status(info.status().code(),
                        Cat(display_name.empty() ? path.filename().string() : std::string(display_name),
                            ": ", core::View(info.status().message())));
  }
  return info;
}

}  // namespace ferry::registry
