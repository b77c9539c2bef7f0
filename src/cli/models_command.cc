// `ferry models register|list|show|alias|tag|lineage|delete`: the model registry.

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/output.h"
#include "cli/registry_commands.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "registry/lineage_view.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
using registry::ModelVersion;

constexpr size_t kMaxSignatureBytes = size_t{1} << 20;

std::string Time(int64_t micros) { return core::FormatTimestamp(micros).substr(0, 19); }

struct RegisterFlags {
  std::string artifact;
  std::string signature_file;
  std::vector<std::string> tags;
  std::vector<std::string> metrics;
  std::string actor;
  registry::RegisterOptions options;
};

absl::Status RunRegister(CliContext& context, const std::string& name, RegisterFlags flags,
                         bool as_json) {
  registry::RegisterOptions& options = flags.options;
  options.actor = Actor(context, flags.actor);
  if (!flags.signature_file.empty()) {
    // Inline JSON, or the file holding it.
    std::string text = flags.signature_file;
    if (text.front() != '{') {
      ASSIGN_OR_RETURN(text, core::ReadFileToString(context.env().current_dir / flags.signature_file,
                                                    kMaxSignatureBytes));
    }
    absl::StatusOr<registry::Signature> signature = registry::ParseSignature(text);
    if (!signature.ok()) {
      return absl::InvalidArgumentError(
          Cat(flags.signature_file, ": ", core::View(signature.status().message())));
    }
    options.signature = *signature;
  }
  for (const std::string& text : flags.tags) {
    ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--tag"));
    options.tags[kv.first] = kv.second;
  }
  for (const std::string& text : flags.metrics) {
    ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--metric"));
    ASSIGN_OR_RETURN(options.metrics[kv.first], tracking::ParseMetricValue(kv.second));
  }
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(ModelVersion v, opened.models->Register(
                                       name, context.env().current_dir / flags.artifact, options));
  if (as_json) {
    context.out() << registry::ModelVersionToJson(v).dump() << "\n";
    return absl::OkStatus();
  }
  context.out() << "registered " << v.Ref() << " (" << v.flavor << ", " << v.num_features
                << " features, artifact sha256:" << v.artifact_digest << ")\n";
  return absl::OkStatus();
}

absl::Status RunList(CliContext& context, bool as_json) {
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(auto models, opened.models->ListModels());
  if (as_json) {
    json out = json::array();
    for (const auto& m : models) out.push_back(registry::RegisteredModelToJson(m));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  if (models.empty()) {
    context.out() << "no models yet; `ferry models register NAME --artifact FILE` adds one\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "VERSIONS", "LATEST", "ALIASES", "UPDATED"}};
  for (const auto& m : models) {
    std::string aliases;
    for (const auto& [alias, version] : m.aliases) {
      aliases += Cat(aliases.empty() ? "" : ", ", alias, "=@", version);
    }
    rows.push_back({m.name, Cat(m.versions), m.latest_version ? Cat("@", m.latest_version) : "-",
                    aliases, Time(m.updated_at)});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

void PrintVersion(std::ostream& out, const ModelVersion& v) {
  out << v.Ref();
  if (!v.aliases.empty()) {
    out << "  (aliases:";
    for (const auto& a : v.aliases) out << " " << a;
    out << ")";
  }
  out << "\n  flavor     " << v.flavor << ", " << v.num_features << " features, status "
      << v.status << "\n";
  out << "  artifact   sha256:" << v.artifact_digest << " (" << HumanBytes(v.artifact_size)
      << ")\n";
  out << "  run        " << (v.run_id.empty() ? "-" : v.run_id) << "\n";
  if (!v.signature.feature_service.empty()) {
    out << "  features   from service " << v.signature.feature_service << "\n";
  }
  for (const auto& f : v.signature.inputs) {
    out << "  input      " << f.name << " " << table::ColumnTypeName(f.type) << "\n";
  }
  for (const auto& f : v.signature.outputs) {
    out << "  output     " << f.name << " " << table::ColumnTypeName(f.type) << "\n";
  }
  for (const auto& [key, value] : v.metrics) {
    out << "  metric     " << key << " = " << tracking::FormatMetricValue(value) << "\n";
  }
  if (!v.reference_dataset.empty()) {
    out << "  reference  " << v.reference_dataset << " (profile " << v.reference_profile << ")\n";
  }
  for (const auto& [key, value] : v.tags) out << "  tag        " << key << " = " << value << "\n";
  out << "  registered " << Time(v.created_at) << " by " << v.created_by << "\n";
  if (!v.description.empty()) out << "  " << v.description << "\n";
}

absl::Status RunShow(CliContext& context, const std::string& ref_text, bool as_json) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(ref_text));
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  const bool one_version = ref.version || ref.alias;
  if (one_version) {
    ASSIGN_OR_RETURN(ModelVersion v, opened.models->Resolve(ref));
    if (as_json) {
      context.out() << registry::ModelVersionToJson(v).dump() << "\n";
    } else {
      PrintVersion(context.out(), v);
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(registry::RegisteredModel model, opened.models->GetModel(ref.name));
  ASSIGN_OR_RETURN(auto versions, opened.models->ListVersions(ref.name));
  ASSIGN_OR_RETURN(auto history, opened.models->AliasHistory(ref.name, ""));
  if (as_json) {
    json body = registry::RegisteredModelToJson(model);
    body["model_versions"] = json::array();
    for (const auto& v : versions) body["model_versions"].push_back(registry::ModelVersionToJson(v));
    body["alias_history"] = json::array();
    for (const auto& c : history) body["alias_history"].push_back(registry::AliasChangeToJson(c));
    context.out() << body.dump() << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = context.out();
  out << "model " << model.name << ": " << model.versions << " versions";
  for (const auto& [key, value] : model.tags) out << ", " << key << "=" << value;
  out << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "ALIASES", "RUN", "METRICS", "REGISTERED", "BY"}};
  for (const auto& v : versions) {
    std::string aliases, metrics;
    for (const auto& a : v.aliases) aliases += Cat(aliases.empty() ? "" : ",", a);
    for (const auto& [key, value] : v.metrics) {
      metrics += Cat(metrics.empty() ? "" : " ", key, "=", tracking::FormatMetricValue(value));
    }
    rows.push_back({Cat("@", v.version), aliases, v.run_id.empty() ? "-" : v.run_id.substr(0, 12),
                    metrics, Time(v.created_at), v.created_by});
  }
  PrintTable(out, rows);
  if (!history.empty()) out << "\nalias history:\n";
  for (const auto& c : history) {
    out << "  " << Time(c.at) << "  " << c.alias << ": "
        << (c.previous ? Cat("@", *c.previous) : std::string("-")) << " -> "
        << (c.version ? Cat("@", *c.version) : std::string("(removed)")) << "  by " << c.actor
        << (c.reason.empty() ? "" : Cat(": ", c.reason)) << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunAlias(CliContext& context, const std::string& ref_text, const std::string& alias,
                      const std::string& actor, const std::string& reason, bool remove) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(ref_text));
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  if (remove) {
    ASSIGN_OR_RETURN(registry::AliasChange change, opened.models->DeleteAlias(
                                                       ref.name, alias, Actor(context, actor), reason));
    context.out() << "removed alias " << ref.name << "@" << alias << " (was @" << *change.previous
                  << ")\n";
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(registry::AliasChange change,
                   opened.models->SetAlias(ref, alias, Actor(context, actor), reason));
  context.out() << ref.name << "@" << alias << " -> @" << *change.version;
  if (change.previous && change.previous != change.version) {
    context.out() << " (was @" << *change.previous << ")";
  } else if (change.previous) {
    context.out() << " (unchanged)";
  }
  context.out() << "\n";
  return absl::OkStatus();
}

absl::Status RunTag(CliContext& context, const std::string& ref_text,
                    const std::vector<std::string>& set, const std::vector<std::string>& remove) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(ref_text));
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  for (const std::string& text : set) {
    ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "tag"));
    RETURN_IF_ERROR(opened.models->SetTag(ref, kv.first, kv.second));
  }
  for (const std::string& key : remove) RETURN_IF_ERROR(opened.models->SetTag(ref, key, std::nullopt));
  context.out() << "tagged " << ref.ToString() << "\n";
  return absl::OkStatus();
}

absl::Status RunLineage(CliContext& context, const std::string& ref_text, bool as_json) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(ref_text));
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(ModelVersion v, opened.models->Resolve(ref));
  ASSIGN_OR_RETURN(registry::LineageView view,
                   registry::BuildLineageView(*opened.workspace, *opened.datasets,
                                              *opened.tracking, *opened.models,
                                              {std::string(lineage::kind::kModelVersion), v.Ref()},
                                              lineage::Direction::kUpstream));
  context.out() << (as_json ? registry::LineageViewToJson(view).dump() + "\n"
                            : registry::LineageViewToText(view));
  return absl::OkStatus();
}

absl::Status RunDelete(CliContext& context, const std::string& ref_text) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(ref_text));
  if (!ref.version) {
    return absl::InvalidArgumentError(
        Cat("name the version to delete, e.g. ", ref.name, "@3 (not an alias or the latest)"));
  }
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  RETURN_IF_ERROR(opened.models->DeleteVersion(ref));
  context.out() << "deleted " << ref.ToString() << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddModelsCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* models = app.add_subcommand(
      "models", "Model registry: register, list, show, alias, tag, lineage, delete");
  models->require_subcommand(1);

  CLI::App* reg = models->add_subcommand("register", "Register a model file as a new version");
  auto name = std::make_shared<std::string>();
  auto flags = std::make_shared<RegisterFlags>();
  auto reg_json = std::make_shared<bool>(false);
  reg->add_option("NAME", *name, "Model name")->required();
  reg->add_option("--artifact", flags->artifact, "The model file")->required();
  reg->add_option("--flavor", flags->options.flavor, "Model flavor (xgboost)");
  reg->add_option("--run", flags->options.run_id, "The run that trained it");
  reg->add_option("--signature", flags->signature_file,
                  "A JSON file, or inline JSON: {\"feature_service\", \"inputs\", \"outputs\"}");
  reg->add_option("--description,-d", flags->options.description, "What this version is");
  reg->add_option("--reference", flags->options.reference_dataset,
                  "Dataset version whose statistics drift is measured against"
                  " (default: the run's train input)");
  reg->add_option("--tag,-t", flags->tags, "KEY=VALUE (repeatable)");
  reg->add_option("--metric,-m", flags->metrics, "Evaluation metric KEY=VALUE (repeatable)");
  reg->add_option("--actor", flags->actor, "Who registers (default: $USER)");
  reg->add_flag("--json", *reg_json, "Print the version as JSON");
  reg->callback([&context, result, name, flags, reg_json] {
    *result = RunRegister(context, *name, *flags, *reg_json);
  });

  CLI::App* list = models->add_subcommand("list", "List registered models");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, list_json] { *result = RunList(context, *list_json); });

  CLI::App* show = models->add_subcommand(
      "show", "Show a model (NAME: versions and alias history) or a version (NAME@V, NAME@ALIAS)");
  auto show_ref = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show->add_option("REF", *show_ref, "NAME, NAME@V or NAME@ALIAS")->required();
  show->add_flag("--json", *show_json, "Print JSON");
  show->callback([&context, result, show_ref, show_json] {
    *result = RunShow(context, *show_ref, *show_json);
  });

  CLI::App* alias = models->add_subcommand("alias", "Point an alias at a version (or --delete it)");
  auto alias_ref = std::make_shared<std::string>();
  auto alias_name = std::make_shared<std::string>();
  auto actor = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto remove = std::make_shared<bool>(false);
  alias->add_option("REF", *alias_ref, "NAME@V (or NAME with --delete)")->required();
  alias->add_option("ALIAS", *alias_name, "e.g. production, canary")->required();
  alias->add_option("--reason,-r", *reason, "Why (kept in the alias history)");
  alias->add_option("--actor", *actor, "Who (default: $USER)");
  alias->add_flag("--delete", *remove, "Remove the alias");
  alias->callback([&context, result, alias_ref, alias_name, actor, reason, remove] {
    *result = RunAlias(context, *alias_ref, *alias_name, *actor, *reason, *remove);
  });

  CLI::App* tag = models->add_subcommand("tag", "Set or remove tags of a version (or a model)");
  auto tag_ref = std::make_shared<std::string>();
  auto tag_set = std::make_shared<std::vector<std::string>>();
  auto tag_remove = std::make_shared<std::vector<std::string>>();
  tag->add_option("REF", *tag_ref, "NAME@V, NAME@ALIAS, or NAME for the model")->required();
  tag->add_option("TAGS", *tag_set, "KEY=VALUE ...");
  tag->add_option("--delete", *tag_remove, "Tag keys to remove");
  tag->callback([&context, result, tag_ref, tag_set, tag_remove] {
    *result = RunTag(context, *tag_ref, *tag_set, *tag_remove);
  });

  CLI::App* lineage = models->add_subcommand(
      "lineage", "Everything a version came from: run, training data, features, sources");
  auto lineage_ref = std::make_shared<std::string>();
  auto lineage_json = std::make_shared<bool>(false);
  lineage->add_option("REF", *lineage_ref, "NAME@V, NAME@ALIAS or NAME")->required();
  lineage->add_flag("--json", *lineage_json, "Print the graph as nodes and edges");
  lineage->callback([&context, result, lineage_ref, lineage_json] {
    *result = RunLineage(context, *lineage_ref, *lineage_json);
  });

  CLI::App* del = models->add_subcommand(
      "delete", "Delete a version (refused while an alias points at it)");
  auto del_ref = std::make_shared<std::string>();
  del->add_option("REF", *del_ref, "NAME@V")->required();
  del->callback([&context, result, del_ref] { *result = RunDelete(context, *del_ref); });
}

}  // namespace ferry::cli
