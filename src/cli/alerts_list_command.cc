// The tables `ferry alerts list`, `history` and `triggers` print.

#include <fmt/format.h>

#include <cmath>

#include "alerts/alerts_json.h"
#include "alerts/annotation_template.h"
#include "alerts/duration.h"
#include "cli/alerts_commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

using core::Cat;

std::string Time(std::optional<int64_t> micros) {
  return micros ? core::FormatTimestamp(*micros).substr(0, 19) : "-";
}

// The alert's labels without alertname (the table's RULE says it).
std::string LabelsShown(alerts::Labels labels) {
  labels.erase(alerts::kAlertNameLabel);
  return alerts::FormatLabels(labels);
}

// Four significant digits: enough to read a threshold against (--json has them all).
std::string Value(double value) {
  return std::isfinite(value) ? fmt::format("{:.4g}", value) : alerts::FormatGoFloat(value);
}

std::string Params(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [key, value] : params) out += Cat(out.empty() ? "" : " ", key, "=", value);
  return out.empty() ? "-" : out;
}

}  // namespace

void PrintAlertsStatus(std::ostream& out, const std::optional<alerts::AppliedRuleSet>& rules,
                       const std::vector<alerts::ActiveAlert>& active) {
  if (!rules || rules->rules.rule_count() == 0) {
    out << "no alert rules in force (`ferry alerts apply FILE.yaml`)\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {
      {"RULE", "GROUP", "SEVERITY", "FOR", "STATE", "ALERTS"}};
  for (const alerts::RuleGroup& group : rules->rules.groups) {
    for (const alerts::AlertRule& rule : group.rules) {
      std::vector<const alerts::ActiveAlert*> mine;
      for (const alerts::ActiveAlert& alert : active) {
        if (alert.rule == rule.name) mine.push_back(&alert);
      }
      table.push_back({rule.name, group.name, rule.severity(), alerts::FormatDuration(rule.hold),
                       std::string(alerts::AlertStateName(alerts::RuleState(mine))),
                       std::to_string(mine.size())});
    }
  }
  PrintTable(out, table);
  if (active.empty()) return;
  out << "\n";
  std::vector<std::vector<std::string>> alerts_table = {
      {"ALERT", "STATE", "VALUE", "SINCE", "FIRED", "LABELS"}};
  for (const alerts::ActiveAlert& alert : active) {
    alerts_table.push_back({alert.rule, std::string(alerts::AlertStateName(alert.state)),
                            Value(alert.value), Time(alert.active_since), Time(alert.fired_at),
                            LabelsShown(alert.labels)});
  }
  PrintTable(out, alerts_table);
}

void PrintAlertHistory(std::ostream& out, const std::vector<alerts::HistoryEntry>& entries) {
  if (entries.empty()) {
    out << "no alert transitions recorded\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {{"TIME", "RULE", "FROM", "TO", "VALUE", "LABELS"}};
  for (const alerts::HistoryEntry& e : entries) {
    table.push_back({Time(e.at), e.rule, std::string(alerts::AlertStateName(e.from)),
                     std::string(alerts::AlertStateName(e.to)), Value(e.value),
                     LabelsShown(e.labels)});
  }
  PrintTable(out, table);
}

void PrintPipelineTriggers(std::ostream& out,
                           const std::vector<alerts::PipelineTrigger>& triggers) {
  if (triggers.empty()) {
    out << "no pipeline triggers recorded\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {
      {"ID", "PIPELINE", "PARAMS", "ALERT", "FIRED", "CONSUMED", "LABELS"}};
  for (const alerts::PipelineTrigger& t : triggers) {
    table.push_back({std::to_string(t.id), t.pipeline, Params(t.params), t.alert, Time(t.fired_at),
                     Time(t.consumed_at), LabelsShown(t.labels)});
  }
  PrintTable(out, table);
  out << "(ferry server's pipeline runner takes them; `ferry pipeline triggers PIPELINE` shows"
         " what they did)\n";
}

}  // namespace ferry::cli
