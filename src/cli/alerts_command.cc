// `ferry alerts apply|check|list|history|triggers|export-prometheus` (alerts::AlertStore).

#include <nlohmann/json.hpp>

#include "alerts/alerts_json.h"
#include "alerts/rule_file.h"
#include "cli/alerts_commands.h"
#include "cli/registry_commands.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

struct AlertsArgs {
  std::string file;
  std::string actor;
  std::string rule;
  std::string output;
  int64_t limit = 50;
  bool json = false;
};

// The workspace and its alert store (which refers to it).
struct OpenedAlerts {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<alerts::AlertStore> store;
};

absl::StatusOr<OpenedAlerts> OpenAlerts(CliContext& context) {
  OpenedAlerts opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.store, alerts::AlertStore::Open(*opened.workspace));
  return opened;
}

absl::StatusOr<std::string> ReadRuleFile(CliContext& context, const std::string& file) {
  return core::ReadFileToString(context.env().current_dir / file, alerts::kMaxRuleFileBytes);
}

std::string RuleNames(const alerts::RuleSet& rules) {
  std::string names;
  for (const alerts::RuleGroup& group : rules.groups) {
    for (const alerts::AlertRule& rule : group.rules) {
      names += Cat(names.empty() ? ": " : ", ", rule.name, " (", rule.severity(), ")");
    }
  }
  return names;
}

std::string Summary(const alerts::RuleSet& rules) {
  return Cat(rules.groups.size(), rules.groups.size() == 1 ? " group, " : " groups, ",
             rules.rule_count(), rules.rule_count() == 1 ? " rule" : " rules", RuleNames(rules));
}

absl::Status Apply(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(std::string yaml, ReadRuleFile(context, args.file));
  ASSIGN_OR_RETURN(OpenedAlerts opened, OpenAlerts(context));
  alerts::AlertStore& store = *opened.store;
  ASSIGN_OR_RETURN(alerts::ApplyResult result,
                   store.Apply(yaml, args.file, Actor(context, args.actor)));
  std::ostream& out = context.out();
  if (args.json) {
    out << alerts::ApplyResultJson(result).dump() << "\n";
    return absl::OkStatus();
  }
  const alerts::AppliedRuleSet& applied = result.applied;
  const std::string digest = applied.rules.digest.substr(0, 12);
  if (!result.changed) {
    out << "no changes: rule set " << applied.id << " (sha256:" << digest
        << ") is already in force\n";
    return absl::OkStatus();
  }
  out << "applied alert rule set " << applied.id << " (sha256:" << digest
      << "): " << Summary(applied.rules) << "\n";
  for (const alerts::Transition& t : result.retired) {
    out << "  ended " << t.alert.rule << " " << alerts::FormatLabels(t.alert.labels) << ": "
        << alerts::AlertStateName(t.from) << " -> " << alerts::AlertStateName(t.to)
        << " (its rule was removed)\n";
  }
  return absl::OkStatus();
}

absl::Status Check(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(std::string yaml, ReadRuleFile(context, args.file));
  ASSIGN_OR_RETURN(alerts::RuleSet rules, alerts::ParseRuleFile(yaml, args.file));
  if (args.json) {
    context.out() << json{{"file", args.file},
                          {"ok", true},
                          {"digest", rules.digest},
                          {"groups", rules.groups.size()},
                          {"rules", rules.rule_count()}}
                         .dump()
                  << "\n";
  } else {
    context.out() << args.file << ": ok, " << Summary(rules) << "\n";
  }
  return absl::OkStatus();
}

absl::Status List(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(OpenedAlerts opened, OpenAlerts(context));
  alerts::AlertStore& store = *opened.store;
  ASSIGN_OR_RETURN(auto rules, store.Current());
  ASSIGN_OR_RETURN(auto active, store.Active());
  if (args.json) {
    context.out() << alerts::AlertsStatusJson(rules, active).dump() << "\n";
  } else {
    PrintAlertsStatus(context.out(), rules, active);
  }
  return absl::OkStatus();
}

absl::Status History(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(OpenedAlerts opened, OpenAlerts(context));
  alerts::AlertStore& store = *opened.store;
  ASSIGN_OR_RETURN(auto entries, store.History(args.rule, args.limit));
  if (args.json) {
    context.out() << alerts::HistoryJson(entries).dump() << "\n";
  } else {
    PrintAlertHistory(context.out(), entries);
  }
  return absl::OkStatus();
}

absl::Status Triggers(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(OpenedAlerts opened, OpenAlerts(context));
  alerts::AlertStore& store = *opened.store;
  ASSIGN_OR_RETURN(auto triggers, store.PipelineTriggers(args.limit));
  if (args.json) {
    context.out() << alerts::PipelineTriggersJson(triggers).dump() << "\n";
  } else {
    PrintPipelineTriggers(context.out(), triggers);
  }
  return absl::OkStatus();
}

absl::Status Export(CliContext& context, const AlertsArgs& args) {
  ASSIGN_OR_RETURN(OpenedAlerts opened, OpenAlerts(context));
  alerts::AlertStore& store = *opened.store;
  ASSIGN_OR_RETURN(auto rules, store.Current());
  if (!rules) {
    return absl::NotFoundError("no alert rules applied yet (`ferry alerts apply FILE.yaml`)");
  }
  const std::string text = alerts::ExportPrometheusRules(rules->rules);
  if (args.output.empty()) {
    context.out() << text;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(core::WriteFileAtomically(context.env().current_dir / args.output, text));
  context.out() << "wrote " << rules->rules.rule_count() << " alerting rules (rule set "
                << rules->id << ") to " << args.output << "; check them with `promtool check rules "
                << args.output << "`\n";
  return absl::OkStatus();
}

}  // namespace

void AddAlertsCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* alerts = app.add_subcommand("alerts", "Alert rules, their alerts and history");
  alerts->require_subcommand(1);
  auto args = std::make_shared<AlertsArgs>();
  const auto command = [&context, result, args](CLI::App* sub, auto run) {
    sub->callback([&context, result, args, run] { *result = run(context, *args); });
  };
  CLI::App* apply = alerts->add_subcommand(
      "apply", "Validate a rule file and make it the rules in force (a bad file changes nothing)");
  apply->add_option("FILE", args->file, "Rule file (YAML, docs/alerts.md)")->required();
  apply->add_option("--actor", args->actor, "Who applies (default: $USER)");
  apply->add_flag("--json", args->json, "Print JSON");
  command(apply, Apply);
  CLI::App* check = alerts->add_subcommand("check", "Validate a rule file without applying it");
  check->add_option("FILE", args->file, "Rule file (YAML)")->required();
  check->add_flag("--json", args->json, "Print JSON");
  command(check, Check);
  CLI::App* list = alerts->add_subcommand("list", "Rules with their state and active alerts");
  list->add_flag("--json", args->json, "Print JSON");
  command(list, List);
  CLI::App* history = alerts->add_subcommand("history", "Alert transitions, newest first");
  history->add_option("--rule", args->rule, "Only this rule's");
  history->add_option("--limit", args->limit, "At most this many (default 50)")
      ->check(CLI::Range(1, 100'000));
  history->add_flag("--json", args->json, "Print JSON");
  command(history, History);
  CLI::App* triggers = alerts->add_subcommand(
      "triggers", "Pipeline triggers recorded by pipeline actions, newest first");
  triggers->add_option("--limit", args->limit, "At most this many (default 50)")
      ->check(CLI::Range(1, 100'000));
  triggers->add_flag("--json", args->json, "Print JSON");
  command(triggers, Triggers);
  CLI::App* export_rules = alerts->add_subcommand(
      "export-prometheus", "Write the rules in force as a Prometheus rule file (no actions)");
  export_rules->add_option("--output,-o", args->output, "File to write (default: stdout)");
  command(export_rules, Export);
}

}  // namespace ferry::cli
