#include "registry/model_record.h"

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "tracking/run_record.h"

namespace ferry::registry {
namespace {

using core::Cat;
using nlohmann::json;

constexpr size_t kMaxNameLength = 128;

constexpr store::Migration kMigrations[] = {
    {1, "create registered models, versions, tags, aliases and alias history",
     "CREATE TABLE registered_models ("
     " name TEXT PRIMARY KEY,"
     " description TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL,"
     // The highest version ever registered: numbers are never reused.
     " last_version BIGINT NOT NULL);"
     "CREATE TABLE registered_model_tags ("
     " name TEXT NOT NULL REFERENCES registered_models (name),"
     " key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (name, key));"
     "CREATE TABLE model_versions ("
     " name TEXT NOT NULL REFERENCES registered_models (name),"
     " version BIGINT NOT NULL,"
     " run_id TEXT NOT NULL,"
     " artifact_digest TEXT NOT NULL,"
     " artifact_size BIGINT NOT NULL,"
     " flavor TEXT NOT NULL,"
     " signature_json TEXT NOT NULL,"
     " num_features BIGINT NOT NULL,"
     " feature_names_json TEXT NOT NULL,"
     " metrics_json TEXT NOT NULL,"
     " reference_dataset TEXT NOT NULL,"
     " reference_profile TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " description TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " created_by TEXT NOT NULL,"
     " PRIMARY KEY (name, version));"
     "CREATE TABLE model_version_tags ("
     " name TEXT NOT NULL,"
     " version BIGINT NOT NULL,"
     " key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (name, version, key),"
     " FOREIGN KEY (name, version) REFERENCES model_versions (name, version));"
     "CREATE TABLE model_aliases ("
     " name TEXT NOT NULL,"
     " alias TEXT NOT NULL,"
     " version BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL,"
     " updated_by TEXT NOT NULL,"
     " PRIMARY KEY (name, alias),"
     " FOREIGN KEY (name, version) REFERENCES model_versions (name, version));"
     // Deleting a version asks which aliases point at it.
     "CREATE INDEX model_aliases_by_version ON model_aliases (name, version);"
     "CREATE TABLE model_alias_history ("
     " name TEXT NOT NULL,"
     " alias TEXT NOT NULL,"
     " seq BIGINT NOT NULL,"
     " version BIGINT,"
     " previous_version BIGINT,"
     " actor TEXT NOT NULL,"
     " reason TEXT NOT NULL,"
     " changed_at BIGINT NOT NULL,"
     " PRIMARY KEY (name, alias, seq));"},
    {2, "create model holds",
     // What holds a version or an alias from deletion (model_holds.h): a hold names a
     // version (alias '') or an alias (version 0), never both.
     "CREATE TABLE model_holds ("
     " holder TEXT NOT NULL,"
     " name TEXT NOT NULL REFERENCES registered_models (name),"
     " version BIGINT NOT NULL,"
     " alias TEXT NOT NULL,"
     " relation TEXT NOT NULL,"
     " release_hint TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (holder, name, version, alias),"
     " CHECK ((version = 0) <> (alias = '')));"
     // Deleting a version or an alias asks who holds it.
     "CREATE INDEX model_holds_by_target ON model_holds (name, version, alias);"},
};

json FieldsToJson(const std::vector<SignatureField>& fields) {
  json out = json::array();
  for (const SignatureField& f : fields) {
    out.push_back({{"name", f.name}, {"type", table::ColumnTypeName(f.type)}});
  }
  return out;
}

absl::StatusOr<std::vector<SignatureField>> FieldsFromJson(const json& array,
                                                           std::string_view key) {
  if (!array.is_array()) return absl::InvalidArgumentError(Cat("signature: ", key, " must be a list"));
  std::vector<SignatureField> fields;
  std::set<std::string> names;
  for (size_t i = 0; i < array.size(); ++i) {
    const json& item = array[i];
    const std::string where = Cat("signature: ", key, "[", i, "]");
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      return absl::InvalidArgumentError(Cat(where, ": expected {\"name\": ..., \"type\": ...}"));
    }
    for (const auto& [k, v] : item.items()) {
      if (k != "name" && k != "type") {
        return absl::InvalidArgumentError(Cat(where, ": unknown key \"", k, "\""));
      }
    }
    SignatureField field;
    field.name = item["name"].get<std::string>();
    if (field.name.empty()) return absl::InvalidArgumentError(Cat(where, ": empty name"));
    if (!names.insert(field.name).second) {
      return absl::InvalidArgumentError(Cat(where, ": \"", field.name, "\" appears twice"));
    }
    const std::string type = item.value("type", "float64");
    std::optional<table::ColumnType> parsed = table::ParseColumnType(type);
    if (!parsed) {
      return absl::InvalidArgumentError(Cat(where, ": unknown type \"", type,
                                            "\" (int64, float64, bool, timestamp, string)"));
    }
    field.type = *parsed;
    fields.push_back(std::move(field));
  }
  return fields;
}

template <typename T>
T ParseStored(const std::string& text, T fallback) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fallback;
  try {
    return j.get<T>();
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

std::string ModelRef::ToString() const {
  if (version) return Cat(name, "@", *version);
  if (alias) return Cat(name, "@", *alias);
  return name;
}

std::string ModelVersion::Ref() const { return Cat(name, "@", version); }

absl::Status ValidateIdentifier(std::string_view what, std::string_view text) {
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (text.empty() || text.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(Cat(what, " must be 1 to ", kMaxNameLength,
                                          " characters, got \"", text.substr(0, 40), "\""));
  }
  bool ok = alnum(text.front());
  for (char c : text) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return absl::InvalidArgumentError(Cat(what, " \"", text, "\" must start with a letter or"
                                          " digit and hold only letters, digits, '.', '_', '-'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateModelName(std::string_view name) {
  return ValidateIdentifier("model name", name);
}

absl::Status ValidateAlias(std::string_view alias) {
  RETURN_IF_ERROR(ValidateIdentifier("alias", alias));
  if (alias.find_first_not_of("0123456789") == std::string_view::npos) {
    return absl::InvalidArgumentError(
        Cat("alias \"", alias, "\" is all digits, which would read as a version number"));
  }
  if (alias == "latest") return absl::InvalidArgumentError("alias \"latest\" is reserved");
  return absl::OkStatus();
}

absl::StatusOr<ModelRef> ParseModelRef(std::string_view text) {
  ModelRef ref;
  const size_t at = text.find('@');
  ref.name = std::string(text.substr(0, at));
  RETURN_IF_ERROR(ValidateModelName(ref.name));
  if (at == std::string_view::npos) return ref;
  const std::string_view rest = text.substr(at + 1);
  if (rest == "latest") return ref;
  int64_t version = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), version);
  if (ec == std::errc() && end == rest.data() + rest.size()) {
    if (version < 1) {
      return absl::InvalidArgumentError(Cat("model version must be 1 or more in \"", text, "\""));
    }
    ref.version = version;
    return ref;
  }
  RETURN_IF_ERROR(ValidateAlias(rest));
  ref.alias = std::string(rest);
  return ref;
}

absl::StatusOr<Signature> ParseSignature(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("signature: not a JSON object");
  }
  Signature signature;
  for (const auto& [key, value] : doc.items()) {
    if (key == "feature_service") {
      if (value.is_null()) continue;
      if (!value.is_string()) {
        return absl::InvalidArgumentError("signature: feature_service must be a string");
      }
      signature.feature_service = value.get<std::string>();
    } else if (key == "inputs") {
      ASSIGN_OR_RETURN(signature.inputs, FieldsFromJson(value, "inputs"));
    } else if (key == "outputs") {
      ASSIGN_OR_RETURN(signature.outputs, FieldsFromJson(value, "outputs"));
    } else {
      return absl::InvalidArgumentError(Cat("signature: unknown key \"", key,
                                            "\" (feature_service, inputs, outputs)"));
    }
  }
  return signature;
}

json SignatureToJson(const Signature& s) {
  return json{{"feature_service", s.feature_service.empty() ? json(nullptr) : json(s.feature_service)},
              {"inputs", FieldsToJson(s.inputs)},
              {"outputs", FieldsToJson(s.outputs)}};
}

json ModelVersionToJson(const ModelVersion& v) {
  json metrics = json::object();
  for (const auto& [key, value] : v.metrics) metrics[key] = tracking::MetricValueToJson(value);
  const auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return json{{"name", v.name},
              {"version", v.version},
              {"ref", v.Ref()},
              {"run_id", or_null(v.run_id)},
              {"artifact_digest", v.artifact_digest},
              {"artifact_size", v.artifact_size},
              {"flavor", v.flavor},
              {"signature", SignatureToJson(v.signature)},
              {"num_features", v.num_features},
              {"feature_names", v.feature_names},
              {"metrics", metrics},
              {"reference", {{"dataset_version", or_null(v.reference_dataset)},
                             {"profile", or_null(v.reference_profile)}}},
              {"status", v.status},
              {"description", v.description},
              {"created_at", core::FormatTimestamp(v.created_at)},
              {"created_by", v.created_by},
              {"tags", v.tags},
              {"aliases", v.aliases}};
}

json RegisteredModelToJson(const RegisteredModel& m) {
  return json{{"name", m.name},
              {"description", m.description},
              {"created_at", core::FormatTimestamp(m.created_at)},
              {"updated_at", core::FormatTimestamp(m.updated_at)},
              {"latest_version", m.latest_version == 0 ? json(nullptr) : json(m.latest_version)},
              {"versions", m.versions},
              {"tags", m.tags},
              {"aliases", m.aliases}};
}

json AliasChangeToJson(const AliasChange& c) {
  return json{{"alias", c.alias},
              {"version", c.version ? json(*c.version) : json(nullptr)},
              {"previous_version", c.previous ? json(*c.previous) : json(nullptr)},
              {"actor", c.actor},
              {"reason", c.reason},
              {"at", core::FormatTimestamp(c.at)}};
}

std::span<const store::Migration> RegistryMigrations() { return kMigrations; }

const char kModelVersionColumns[] =
    "name, version, run_id, artifact_digest, artifact_size, flavor, signature_json,"
    " num_features, feature_names_json, metrics_json, reference_dataset, reference_profile,"
    " status, description, created_at, created_by";

absl::StatusOr<ModelVersion> ModelVersionFromRow(const store::Row& row) {
  ModelVersion v;
  v.name = row.Text(0);
  v.version = row.Int(1);
  v.run_id = row.Text(2);
  v.artifact_digest = row.Text(3);
  v.artifact_size = row.Int(4);
  v.flavor = row.Text(5);
  absl::StatusOr<Signature> signature = ParseSignature(row.Text(6));
  if (!signature.ok()) {
    return absl::DataLossError(Cat("model ", v.Ref(), ": stored signature: ",
                                   core::View(signature.status().message())));
  }
  v.signature = *std::move(signature);
  v.num_features = row.Int(7);
  v.feature_names = ParseStored<std::vector<std::string>>(row.Text(8), {});
  json metrics = json::parse(row.Text(9), nullptr, /*allow_exceptions=*/false);
  if (metrics.is_object()) {
    for (const auto& [key, value] : metrics.items()) {
      absl::StatusOr<double> number = tracking::MetricValueFromJson(value);
      if (number.ok()) v.metrics[key] = *number;
    }
  }
  v.reference_dataset = row.Text(10);
  v.reference_profile = row.Text(11);
  v.status = row.Text(12);
  v.description = row.Text(13);
  v.created_at = row.Int(14);
  v.created_by = row.Text(15);
  return v;
}

}  // namespace ferry::registry
