#pragma once

// The JSON shapes of alerting, the same for `ferry alerts ... --json` and the HTTP API
// (docs/alerts.md, "JSON").
//
// Thread-safety: pure functions.

#include <optional>
#include <vector>

#include "alerts/alert_store.h"
#include "nlohmann/json.hpp"

namespace ferry::alerts {

// What a rule's alerts add up to: firing if one fires, else pending if one is pending,
// else inactive.
AlertState RuleState(const std::vector<const ActiveAlert*>& alerts);

// {"rule_set": {"id", "digest", "applied_at", "applied_by", "groups", "rules"} | null,
//  "rules": [{"name", "group", "expr", "for", "severity", "labels", "annotations",
//             "actions", "state", "alerts": [...]}]}; each alert {"labels", "state",
//  "active_since", "fired_at", "value", "last_evaluated", "annotations", "fingerprint"}.
nlohmann::json AlertsStatusJson(const std::optional<AppliedRuleSet>& rules,
                                const std::vector<ActiveAlert>& active);
nlohmann::json ActiveAlertJson(const ActiveAlert& alert);
// {"history": [{"id", "rule", "labels", "from", "to", "at", "value", "annotations"}]}.
nlohmann::json HistoryJson(const std::vector<HistoryEntry>& entries);
// {"triggers": [{"id", "pipeline", "params", "alert", "labels", "fired_at", "consumed_at"}]}.
nlohmann::json PipelineTriggersJson(const std::vector<PipelineTrigger>& triggers);
// {"changed", "rule_set": {...}, "retired": [{"rule", "labels", "from", "to"}]}.
nlohmann::json ApplyResultJson(const ApplyResult& result);

}  // namespace ferry::alerts
