#pragma once

// Reading JSON request bodies for API routes without letting nlohmann-json's
// exceptions out: a body that is not a JSON object, a key of the wrong type, or an
// unknown key is InvalidArgument naming it.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace ferry::api {

// The body as a JSON object ("" is {}). InvalidArgument otherwise.
absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

// InvalidArgument naming the first key of `object` not in `known`.
absl::Status OnlyKeys(const nlohmann::json& object, std::initializer_list<std::string_view> known);

// object[key] as a string / integer; `fallback` when absent or null; InvalidArgument
// when of another type.
absl::StatusOr<std::string> StringField(const nlohmann::json& object, std::string_view key,
                                        std::string fallback = "");
absl::StatusOr<int64_t> IntField(const nlohmann::json& object, std::string_view key,
                                 int64_t fallback);

}  // namespace ferry::api
