#include "features/feature_registry.h"

#include <set>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/change_feed.h"
#include "store/migrations.h"

namespace ferry::features {
namespace {

using core::Cat;
using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create feature_objects",
     "CREATE TABLE feature_objects ("
     " kind TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " version BIGINT NOT NULL,"
     " spec TEXT,"
     " spec_sha256 TEXT NOT NULL,"
     " applied_at BIGINT NOT NULL,"
     " PRIMARY KEY (kind, name, version));"
     "CREATE TABLE feature_tables ("
     " source_manifest TEXT NOT NULL,"
     " layout_sha256 TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " manifest TEXT NOT NULL,"
     " row_count BIGINT NOT NULL,"
     " dropped_rows BIGINT NOT NULL,"
     " group_count BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (source_manifest, layout_sha256));"},
};

// The latest version of every object, deleted ones included.
constexpr std::string_view kLatestQuery =
    "SELECT o.kind, o.name, o.version, o.spec FROM feature_objects o WHERE o.version ="
    " (SELECT MAX(m.version) FROM feature_objects m WHERE m.kind = o.kind AND m.name = o.name)";

struct Stored {
  int64_t version = 0;
  std::optional<std::string> spec;  // absent: deleted
};
using Snapshot = std::map<std::pair<ObjectKind, std::string>, Stored>;

absl::StatusOr<Snapshot> LoadSnapshot(Transaction& tx) {
  ASSIGN_OR_RETURN(auto rows, tx.Query(kLatestQuery));
  Snapshot snapshot;
  for (const Row& row : rows) {
    std::optional<ObjectKind> kind = ParseObjectKind(row.Text(0));
    if (!kind) return absl::DataLossError(Cat("unknown feature object kind ", row.Text(0)));
    Stored stored{row.Int(2), std::nullopt};
    if (!row.IsNull(3)) stored.spec = row.Text(3);
    snapshot[{*kind, row.Text(1)}] = std::move(stored);
  }
  return snapshot;
}

absl::StatusOr<FeatureDefinitions> Decode(const Snapshot& snapshot) {
  FeatureDefinitions defs;
  for (const auto& [key, stored] : snapshot) {
    if (!stored.spec) continue;
    switch (key.first) {
      case ObjectKind::kEntity: {
        ASSIGN_OR_RETURN(Entity e, EntityFromJson(*stored.spec));
        defs.entities.push_back(std::move(e));
        break;
      }
      case ObjectKind::kFeatureView: {
        ASSIGN_OR_RETURN(FeatureView v, FeatureViewFromJson(*stored.spec));
        defs.views.push_back(std::move(v));
        break;
      }
      case ObjectKind::kFeatureService: {
        ASSIGN_OR_RETURN(FeatureService s, FeatureServiceFromJson(*stored.spec));
        defs.services.push_back(std::move(s));
        break;
      }
    }
  }
  return defs;
}

template <typename T>
const T* FindByName(const std::vector<T>& objects, std::string_view name) {
  for (const T& object : objects) {
    if (object.name == name) return &object;
  }
  return nullptr;
}

absl::StatusOr<std::vector<JoinKey>> KeysOf(const FeatureView& view,
                                            const std::vector<Entity>& entities) {
  std::vector<JoinKey> keys;
  for (const std::string& name : view.entities) {
    const Entity* entity = FindByName(entities, name);
    if (!entity) {
      return absl::InvalidArgumentError(
          Cat("feature view \"", view.name, "\": entity \"", name, "\" is not defined"));
    }
    for (const JoinKey& key : entity->join_keys) {
      for (const JoinKey& other : keys) {
        if (other.name == key.name) {
          return absl::InvalidArgumentError(Cat("feature view \"", view.name, "\": join key \"",
                                                key.name, "\" comes from two entities"));
        }
      }
      keys.push_back(key);
    }
  }
  return keys;
}

// Checks the state an apply would leave (see the header).
absl::Status ValidateState(const FeatureDefinitions& state, const dataset::DatasetStore& datasets) {
  std::map<std::string, table::Schema> schemas;  // by source reference: each read once
  for (const FeatureView& view : state.views) {
    ASSIGN_OR_RETURN(std::vector<JoinKey> keys, KeysOf(view, state.entities));
    auto it = schemas.find(view.source);
    if (it == schemas.end()) {
      ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(view.source));
      absl::StatusOr<dataset::VersionRecord> version = datasets.Resolve(ref);
      if (!version.ok()) {
        return absl::Status(version.status().code(),
                            Cat("feature view \"", view.name, "\": source: ",
                                core::View(version.status().message())));
      }
      if (!version->profile) {
        return absl::InvalidArgumentError(Cat("feature view \"", view.name, "\": source ",
                                              version->Ref(),
                                              " is not a table (CSV or JSON Lines)"));
      }
      ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(*version));
      it = schemas.emplace(view.source, profile.schema()).first;
    }
    RETURN_IF_ERROR(ValidateViewSchema(view, keys, it->second, view.source));
  }
  for (const FeatureService& service : state.services) {
    for (const std::string& text : service.features) {
      ASSIGN_OR_RETURN(FeatureRef ref, ParseFeatureRef(text, true));
      const FeatureView* view = FindByName(state.views, ref.view);
      if (!view) {
        return absl::InvalidArgumentError(Cat("feature service \"", service.name,
                                              "\": feature view \"", ref.view,
                                              "\" is not defined"));
      }
      if (ref.feature != "*" && !view->FindFeature(ref.feature)) {
        return absl::InvalidArgumentError(Cat("feature service \"", service.name, "\": view \"",
                                              ref.view, "\" has no feature \"", ref.feature,
                                              "\""));
      }
    }
  }
  return absl::OkStatus();
}

std::string SpecOf(const FeatureDefinitions& defs, ObjectKind kind, size_t i) {
  switch (kind) {
    case ObjectKind::kEntity:
      return ToJson(defs.entities[i]);
    case ObjectKind::kFeatureView:
      return ToJson(defs.views[i]);
    case ObjectKind::kFeatureService:
      return ToJson(defs.services[i]);
  }
  return {};
}

size_t CountOf(const FeatureDefinitions& defs, ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity:
      return defs.entities.size();
    case ObjectKind::kFeatureView:
      return defs.views.size();
    case ObjectKind::kFeatureService:
      return defs.services.size();
  }
  return 0;
}

std::string NameOf(const FeatureDefinitions& defs, ObjectKind kind, size_t i) {
  switch (kind) {
    case ObjectKind::kEntity:
      return defs.entities[i].name;
    case ObjectKind::kFeatureView:
      return defs.views[i].name;
    case ObjectKind::kFeatureService:
      return defs.services[i].name;
  }
  return {};
}

constexpr ObjectKind kKinds[] = {ObjectKind::kEntity, ObjectKind::kFeatureView,
                                 ObjectKind::kFeatureService};

}  // namespace

std::string_view ChangeActionName(ChangeAction action) {
  switch (action) {
    case ChangeAction::kCreated:
      return "created";
    case ChangeAction::kUpdated:
      return "updated";
    case ChangeAction::kUnchanged:
      return "unchanged";
    case ChangeAction::kDeleted:
      return "deleted";
  }
  return "unknown";
}

absl::Status ValidateViewSchema(const FeatureView& view, const std::vector<JoinKey>& join_keys,
                                const table::Schema& schema, std::string_view source_label) {
  const auto column = [&](std::string_view field, std::string_view name)
      -> absl::StatusOr<const table::ColumnSchema*> {
    std::optional<size_t> index = schema.Find(name);
    if (!index) {
      std::string names;
      for (const table::ColumnSchema& c : schema.columns) {
        names += Cat(names.empty() ? "" : ", ", c.name);
      }
      return absl::InvalidArgumentError(Cat("feature view \"", view.name, "\": ", field, " \"",
                                            name, "\": ", source_label, " has no such column",
                                            " (columns: ", names, ")"));
    }
    return &schema.columns[*index];
  };
  const auto mismatch = [&](std::string_view field, std::string_view name,
                            table::ColumnType declared, table::ColumnType actual) {
    return absl::InvalidArgumentError(
        Cat("feature view \"", view.name, "\": ", field, " \"", name, "\" is declared ",
            table::ColumnTypeName(declared), " but ", source_label, " has it as ",
            table::ColumnTypeName(actual)));
  };
  for (const JoinKey& key : join_keys) {
    ASSIGN_OR_RETURN(const table::ColumnSchema* c, column("join key", key.name));
    if (c->type != key.type) return mismatch("join key", key.name, key.type, c->type);
  }
  for (const auto& [field, name] : {std::pair<std::string_view, const std::string&>{
                                        "timestamp_field", view.timestamp_field},
                                    {"created_timestamp_field", view.created_timestamp_field}}) {
    if (name.empty()) continue;
    ASSIGN_OR_RETURN(const table::ColumnSchema* c, column(field, name));
    if (c->type != table::ColumnType::kTimestamp) {
      return absl::InvalidArgumentError(
          Cat("feature view \"", view.name, "\": ", field, " \"", name, "\" must be a timestamp"
              " column, but ", source_label, " has it as ", table::ColumnTypeName(c->type)));
    }
  }
  for (const Feature& feature : view.features) {
    for (const JoinKey& key : join_keys) {
      if (key.name == feature.name) {
        return absl::InvalidArgumentError(Cat("feature view \"", view.name, "\": feature \"",
                                              feature.name, "\" is also a join key"));
      }
    }
    ASSIGN_OR_RETURN(const table::ColumnSchema* c, column("feature", feature.name));
    const bool widened =
        feature.type == table::ColumnType::kFloat64 && c->type == table::ColumnType::kInt64;
    if (c->type != feature.type && !widened) {
      return mismatch("feature", feature.name, feature.type, c->type);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FeatureRegistry>> FeatureRegistry::Open(
    store::Workspace& workspace, const dataset::DatasetStore& datasets) {
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), "features", kMigrations,
                                         workspace.clock().NowMicros())
                      .status());
  return std::unique_ptr<FeatureRegistry>(new FeatureRegistry(workspace, datasets));
}

absl::StatusOr<std::vector<ObjectChange>> FeatureRegistry::Apply(
    const FeatureDefinitions& definitions, const ApplyOptions& options) {
  Snapshot before;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(before, LoadSnapshot(tx));
    return absl::OkStatus();
  }));

  // The state after the apply: the file's objects over what is registered.
  Snapshot after = before;
  std::vector<ObjectChange> changes;
  std::set<std::pair<ObjectKind, std::string>> named;
  for (ObjectKind kind : kKinds) {
    for (size_t i = 0; i < CountOf(definitions, kind); ++i) {
      std::string name = NameOf(definitions, kind, i);
      std::string spec = SpecOf(definitions, kind, i);
      named.insert({kind, name});
      Stored& stored = after[{kind, name}];
      ObjectChange change{kind, name, ChangeAction::kUnchanged, stored.version};
      if (stored.spec != spec) {
        change.action = stored.spec ? ChangeAction::kUpdated : ChangeAction::kCreated;
        change.version = ++stored.version;
        stored.spec = std::move(spec);
      }
      changes.push_back(std::move(change));
    }
  }
  if (options.prune) {
    for (auto& [key, stored] : after) {
      if (!stored.spec || named.contains(key)) continue;
      stored.spec.reset();
      changes.push_back({key.first, key.second, ChangeAction::kDeleted, ++stored.version});
    }
  }
  ASSIGN_OR_RETURN(FeatureDefinitions state, Decode(after));
  RETURN_IF_ERROR(ValidateState(state, datasets_));
  if (options.dry_run) return changes;

  const int64_t now = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Snapshot current, LoadSnapshot(tx));
    for (const ObjectChange& change : changes) {
      if (change.action == ChangeAction::kUnchanged) continue;
      const std::pair<ObjectKind, std::string> key{change.kind, change.name};
      auto was = before.find(key);
      auto is = current.find(key);
      const int64_t seen = was == before.end() ? 0 : was->second.version;
      const int64_t now_version = is == current.end() ? 0 : is->second.version;
      if (seen != now_version) {
        return absl::AbortedError(Cat(ObjectKindName(change.kind), " \"", change.name,
                                      "\" changed while applying; apply again"));
      }
      const Stored& stored = after.at(key);
      store::Value spec = stored.spec ? store::Value(*stored.spec) : store::Value();
      const std::string sha = stored.spec ? core::Sha256::Of(*stored.spec).ToHex() : "";
      RETURN_IF_ERROR(tx.Execute("INSERT INTO feature_objects (kind, name, version, spec,"
                                 " spec_sha256, applied_at) VALUES (?, ?, ?, ?, ?, ?)",
                                 {ObjectKindName(change.kind), change.name, change.version, spec,
                                  sha, now})
                          .status());
    }
    // Served models read their features through the definitions: every server re-reads.
    if (!changes.empty()) RETURN_IF_ERROR(store::NotifyChange(tx, store::kServingChannel));
    return absl::OkStatus();
  }));
  return changes;
}

absl::StatusOr<FeatureDefinitions> FeatureRegistry::Current() const {
  Snapshot snapshot;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(snapshot, LoadSnapshot(tx));
    return absl::OkStatus();
  }));
  return Decode(snapshot);
}

namespace {

// The current spec of one object. NotFound when absent or deleted.
absl::StatusOr<std::string> CurrentSpec(store::MetadataStore& metadata, ObjectKind kind,
                                        std::string_view name, std::string_view what) {
  // A name no object can have is the caller's mistake (400), not a missing object (404).
  RETURN_IF_ERROR(ValidateObjectName(Cat(what, " name"), name));
  std::optional<std::string> spec;
  RETURN_IF_ERROR(metadata.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT spec FROM feature_objects WHERE kind = ?"
                                                " AND name = ? ORDER BY version DESC LIMIT 1",
                                                {ObjectKindName(kind), name}));
    if (row && !row->IsNull(0)) spec = row->Text(0);
    return absl::OkStatus();
  }));
  if (!spec) {
    return absl::NotFoundError(
        Cat("no ", what, " named \"", name, "\"; see `ferry features list`"));
  }
  return *spec;
}

}  // namespace

absl::StatusOr<Entity> FeatureRegistry::GetEntity(std::string_view name) const {
  ASSIGN_OR_RETURN(std::string spec,
                   CurrentSpec(workspace_.metadata(), ObjectKind::kEntity, name, "entity"));
  return EntityFromJson(spec);
}

absl::StatusOr<FeatureView> FeatureRegistry::GetView(std::string_view name) const {
  ASSIGN_OR_RETURN(std::string spec, CurrentSpec(workspace_.metadata(), ObjectKind::kFeatureView,
                                                 name, "feature view"));
  return FeatureViewFromJson(spec);
}

absl::StatusOr<FeatureService> FeatureRegistry::GetService(std::string_view name) const {
  ASSIGN_OR_RETURN(std::string spec, CurrentSpec(workspace_.metadata(),
                                                 ObjectKind::kFeatureService, name,
                                                 "feature service"));
  return FeatureServiceFromJson(spec);
}

absl::StatusOr<std::vector<ObjectVersion>> FeatureRegistry::History(ObjectKind kind,
                                                                    std::string_view name) const {
  std::vector<ObjectVersion> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT version, spec IS NULL, spec_sha256, applied_at"
                                         " FROM feature_objects WHERE kind = ? AND name = ?"
                                         " ORDER BY version",
                                         {ObjectKindName(kind), name}));
    for (const Row& row : rows) {
      out.push_back({row.Int(0), row.Int(1) != 0, row.Text(2), row.Int(3)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<JoinKey>> FeatureRegistry::JoinKeysOf(const FeatureView& view) const {
  std::vector<Entity> entities;
  for (const std::string& name : view.entities) {
    ASSIGN_OR_RETURN(Entity e, GetEntity(name));
    entities.push_back(std::move(e));
  }
  return KeysOf(view, entities);
}

absl::StatusOr<FeatureSelection> FeatureRegistry::Select(
    const std::vector<std::string>& refs) const {
  if (refs.empty()) return absl::InvalidArgumentError("no features requested");
  FeatureSelection selection;
  std::set<std::string> seen;
  for (const std::string& text : refs) {
    ASSIGN_OR_RETURN(FeatureRef ref, ParseFeatureRef(text, true));
    FeatureSelection::ViewPart* part = nullptr;
    for (FeatureSelection::ViewPart& p : selection.views) {
      if (p.view.name == ref.view) part = &p;
    }
    if (!part) {
      ASSIGN_OR_RETURN(FeatureView view, GetView(ref.view));
      ASSIGN_OR_RETURN(std::vector<JoinKey> keys, JoinKeysOf(view));
      selection.views.push_back({std::move(view), std::move(keys), {}});
      part = &selection.views.back();
    }
    std::vector<Feature> wanted;
    if (ref.feature == "*") {
      wanted = part->view.features;
    } else if (const Feature* f = part->view.FindFeature(ref.feature)) {
      wanted.push_back(*f);
    } else {
      return absl::NotFoundError(
          Cat("feature view \"", ref.view, "\" has no feature \"", ref.feature, "\""));
    }
    for (Feature& f : wanted) {
      FeatureRef one{ref.view, f.name};
      if (!seen.insert(one.ToString()).second) continue;
      selection.refs.push_back(one);
      part->features.push_back(std::move(f));
    }
  }
  return selection;
}

absl::StatusOr<FeatureSelection> FeatureRegistry::SelectService(std::string_view service) const {
  ASSIGN_OR_RETURN(FeatureService s, GetService(service));
  return Select(s.features);
}

}  // namespace ferry::features
