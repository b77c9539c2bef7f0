#pragma once

// AlertNotifier: runs a rule's log and webhook actions for the alerts that fired or
// resolved in one evaluation (pipeline actions are recorded by the evaluator in the
// evaluation's own transaction instead).
//   log      one structured warning line per alert that fires or resolves;
//   webhook  one POST per rule, status and evaluation, with Alertmanager's webhook payload
//            (version "4"; docs/alerts.md), retried with exponential backoff by
//            server::WebhookSender, never blocking the evaluation. Resolved alerts are
//            sent unless the action says send_resolved: false.
//
// Thread-safety: Notify may be called from any thread.

#include <string_view>
#include <vector>

#include "alerts/alert_state.h"
#include "alerts/rule_file.h"
#include "nlohmann/json.hpp"
#include "server/webhook_sender.h"

namespace ferry::alerts {

// Alertmanager's webhook body for `alerts` of `rule`, all firing or all resolved.
nlohmann::json AlertmanagerPayload(std::string_view rule, AlertState status,
                                   const std::vector<Transition>& alerts);

// "ferry_alerts" values and JSON fields: a number, or "NaN", "+Inf", "-Inf" as strings
// (JSON has no such numbers).
nlohmann::json ValueJson(double value);

class AlertNotifier {
 public:
  explicit AlertNotifier(server::WebhookOptions options) : webhooks_(options) {}

  // Notifies the transitions of `rule` to firing or resolved; others are ignored.
  void Notify(const AlertRule& rule, const std::vector<Transition>& transitions);
  server::WebhookStats webhook_stats() const { return webhooks_.stats(); }

 private:
  server::WebhookSender webhooks_;
};

}  // namespace ferry::alerts
