#include "api/online_request.h"

#include "core/strings.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::ordered_json;
using table::ColumnType;

// A short rendering of a JSON value for messages.
std::string Shown(const ordered_json& value) {
  std::string text = value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string KeyList(const features::OnlineQuery& query) {
  std::string list;
  for (const features::JoinKey& k : query.join_keys()) {
    list += Cat(list.empty() ? "" : ", ", k.name, " (", table::ColumnTypeName(k.type), ")");
  }
  return list;
}

}  // namespace

std::string OnlineRequest::CacheKey() const {
  std::string key = full_feature_names ? "full\n" : "short\n";
  if (!feature_service.empty()) return Cat(key, "service\n", feature_service);
  for (const std::string& f : features) key += Cat(f, "\n");
  return key;
}

absl::StatusOr<OnlineRequest> ParseOnlineRequest(std::string_view body) {
  ordered_json j = ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("the request body is not valid JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("the request body must be a JSON object");
  OnlineRequest request;
  bool has_features = false;
  for (auto& [name, value] : j.items()) {
    if (name == "features") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError("\"features\" must be a list of \"view:feature\"");
      }
      for (const ordered_json& f : value) {
        if (!f.is_string()) {
          return absl::InvalidArgumentError(
              Cat("\"features\" must hold strings \"view:feature\", not ", Shown(f)));
        }
        request.features.push_back(f.get<std::string>());
      }
      has_features = true;
    } else if (name == "feature_service") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return absl::InvalidArgumentError("\"feature_service\" must be a service name");
      }
      request.feature_service = value.get<std::string>();
    } else if (name == "full_feature_names") {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError("\"full_feature_names\" must be true or false");
      }
      request.full_feature_names = value.get<bool>();
    } else if (name == "entities") {
      if (!value.is_object()) {
        return absl::InvalidArgumentError(
            "\"entities\" must be an object of lists: {\"join_key\": [value, ...]}");
      }
      for (auto& [key, values] : value.items()) {
        if (!values.is_array()) {
          return absl::InvalidArgumentError(
              Cat("entities.", key, " must be a list of values, not ", Shown(values)));
        }
      }
      request.entities = std::move(value);
    } else {
      return absl::InvalidArgumentError(
          Cat("unknown field \"", name,
              "\"; expected features or feature_service, entities, full_feature_names"));
    }
  }
  if (has_features == !request.feature_service.empty()) {
    return absl::InvalidArgumentError("give either \"features\" or \"feature_service\"");
  }
  if (request.entities.is_null()) {
    return absl::InvalidArgumentError("missing \"entities\": {\"join_key\": [value, ...]}");
  }
  return request;
}

absl::Status ConvertEntities(const ordered_json& entities, const features::OnlineQuery& query,
                             size_t max_rows, std::vector<features::EntityKeyValues>& out) {
  out.resize(entities.size());
  size_t i = 0;
  for (const auto& [name, values] : entities.items()) {
    const features::JoinKey* key = nullptr;
    for (const features::JoinKey& k : query.join_keys()) {
      if (k.name == name) key = &k;
    }
    if (key == nullptr) {
      return absl::InvalidArgumentError(Cat("entities.", name,
                                            " is not a join key of the requested features"
                                            " (they need: ",
                                            KeyList(query), ")"));
    }
    if (values.size() > max_rows) {
      return absl::ResourceExhaustedError(
          Cat("entities.", name, " has ", values.size(), " values; at most ", max_rows,
              " entity rows are allowed per request"));
    }
    features::EntityKeyValues& column = out[i++];
    column.name.assign(name);
    column.type = key->type;
    column.int64_values.clear();
    column.string_values.resize(key->type == ColumnType::kString ? values.size() : 0);
    for (size_t r = 0; r < values.size(); ++r) {
      const ordered_json& v = values[r];
      if (key->type == ColumnType::kInt64) {
        const bool fits = v.is_number_integer() &&
                          (!v.is_number_unsigned() || v.get<uint64_t>() <= INT64_MAX);
        if (!fits) {
          return absl::InvalidArgumentError(Cat("entities.", name, "[", r, "]: join key ", name,
                                                " is int64; expected an integer, got ",
                                                Shown(v)));
        }
        column.int64_values.push_back(v.get<int64_t>());
      } else {
        if (!v.is_string()) {
          return absl::InvalidArgumentError(Cat("entities.", name, "[", r, "]: join key ", name,
                                                " is string; expected a string, got ", Shown(v)));
        }
        column.string_values[r].assign(v.get_ref<const std::string&>());
      }
    }
  }
  for (const features::JoinKey& k : query.join_keys()) {
    if (!entities.contains(k.name)) {
      return absl::InvalidArgumentError(Cat("entities lacks join key \"", k.name, "\" (",
                                            table::ColumnTypeName(k.type),
                                            "); the requested features need: ", KeyList(query)));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::api
