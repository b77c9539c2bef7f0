// `ferry features apply|list|show`: feature definitions and what they point at.

#include <nlohmann/json.hpp>
#include <ostream>

#include "api/feature_json.h"
#include "cli/commands.h"
#include "cli/features_commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/historical_retrieval.h"
#include "features/feature_table.h"
#include "features/view_status.h"

namespace ferry::cli {
namespace {

using features::ObjectKind;
using nlohmann::json;

constexpr size_t kMaxDefinitionsBytes = size_t{16} << 20;

std::string Time(const std::optional<int64_t>& micros) {
  return micros ? core::FormatTimestamp(*micros).substr(0, 19) : std::string("-");
}

absl::Status RunApply(CliContext& context, const std::string& file, bool prune, bool dry_run,
                      bool prepare, bool as_json) {
  ASSIGN_OR_RETURN(std::string text, core::ReadFileToString(context.env().current_dir / file,
                                                            kMaxDefinitionsBytes));
  ASSIGN_OR_RETURN(features::FeatureDefinitions defs,
                   features::ParseFeatureDefinitions(text, file));
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  ASSIGN_OR_RETURN(auto changes, opened.registry->Apply(defs, {prune, dry_run}));
  std::vector<features::PreparedTable> tables;
  if (prepare && !dry_run) {
    ASSIGN_OR_RETURN(tables, features::PrepareFeatureTables(*opened.workspace, *opened.datasets,
                                                            *opened.registry));
  }
  if (as_json) {
    json out = json::array();
    for (const auto& c : changes) {
      out.push_back({{"kind", features::ObjectKindName(c.kind)},
                     {"name", c.name},
                     {"action", features::ChangeActionName(c.action)},
                     {"version", c.version}});
    }
    json prepared = json::array();
    for (const auto& t : tables) {
      prepared.push_back({{"view", t.view},
                          {"source", t.table.source},
                          {"rows", t.table.rows},
                          {"built", t.table.built},
                          {"seconds", t.seconds}});
    }
    context.out() << json{{"dry_run", dry_run}, {"changes", out}, {"join_tables", prepared}}.dump()
                  << "\n";
    return absl::OkStatus();
  }
  int changed = 0;
  for (const auto& c : changes) {
    if (c.action == features::ChangeAction::kUnchanged) continue;
    ++changed;
    context.out() << features::ChangeActionName(c.action) << " "
                  << features::ObjectKindName(c.kind) << " " << c.name << " (version "
                  << c.version << ")\n";
  }
  if (changed == 0) {
    context.out() << "no changes: " << changes.size() << " definitions already registered\n";
  } else if (dry_run) {
    context.out() << "dry run: nothing was written\n";
  }
  for (const auto& t : tables) {
    if (!t.table.built) continue;
    context.out() << "join table for " << t.view << ": " << t.table.source << ", "
                  << t.table.rows << " rows sorted by key and time in "
                  << core::Cat(static_cast<int64_t>(t.seconds * 1000)) << " ms\n";
  }
  return absl::OkStatus();
}

absl::Status RunList(CliContext& context, bool as_json) {
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  ASSIGN_OR_RETURN(features::FeatureDefinitions defs, opened.registry->Current());
  std::vector<features::ViewStatus> statuses;
  for (const features::FeatureView& v : defs.views) {
    ASSIGN_OR_RETURN(features::ViewStatus s,
                     features::DescribeView(*opened.workspace, *opened.datasets, v));
    statuses.push_back(std::move(s));
  }
  if (as_json) {
    json entities = json::array();
    for (const auto& e : defs.entities) entities.push_back(json::parse(features::ToJson(e)));
    json views = json::array();
    for (size_t i = 0; i < defs.views.size(); ++i) {
      json v = json::parse(features::ToJson(defs.views[i]));
      v["source_version"] = statuses[i].source_version;
      v["newest_event"] = statuses[i].newest_event
                              ? json(core::FormatTimestamp(*statuses[i].newest_event))
                              : json(nullptr);
      v["last_materialization"] = api::LastMaterializationJson(statuses[i].last_materialization);
      views.push_back(std::move(v));
    }
    json services = json::array();
    for (const auto& s : defs.services) services.push_back(json::parse(features::ToJson(s)));
    context.out() << json{{"entities", entities}, {"feature_views", views},
                          {"feature_services", services}}
                         .dump()
                  << "\n";
    return absl::OkStatus();
  }
  if (defs.entities.empty() && defs.views.empty() && defs.services.empty()) {
    context.out() << "no features yet; define them in YAML and run `ferry features apply FILE`\n";
    return absl::OkStatus();
  }
  if (!defs.entities.empty()) {
    std::vector<std::vector<std::string>> rows = {{"ENTITY", "JOIN KEYS"}};
    for (const auto& e : defs.entities) {
      std::string keys;
      for (const auto& k : e.join_keys) {
        keys += core::Cat(keys.empty() ? "" : ", ", k.name, " (", table::ColumnTypeName(k.type), ")");
      }
      rows.push_back({e.name, keys});
    }
    PrintTable(context.out(), rows);
  }
  if (!defs.views.empty()) {
    context.out() << "\n";
    std::vector<std::vector<std::string>> rows = {
        {"FEATURE VIEW", "ENTITIES", "SOURCE", "FEATURES", "TTL", "NEWEST EVENT", "MATERIALIZED"}};
    for (size_t i = 0; i < defs.views.size(); ++i) {
      const auto& v = defs.views[i];
      std::string entities;
      for (const auto& e : v.entities) entities += core::Cat(entities.empty() ? "" : ",", e);
      const std::string source =
          statuses[i].source_version.empty() ? core::Cat(v.source, " (missing)")
          : statuses[i].source_version == v.source
              ? v.source
              : core::Cat(v.source, " -> ", statuses[i].source_version);
      rows.push_back({v.name, entities, source, core::Cat(v.features.size()),
                      v.ttl_seconds ? features::FormatDuration(v.ttl_seconds) : "-",
                      Time(statuses[i].newest_event),
                      v.online ? MaterializationText(statuses[i].last_materialization)
                               : "offline only"});
    }
    PrintTable(context.out(), rows);
  }
  if (!defs.services.empty()) {
    context.out() << "\n";
    std::vector<std::vector<std::string>> rows = {{"FEATURE SERVICE", "FEATURES"}};
    for (const auto& s : defs.services) {
      std::string list;
      for (const auto& f : s.features) list += core::Cat(list.empty() ? "" : ", ", f);
      rows.push_back({s.name, list});
    }
    PrintTable(context.out(), rows);
  }
  return absl::OkStatus();
}

absl::Status PrintHistory(CliContext& context, const OpenedFeatures& opened, ObjectKind kind,
                          const std::string& name) {
  ASSIGN_OR_RETURN(auto history, opened.registry->History(kind, name));
  context.out() << "history:\n";
  for (const auto& h : history) {
    context.out() << "  version " << h.version << "  "
                  << core::FormatTimestamp(h.applied_at).substr(0, 19) << "  "
                  << (h.deleted ? "deleted" : core::Cat("sha256:", h.spec_sha256.substr(0, 12)))
                  << "\n";
  }
  return absl::OkStatus();
}

absl::Status ShowView(CliContext& context, const OpenedFeatures& opened,
                      const features::FeatureView& v, bool as_json) {
  ASSIGN_OR_RETURN(auto keys, opened.registry->JoinKeysOf(v));
  ASSIGN_OR_RETURN(features::ViewStatus s,
                   features::DescribeView(*opened.workspace, *opened.datasets, v));
  if (as_json) {
    json out = json::parse(features::ToJson(v));
    out["kind"] = "feature_view";
    api::AddViewStatusJson(s, opened.workspace->clock().NowMicros(), out);
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = context.out();
  out << "feature view " << v.name << "\n";
  if (!v.description.empty()) out << "  " << v.description << "\n";
  std::string key_text;
  for (const auto& k : keys) key_text += core::Cat(key_text.empty() ? "" : ", ", k.name);
  std::string entities;
  for (const auto& e : v.entities) entities += core::Cat(entities.empty() ? "" : ", ", e);
  out << "entities:    " << entities << " (join keys: " << key_text << ")\n";
  out << "source:      " << v.source;
  if (!s.source_version.empty() && s.source_version != v.source) out << " -> " << s.source_version;
  if (!s.source_error.empty()) out << " (" << s.source_error << ")";
  out << "\n";
  out << "timestamps:  " << v.timestamp_field;
  if (!v.created_timestamp_field.empty()) out << " (created: " << v.created_timestamp_field << ")";
  out << "\n";
  out << "ttl:         " << (v.ttl_seconds ? features::FormatDuration(v.ttl_seconds) : "none")
      << "\n";
  out << "online:      " << (v.online ? "yes" : "no") << "\n";
  if (v.online) {
    out << "materialized: "
        << MaterializationText(s.last_materialization,
                               features::FeatureTableLayout::Of(v, keys).Hash())
        << "\n";
  }
  out << "events:      " << Time(s.oldest_event) << " .. " << Time(s.newest_event);
  if (s.source_rows) out << " (" << *s.source_rows << " rows)";
  out << "\n";
  std::vector<std::vector<std::string>> rows = {{"FEATURE", "TYPE"}};
  for (const auto& f : v.features) rows.push_back({f.name, std::string(table::ColumnTypeName(f.type))});
  PrintTable(out, rows);
  out << "consumers:";
  if (s.consumers.empty()) out << " none yet";
  out << "\n";
  for (const auto& c : s.consumers) out << "  " << c.kind << " " << c.id << "\n";
  return PrintHistory(context, opened, ObjectKind::kFeatureView, v.name);
}

absl::Status RunShow(CliContext& context, const std::string& name, bool as_json) {
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  if (absl::StatusOr<features::FeatureView> v = opened.registry->GetView(name); v.ok()) {
    return ShowView(context, opened, *v, as_json);
  }
  if (absl::StatusOr<features::Entity> e = opened.registry->GetEntity(name); e.ok()) {
    if (as_json) {
      json out = json::parse(features::ToJson(*e));
      out["kind"] = "entity";
      context.out() << out.dump() << "\n";
      return absl::OkStatus();
    }
    context.out() << "entity " << e->name << "\n";
    if (!e->description.empty()) context.out() << "  " << e->description << "\n";
    for (const auto& k : e->join_keys) {
      context.out() << "join key:    " << k.name << " (" << table::ColumnTypeName(k.type) << ")\n";
    }
    return PrintHistory(context, opened, ObjectKind::kEntity, e->name);
  }
  if (absl::StatusOr<features::FeatureService> s = opened.registry->GetService(name); s.ok()) {
    ASSIGN_OR_RETURN(features::FeatureSelection selection, opened.registry->Select(s->features));
    if (as_json) {
      json out = json::parse(features::ToJson(*s));
      out["kind"] = "feature_service";
      json resolved = json::array();
      for (const auto& r : selection.refs) resolved.push_back(r.ToString());
      out["resolved_features"] = resolved;
      context.out() << out.dump() << "\n";
      return absl::OkStatus();
    }
    context.out() << "feature service " << s->name << "\n";
    if (!s->description.empty()) context.out() << "  " << s->description << "\n";
    for (const auto& r : selection.refs) context.out() << "  " << r.ToString() << "\n";
    return PrintHistory(context, opened, ObjectKind::kFeatureService, s->name);
  }
  return absl::NotFoundError(core::Cat("no entity, feature view or feature service named \"",
                                       name, "\"; see `ferry features list`"));
}

}  // namespace

absl::StatusOr<OpenedFeatures> OpenFeatures(CliContext& context) {
  OpenedFeatures opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.datasets, dataset::DatasetStore::Open(*opened.workspace));
  ASSIGN_OR_RETURN(opened.registry,
                   features::FeatureRegistry::Open(*opened.workspace, *opened.datasets));
  return opened;
}

void AddFeaturesCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* features = app.add_subcommand(
      "features", "Feature store: apply definitions, list, show, historical retrieval, materialize, online");
  features->require_subcommand(1);

  CLI::App* apply = features->add_subcommand("apply", "Register the definitions in a YAML file");
  auto apply_file = std::make_shared<std::string>();
  auto apply_prune = std::make_shared<bool>(false);
  auto apply_dry = std::make_shared<bool>(false);
  auto apply_json = std::make_shared<bool>(false);
  auto apply_no_prepare = std::make_shared<bool>(false);
  apply->add_option("FILE", *apply_file, "Definitions (entities, feature_views, feature_services)")
      ->required();
  apply->add_flag("--prune", *apply_prune, "Delete registered objects the file does not define");
  apply->add_flag("--dry-run", *apply_dry, "Validate and show the changes without writing");
  apply->add_flag("--no-prepare", *apply_no_prepare,
                  "Do not build the views' join tables now (the first retrieval will)");
  apply->add_flag("--json", *apply_json, "Print JSON");
  apply->callback([&context, result, apply_file, apply_prune, apply_dry, apply_json,
                   apply_no_prepare] {
    *result = RunApply(context, *apply_file, *apply_prune, *apply_dry, !*apply_no_prepare,
                       *apply_json);
  });

  CLI::App* list = features->add_subcommand("list", "List entities, feature views and services");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, list_json] { *result = RunList(context, *list_json); });

  CLI::App* show = features->add_subcommand("show", "Show an entity, feature view or service");
  auto show_name = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show->add_option("NAME", *show_name, "Its name")->required();
  show->add_flag("--json", *show_json, "Print JSON");
  show->callback([&context, result, show_name, show_json] {
    *result = RunShow(context, *show_name, *show_json);
  });

  AddFeaturesHistoricalCommand(*features, context, result);
  AddFeaturesOnlineCommands(*features, context, result);
}

}  // namespace ferry::cli
