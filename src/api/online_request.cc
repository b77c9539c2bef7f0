#include "api/online_request.h"

#include <memory>

#include "core/strings.h"

namespace ferry::api {
namespace {

using core::Cat;
using simdjson::dom::element;
using simdjson::dom::element_type;
using table::ColumnType;

// Bodies up to this size are parsed by the thread's reused parser; larger ones by a parser
// of their own, dropped at the thread's next parse, so that a rare huge request does not
// leave its buffers on the thread.
constexpr size_t kReusedParserBytes = size_t{1} << 20;

// A short rendering of a JSON value for messages.
std::string Shown(const element& value) {
  std::string text = simdjson::minify(value);
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

absl::Status Twice(std::string_view field) {
  return absl::InvalidArgumentError(Cat("\"", field, "\" is given twice"));
}

}  // namespace

std::string OnlineRequest::CacheKey() const {
  std::string key = full_feature_names ? "full\n" : "short\n";
  if (!feature_service.empty()) return Cat(key, "service\n", feature_service);
  for (std::string_view f : features) key += Cat(f, "\n");
  return key;
}

absl::StatusOr<OnlineRequest> ParseOnlineRequest(std::string& body) {
  thread_local simdjson::dom::parser reused;
  thread_local std::unique_ptr<simdjson::dom::parser> large;
  large.reset();  // the previous request is done with it
  simdjson::dom::parser* parser = &reused;
  if (body.size() > kReusedParserBytes) {
    large = std::make_unique<simdjson::dom::parser>();
    parser = large.get();
  }
  const size_t size = body.size();
  body.reserve(size + simdjson::SIMDJSON_PADDING);
  element doc;
  if (parser->parse(body.data(), size, /*realloc_if_needed=*/false).get(doc)) {
    return absl::InvalidArgumentError("the request body is not valid JSON");
  }
  simdjson::dom::object object;
  if (doc.get(object)) return absl::InvalidArgumentError("the request body must be a JSON object");
  OnlineRequest request;
  bool has_features = false, has_service = false, has_full = false, has_entities = false;
  for (simdjson::dom::key_value_pair field : object) {
    const std::string_view name = field.key;
    const element value = field.value;
    if (name == "features") {
      if (has_features) return Twice(name);
      has_features = true;
      simdjson::dom::array list;
      if (value.get(list)) {
        return absl::InvalidArgumentError("\"features\" must be a list of \"view:feature\"");
      }
      for (element f : list) {
        std::string_view text;
        if (f.get(text)) {
          return absl::InvalidArgumentError(
              Cat("\"features\" must hold strings \"view:feature\", not ", Shown(f)));
        }
        request.features.push_back(text);
      }
    } else if (name == "feature_service") {
      if (has_service) return Twice(name);
      has_service = true;
      if (value.get(request.feature_service) || request.feature_service.empty()) {
        return absl::InvalidArgumentError("\"feature_service\" must be a service name");
      }
    } else if (name == "full_feature_names") {
      if (has_full) return Twice(name);
      has_full = true;
      if (value.get(request.full_feature_names)) {
        return absl::InvalidArgumentError("\"full_feature_names\" must be true or false");
      }
    } else if (name == "entities") {
      if (has_entities) return Twice(name);
      has_entities = true;
      if (value.get(request.entities)) {
        return absl::InvalidArgumentError(
            "\"entities\" must be an object of lists: {\"join_key\": [value, ...]}");
      }
      for (simdjson::dom::key_value_pair key : request.entities) {
        if (!key.value.is_array()) {
          return absl::InvalidArgumentError(
              Cat("entities.", key.key, " must be a list of values, not ", Shown(key.value)));
        }
      }
    } else {
      return absl::InvalidArgumentError(
          Cat("unknown field \"", name,
              "\"; expected features or feature_service, entities, full_feature_names"));
    }
  }
  if (has_features == has_service) {
    return absl::InvalidArgumentError("give either \"features\" or \"feature_service\"");
  }
  if (!has_entities) {
    return absl::InvalidArgumentError("missing \"entities\": {\"join_key\": [value, ...]}");
  }
  return request;
}

absl::Status ConvertEntities(const simdjson::dom::object& entities,
                             const features::OnlineQuery& query, size_t max_rows,
                             std::vector<features::EntityKeyValues>& out) {
  out.resize(entities.size());
  size_t i = 0;
  for (simdjson::dom::key_value_pair entry : entities) {
    const std::string_view name = entry.key;
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
    const simdjson::dom::array values = entry.value.get_array().value_unsafe();
    const size_t rows = values.size();
    if (rows > max_rows) {
      return absl::ResourceExhaustedError(Cat("entities.", name, " has ", rows,
                                              " values; at most ", max_rows,
                                              " entity rows are allowed per request"));
    }
    features::EntityKeyValues& column = out[i++];
    column.name.assign(name);
    column.type = key->type;
    column.int64_values.clear();
    column.string_values.resize(key->type == ColumnType::kString ? rows : 0);
    size_t r = 0;
    for (element v : values) {
      if (key->type == ColumnType::kInt64) {
        int64_t n;
        if (v.type() != element_type::INT64 || v.get(n)) {
          return absl::InvalidArgumentError(Cat("entities.", name, "[", r, "]: join key ", name,
                                                " is int64; expected an integer, got ",
                                                Shown(v)));
        }
        column.int64_values.push_back(n);
      } else {
        std::string_view s;
        if (v.get(s)) {
          return absl::InvalidArgumentError(Cat("entities.", name, "[", r, "]: join key ", name,
                                                " is string; expected a string, got ", Shown(v)));
        }
        column.string_values[r].assign(s);
      }
      ++r;
    }
  }
  for (const features::JoinKey& k : query.join_keys()) {
    bool given = false;
    for (simdjson::dom::key_value_pair entry : entities) given |= entry.key == k.name;
    if (!given) {
      return absl::InvalidArgumentError(Cat("entities lacks join key \"", k.name, "\" (",
                                            table::ColumnTypeName(k.type),
                                            "); the requested features need: ", KeyList(query)));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::api
