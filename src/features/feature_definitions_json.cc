// Canonical JSON of feature definitions: what the registry stores, hashes and serves.
// nlohmann::json keeps object keys sorted, so equal definitions give equal text.

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "features/feature_definitions.h"

namespace ferry::features {
namespace {

using nlohmann::json;

// Reads a stored document; the registry wrote it, so a mismatch means damage.
template <typename T, typename Fill>
absl::StatusOr<T> FromJson(std::string_view text, std::string_view what, Fill fill) {
  try {
    T object;
    fill(json::parse(text), object);
    return object;
  } catch (const json::exception& e) {
    return absl::DataLossError(core::Cat("stored ", what, " definition is damaged: ", e.what()));
  }
}

table::ColumnType TypeOf(const json& value) {
  std::optional<table::ColumnType> type = table::ParseColumnType(value.get<std::string>());
  if (!type) throw json::other_error::create(501, "unknown type", nullptr);
  return *type;
}

}  // namespace

std::string ToJson(const Entity& entity) {
  json keys = json::array();
  for (const JoinKey& key : entity.join_keys) {
    keys.push_back({{"name", key.name}, {"type", table::ColumnTypeName(key.type)}});
  }
  return json{{"name", entity.name}, {"join_keys", keys}, {"description", entity.description}}
      .dump();
}

std::string ToJson(const FeatureView& view) {
  json features = json::array();
  for (const Feature& f : view.features) {
    features.push_back({{"name", f.name}, {"type", table::ColumnTypeName(f.type)}});
  }
  return json{{"name", view.name},
              {"entities", view.entities},
              {"source", view.source},
              {"timestamp_field", view.timestamp_field},
              {"created_timestamp_field", view.created_timestamp_field},
              {"features", features},
              {"ttl_seconds", view.ttl_seconds},
              {"online", view.online},
              {"description", view.description}}
      .dump();
}

std::string ToJson(const FeatureService& service) {
  return json{{"name", service.name},
              {"features", service.features},
              {"description", service.description}}
      .dump();
}

absl::StatusOr<Entity> EntityFromJson(std::string_view text) {
  return FromJson<Entity>(text, "entity", [](const json& j, Entity& e) {
    e.name = j.at("name").get<std::string>();
    e.description = j.at("description").get<std::string>();
    for (const json& key : j.at("join_keys")) {
      e.join_keys.push_back({key.at("name").get<std::string>(), TypeOf(key.at("type"))});
    }
  });
}

absl::StatusOr<FeatureView> FeatureViewFromJson(std::string_view text) {
  return FromJson<FeatureView>(text, "feature view", [](const json& j, FeatureView& v) {
    v.name = j.at("name").get<std::string>();
    v.entities = j.at("entities").get<std::vector<std::string>>();
    v.source = j.at("source").get<std::string>();
    v.timestamp_field = j.at("timestamp_field").get<std::string>();
    v.created_timestamp_field = j.at("created_timestamp_field").get<std::string>();
    for (const json& f : j.at("features")) {
      v.features.push_back({f.at("name").get<std::string>(), TypeOf(f.at("type"))});
    }
    v.ttl_seconds = j.at("ttl_seconds").get<int64_t>();
    v.online = j.at("online").get<bool>();
    v.description = j.at("description").get<std::string>();
  });
}

absl::StatusOr<FeatureService> FeatureServiceFromJson(std::string_view text) {
  return FromJson<FeatureService>(text, "feature service", [](const json& j, FeatureService& s) {
    s.name = j.at("name").get<std::string>();
    s.features = j.at("features").get<std::vector<std::string>>();
    s.description = j.at("description").get<std::string>();
  });
}

}  // namespace ferry::features
