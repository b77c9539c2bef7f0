#pragma once

// The alerting API of `ferry server`, and the alert evaluator the server runs:
//
//   GET /api/v1/alerts            the rules in force, each with its state and its pending
//                                 and firing alerts (docs/alerts.md, "JSON")
//   GET /api/v1/alerts/history    transitions, newest first: ?rule=NAME&limit=N (100)
//   GET /api/v1/alerts/rules      the rule file in force, as applied (YAML)
//   PUT /api/v1/alerts/rules      apply a rule file: the YAML as the body (at most 1 MiB;
//                                 413 beyond), ?actor=NAME; 400 naming what is wrong,
//                                 nothing changed
//   GET /api/v1/alerts/triggers   pipeline triggers recorded by pipeline actions: ?limit=N
//
// Like every mutating route, PUT passes through the server's Authorizer first.
//
// Thread-safety: handlers run concurrently; the evaluator and the store are thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "alerts/alert_evaluator.h"
#include "api/inference_routes.h"
#include "server/router.h"
#include "store/leadership.h"
#include "store/workspace.h"

namespace ferry::api {

// Opens the evaluator over `serving`'s metrics (RenderMetrics) with the workspace's
// alerts.* settings and starts its thread. The evaluator holds `serving`, so serving
// outlives it; destroying the evaluator stops its thread first.
// `leadership`: only the leader evaluates (null: always).
absl::StatusOr<std::shared_ptr<alerts::AlertEvaluator>> OpenAlerts(
    store::Workspace& workspace, std::shared_ptr<ServingApi> serving,
    std::shared_ptr<const store::Leadership> leadership = nullptr);

absl::Status AddAlertRoutes(server::Router& router,
                            std::shared_ptr<alerts::AlertEvaluator> evaluator);

// Appends alerting's families to a metrics text:
//   ferry_alerts{alertname,alertstate,severity,...}   gauge: 1 per pending or firing alert,
//                                                     with all its labels (Prometheus's ALERTS)
//   ferry_alert_evaluations_total{group}              counter: rule evaluations
//   ferry_alert_evaluation_failures_total{group}      counter: those that failed
//   ferry_alert_webhook_deliveries_total{outcome}     counter: delivered, failed, dropped
void AppendAlertMetrics(const alerts::AlertEvaluator& evaluator, std::string& out);

}  // namespace ferry::api
