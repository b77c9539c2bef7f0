#pragma once

// `ferry alerts`: alert rules and their alerts (src/alerts, docs/alerts.md).
//   apply FILE.yaml        validate, then make it the rule set in force (atomically)
//   check FILE.yaml        validate only
//   list                   rules with their state and their pending and firing alerts
//   history                transitions, newest first (--rule, --limit)
//   triggers               pipeline triggers recorded by pipeline actions
//   export-prometheus      the rules as a Prometheus rule file (--output FILE)
// Read commands take --json (the shapes of the HTTP API).

#include <CLI/CLI.hpp>
#include <ostream>
#include <vector>

#include "absl/status/status.h"
#include "alerts/alert_store.h"
#include "cli/cli.h"

namespace ferry::cli {

void AddAlertsCommand(CLI::App& app, CliContext& context, absl::Status* result);

// alerts_list_command.cc: the tables of list, history and triggers.
void PrintAlertsStatus(std::ostream& out, const std::optional<alerts::AppliedRuleSet>& rules,
                       const std::vector<alerts::ActiveAlert>& active);
void PrintAlertHistory(std::ostream& out, const std::vector<alerts::HistoryEntry>& entries);
void PrintPipelineTriggers(std::ostream& out, const std::vector<alerts::PipelineTrigger>& triggers);

}  // namespace ferry::cli
