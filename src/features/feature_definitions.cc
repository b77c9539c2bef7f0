#include "features/feature_definitions.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"
#include "dataset/dataset_ref.h"

namespace ferry::features {
namespace {

using core::Cat;

constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxObjectsPerKind = 10'000;
constexpr size_t kMaxFeaturesPerView = 10'000;
constexpr size_t kMaxDescriptionBytes = 4096;
constexpr int64_t kMaxDurationSeconds = int64_t{100} * 366 * 24 * 3600;

// Where a node is, for messages: "features.yaml:12: feature_views[0].ttl".
class Locator {
 public:
  explicit Locator(std::string_view source) : source_(source) {}

  absl::Status Error(const YAML::Node& node, std::string_view path, std::string_view what) const {
    const YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      return absl::InvalidArgumentError(Cat(source_, ":", mark.line + 1, ": ", path, ": ", what));
    }
    return absl::InvalidArgumentError(Cat(source_, ": ", path, ": ", what));
  }

 absl::Status Plain(std::string_view what) const {
    return absl::InvalidArgumentError(Cat(source_, ": ", what));
  }

 private:
  std::string_view source_;
};

absl::Status CheckKeys(const Locator& at, const YAML::Node& map, std::string_view path,
                       std::initializer_list<std::string_view> allowed) {
  if (!map.IsMap()) return at.Error(map, path, "expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (std::string_view k : allowed) known += Cat(known.empty() ? "" : ", ", k);
      return at.Error(kv.first, Cat(path, ".", key), Cat("unknown key (known: ", known, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadString(const Locator& at, const YAML::Node& map,
                                       std::string_view key, std::string_view path,
                                       bool required) {
  const YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) {
    if (required) return at.Error(map, Cat(path, ".", key), "required");
    return std::string();
  }
  if (!node.IsScalar()) return at.Error(node, Cat(path, ".", key), "expected a string");
  return node.Scalar();
}

absl::StatusOr<std::string> ReadName(const Locator& at, const YAML::Node& map,
                                     std::string_view path, std::string_view what) {
  ASSIGN_OR_RETURN(std::string name, ReadString(at, map, "name", path, true));
  if (absl::Status s = ValidateObjectName(what, name); !s.ok()) {
    return at.Error(map["name"], Cat(path, ".name"), core::View(s.message()));
  }
  return name;
}

absl::StatusOr<std::string> ReadDescription(const Locator& at, const YAML::Node& map,
                                            std::string_view path) {
  ASSIGN_OR_RETURN(std::string text, ReadString(at, map, "description", path, false));
  if (text.size() > kMaxDescriptionBytes) {
    return at.Error(map["description"], Cat(path, ".description"),
                    Cat("longer than ", kMaxDescriptionBytes, " bytes"));
  }
  return text;
}

absl::StatusOr<table::ColumnType> ReadType(const Locator& at, const YAML::Node& map,
                                           std::string_view path) {
  ASSIGN_OR_RETURN(std::string text, ReadString(at, map, "type", path, true));
  std::optional<table::ColumnType> type = table::ParseColumnType(text);
  if (!type) {
    return at.Error(map["type"], Cat(path, ".type"),
                    Cat("unknown type \"", text,
                        "\" (known: int64, float64, bool, timestamp, string)"));
  }
  return *type;
}

// A sequence (possibly absent, when not `required`), with a bound on its length.
absl::StatusOr<YAML::Node> ReadList(const Locator& at, const YAML::Node& map, std::string_view key,
                                    std::string_view path, bool required, size_t max) {
  YAML::Node node = map[std::string(key)];
  if (!node || node.IsNull()) {
    if (required) return at.Error(map, Cat(path, key), "required, a non-empty list");
    return YAML::Node(YAML::NodeType::Sequence);
  }
  if (!node.IsSequence()) return at.Error(node, Cat(path, key), "expected a list");
  if (required && node.size() == 0) return at.Error(node, Cat(path, key), "must not be empty");
  if (node.size() > max) return at.Error(node, Cat(path, key), Cat("more than ", max, " entries"));
  return node;
}

absl::StatusOr<Entity> ParseEntity(const Locator& at, const YAML::Node& node,
                                   const std::string& path) {
  RETURN_IF_ERROR(CheckKeys(at, node, path, {"name", "join_keys", "description"}));
  Entity entity;
  ASSIGN_OR_RETURN(entity.name, ReadName(at, node, path, "entity name"));
  ASSIGN_OR_RETURN(entity.description, ReadDescription(at, node, path));
  ASSIGN_OR_RETURN(YAML::Node keys, ReadList(at, node, "join_keys", Cat(path, "."), true, 16));
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string key_path = Cat(path, ".join_keys[", i, "]");
    RETURN_IF_ERROR(CheckKeys(at, keys[i], key_path, {"name", "type"}));
    JoinKey key;
    ASSIGN_OR_RETURN(key.name, ReadName(at, keys[i], key_path, "join key"));
    ASSIGN_OR_RETURN(key.type, ReadType(at, keys[i], key_path));
    if (key.type != table::ColumnType::kInt64 && key.type != table::ColumnType::kString) {
      return at.Error(keys[i]["type"], Cat(key_path, ".type"),
                      "a join key must be int64 or string");
    }
    for (const JoinKey& other : entity.join_keys) {
      if (other.name == key.name) {
        return at.Error(keys[i], key_path, Cat("join key \"", key.name, "\" is listed twice"));
      }
    }
    entity.join_keys.push_back(std::move(key));
  }
  return entity;
}

absl::StatusOr<FeatureView> ParseView(const Locator& at, const YAML::Node& node,
                                      const std::string& path) {
  RETURN_IF_ERROR(CheckKeys(at, node, path,
                            {"name", "entities", "source", "timestamp_field",
                             "created_timestamp_field", "ttl", "online", "features",
                             "description"}));
  FeatureView view;
  ASSIGN_OR_RETURN(view.name, ReadName(at, node, path, "feature view name"));
  ASSIGN_OR_RETURN(view.description, ReadDescription(at, node, path));
  ASSIGN_OR_RETURN(YAML::Node entities, ReadList(at, node, "entities", Cat(path, "."), true, 16));
  for (size_t i = 0; i < entities.size(); ++i) {
    const std::string entity_path = Cat(path, ".entities[", i, "]");
    if (!entities[i].IsScalar()) return at.Error(entities[i], entity_path, "expected a name");
    const std::string& name = entities[i].Scalar();
    if (std::find(view.entities.begin(), view.entities.end(), name) != view.entities.end()) {
      return at.Error(entities[i], entity_path, Cat("entity \"", name, "\" is listed twice"));
    }
    view.entities.push_back(name);
  }
  ASSIGN_OR_RETURN(view.source, ReadString(at, node, "source", path, true));
  if (absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(view.source); !ref.ok()) {
    return at.Error(node["source"], Cat(path, ".source"), core::View(ref.status().message()));
  }
  ASSIGN_OR_RETURN(view.timestamp_field, ReadString(at, node, "timestamp_field", path, true));
  ASSIGN_OR_RETURN(view.created_timestamp_field,
                   ReadString(at, node, "created_timestamp_field", path, false));
  if (view.created_timestamp_field == view.timestamp_field) {
    return at.Error(node["created_timestamp_field"], Cat(path, ".created_timestamp_field"),
                    "must differ from timestamp_field");
  }
  ASSIGN_OR_RETURN(std::string ttl, ReadString(at, node, "ttl", path, false));
  if (!ttl.empty()) {
    absl::StatusOr<int64_t> seconds = ParseDurationSeconds(ttl);
    if (!seconds.ok()) {
      return at.Error(node["ttl"], Cat(path, ".ttl"), core::View(seconds.status().message()));
    }
    view.ttl_seconds = *seconds;
  }
  if (const YAML::Node online = node["online"]) {
    try {
      view.online = online.as<bool>();
    } catch (const YAML::Exception&) {
      return at.Error(online, Cat(path, ".online"), "expected true or false");
    }
  }
  ASSIGN_OR_RETURN(YAML::Node features,
                   ReadList(at, node, "features", Cat(path, "."), true, kMaxFeaturesPerView));
  std::set<std::string> seen;
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string feature_path = Cat(path, ".features[", i, "]");
    RETURN_IF_ERROR(CheckKeys(at, features[i], feature_path, {"name", "type"}));
    Feature feature;
    ASSIGN_OR_RETURN(feature.name, ReadName(at, features[i], feature_path, "feature name"));
    ASSIGN_OR_RETURN(feature.type, ReadType(at, features[i], feature_path));
    if (!seen.insert(feature.name).second) {
      return at.Error(features[i], feature_path,
                      Cat("feature \"", feature.name, "\" is listed twice"));
    }
    if (feature.name == view.timestamp_field || feature.name == view.created_timestamp_field) {
      return at.Error(features[i], feature_path,
                      Cat("feature \"", feature.name, "\" is the view's timestamp field"));
    }
    view.features.push_back(std::move(feature));
  }
  return view;
}

absl::StatusOr<FeatureService> ParseService(const Locator& at, const YAML::Node& node,
                                            const std::string& path) {
  RETURN_IF_ERROR(CheckKeys(at, node, path, {"name", "features", "description"}));
  FeatureService service;
  ASSIGN_OR_RETURN(service.name, ReadName(at, node, path, "feature service name"));
  ASSIGN_OR_RETURN(service.description, ReadDescription(at, node, path));
  ASSIGN_OR_RETURN(YAML::Node features,
                   ReadList(at, node, "features", Cat(path, "."), true, kMaxFeaturesPerView));
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string feature_path = Cat(path, ".features[", i, "]");
    if (!features[i].IsScalar()) {
      return at.Error(features[i], feature_path, "expected \"view:feature\"");
    }
    const std::string& text = features[i].Scalar();
    if (absl::StatusOr<FeatureRef> ref = ParseFeatureRef(text, true); !ref.ok()) {
      return at.Error(features[i], feature_path, core::View(ref.status().message()));
    }
    if (std::find(service.features.begin(), service.features.end(), text) !=
        service.features.end()) {
      return at.Error(features[i], feature_path, Cat("\"", text, "\" is listed twice"));
    }
    service.features.push_back(text);
  }
  return service;
}

// Parses one top-level list with `parse`, refusing names given twice.
template <typename T, typename Parse>
absl::Status ParseSection(const Locator& at, const YAML::Node& root, std::string_view key,
                          std::string_view what, Parse parse, std::vector<T>& out) {
  ASSIGN_OR_RETURN(YAML::Node list, ReadList(at, root, key, "", false, kMaxObjectsPerKind));
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = Cat(key, "[", i, "]");
    ASSIGN_OR_RETURN(T object, parse(at, list[i], path));
    auto [it, inserted] = index.emplace(object.name, i);
    if (!inserted) {
      return at.Error(list[i], path,
                      Cat("duplicate ", what, " \"", object.name, "\" (also ", key, "[",
                          it->second, "])"));
    }
    out.push_back(std::move(object));
  }
  return absl::OkStatus();
}

absl::StatusOr<FeatureDefinitions> ParseRoot(const Locator& at, const YAML::Node& root) {
  FeatureDefinitions defs;
  if (!root || root.IsNull()) return defs;
  RETURN_IF_ERROR(CheckKeys(at, root, "(top level)",
                            {"entities", "feature_views", "feature_services"}));
  RETURN_IF_ERROR(ParseSection(at, root, "entities", "entity", ParseEntity, defs.entities));
  RETURN_IF_ERROR(ParseSection(at, root, "feature_views", "feature view", ParseView, defs.views));
  RETURN_IF_ERROR(
      ParseSection(at, root, "feature_services", "feature service", ParseService, defs.services));
  // A view's features must not shadow its own join keys, when the file defines them.
  for (const FeatureView& view : defs.views) {
    for (const std::string& entity_name : view.entities) {
      for (const Entity& entity : defs.entities) {
        if (entity.name != entity_name) continue;
        for (const JoinKey& key : entity.join_keys) {
          if (view.FindFeature(key.name) || key.name == view.timestamp_field) {
            return at.Plain(Cat("feature view \"", view.name, "\": \"", key.name,
                                "\" is a join key of entity \"", entity.name,
                                "\" and cannot be a feature or the timestamp field"));
          }
        }
      }
    }
  }
  return defs;
}

}  // namespace

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity:
      return "entity";
    case ObjectKind::kFeatureView:
      return "feature_view";
    case ObjectKind::kFeatureService:
      return "feature_service";
  }
  return "unknown";
}

std::optional<ObjectKind> ParseObjectKind(std::string_view name) {
  for (ObjectKind kind :
       {ObjectKind::kEntity, ObjectKind::kFeatureView, ObjectKind::kFeatureService}) {
    if (ObjectKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

const Feature* FeatureView::FindFeature(std::string_view feature) const {
  for (const Feature& f : features) {
    if (f.name == feature) return &f;
  }
  return nullptr;
}

absl::Status ValidateObjectName(std::string_view what, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(Cat(what, " must not be empty"));
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        Cat(what, " \"", name.substr(0, 32), "...\" is longer than ", kMaxNameBytes, " bytes"));
  }
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  const bool starts_well = (name[0] < '0' || name[0] > '9') && word(name[0]);
  if (!starts_well || !std::all_of(name.begin(), name.end(), word)) {
    return absl::InvalidArgumentError(
        Cat(what, " \"", name,
            "\" must be letters, digits and '_', not starting with a digit"));
  }
  return absl::OkStatus();
}

absl::StatusOr<FeatureRef> ParseFeatureRef(std::string_view text, bool allow_wildcard) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(Cat("feature reference \"", text,
                                          "\" must be \"view:feature\""));
  }
  FeatureRef ref{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  RETURN_IF_ERROR(ValidateObjectName("feature view name", ref.view));
  if (ref.feature == "*") {
    if (!allow_wildcard) {
      return absl::InvalidArgumentError(Cat("\"", text, "\": \"view:*\" is not allowed here"));
    }
    return ref;
  }
  RETURN_IF_ERROR(ValidateObjectName("feature name", ref.feature));
  return ref;
}

absl::StatusOr<int64_t> ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty duration");
  int64_t unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      unit = 0;  // plain seconds
  }
  if (unit != 0) digits.remove_suffix(1);
  int64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || count < 0) {
    return absl::InvalidArgumentError(
        Cat("duration \"", text, "\" must be a count with s, m, h, d or w, e.g. 30d"));
  }
  if (unit == 0) unit = 1;
  if (count > kMaxDurationSeconds / unit) {
    return absl::InvalidArgumentError(Cat("duration \"", text, "\" is longer than 100 years"));
  }
  return count * unit;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds == 0) return "0";
  for (const auto& [unit, suffix] :
       {std::pair<int64_t, char>{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}}) {
    if (seconds % unit == 0) return Cat(seconds / unit, std::string(1, suffix));
  }
  return Cat(seconds, "s");
}

absl::StatusOr<FeatureDefinitions> ParseFeatureDefinitions(std::string_view yaml,
                                                           std::string_view source_name) {
  RETURN_IF_ERROR(core::CheckYamlUtf8(yaml, source_name));
  const Locator at(source_name);
  // yaml-cpp reports errors by throwing; they stop here.
  try {
    return ParseRoot(at, YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(source_name, ": ", e.what()));
  }
}

}  // namespace ferry::features
