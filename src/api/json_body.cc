#include "api/json_body.h"

#include <algorithm>

#include "core/strings.h"

namespace ferry::api {

using nlohmann::json;

absl::StatusOr<json> ParseJsonObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON");
  if (!value.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return value;
}

absl::Status OnlyKeys(const json& object, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return absl::InvalidArgumentError(core::Cat("unknown key \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringField(const json& object, std::string_view key,
                                        std::string fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) return absl::InvalidArgumentError(core::Cat("\"", key, "\" must be a string"));
  return it->get<std::string>();
}

absl::StatusOr<int64_t> IntField(const json& object, std::string_view key, int64_t fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(core::Cat("\"", key, "\" must be an integer"));
  }
  return it->get<int64_t>();
}

}  // namespace ferry::api
