#include "registry/model_queries.h"

#include "core/status.h"
#include "core/strings.h"

namespace ferry::registry {

using core::Cat;
using store::Row;

absl::StatusOr<RegisteredModel> LoadModel(store::Transaction& tx, std::string_view name) {
  // A name no model can have is the caller's mistake (400), not a missing model (404).
  RETURN_IF_ERROR(ValidateModelName(name));
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT name, description, created_at, updated_at,"
                                              " (SELECT MAX(version) FROM model_versions v"
                                              " WHERE v.name = m.name), (SELECT COUNT(*) FROM"
                                              " model_versions v WHERE v.name = m.name)"
                                              " FROM registered_models m WHERE name = ?",
                                              {name}));
  if (!row) {
    return absl::NotFoundError(Cat("no model named \"", name, "\"; see `ferry models list`"));
  }
  RegisteredModel m;
  m.name = row->Text(0);
  m.description = row->Text(1);
  m.created_at = row->Int(2);
  m.updated_at = row->Int(3);
  m.latest_version = row->OptionalInt(4).value_or(0);
  m.versions = row->Int(5);
  ASSIGN_OR_RETURN(auto tags, tx.Query("SELECT key, value FROM registered_model_tags"
                                       " WHERE name = ? ORDER BY key",
                                       {name}));
  for (const Row& t : tags) m.tags[t.Text(0)] = t.Text(1);
  ASSIGN_OR_RETURN(auto aliases, tx.Query("SELECT alias, version FROM model_aliases"
                                          " WHERE name = ? ORDER BY alias",
                                          {name}));
  for (const Row& a : aliases) m.aliases[a.Text(0)] = a.Int(1);
  return m;
}

absl::StatusOr<ModelVersion> LoadVersion(store::Transaction& tx, std::string_view name,
                                         int64_t version) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional(Cat("SELECT ", kModelVersionColumns,
                                                  " FROM model_versions WHERE name = ?"
                                                  " AND version = ?"),
                                              {name, version}));
  if (!row) {
    return absl::NotFoundError(Cat("model \"", name, "\" has no version ", version,
                                   "; see `ferry models show ", name, "`"));
  }
  ASSIGN_OR_RETURN(ModelVersion v, ModelVersionFromRow(*row));
  ASSIGN_OR_RETURN(auto tags, tx.Query("SELECT key, value FROM model_version_tags"
                                       " WHERE name = ? AND version = ? ORDER BY key",
                                       {name, version}));
  for (const Row& t : tags) v.tags[t.Text(0)] = t.Text(1);
  ASSIGN_OR_RETURN(auto aliases, tx.Query("SELECT alias FROM model_aliases WHERE name = ?"
                                          " AND version = ? ORDER BY alias",
                                          {name, version}));
  for (const Row& a : aliases) v.aliases.push_back(a.Text(0));
  return v;
}

absl::StatusOr<int64_t> ResolveNumber(store::Transaction& tx, const ModelRef& ref) {
  ASSIGN_OR_RETURN(RegisteredModel model, LoadModel(tx, ref.name));
  if (ref.version) return *ref.version;
  if (ref.alias) {
    auto it = model.aliases.find(*ref.alias);
    if (it == model.aliases.end()) {
      return absl::NotFoundError(Cat("model \"", ref.name, "\" has no alias \"", *ref.alias,
                                     "\""));
    }
    return it->second;
  }
  if (model.latest_version == 0) {
    return absl::NotFoundError(Cat("model \"", ref.name, "\" has no versions"));
  }
  return model.latest_version;
}

}  // namespace ferry::registry
