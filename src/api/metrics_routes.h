#pragma once

// GET /metrics: Prometheus text exposition (format 0.0.4): serving's counters and latency
// histograms (serving/serving_metrics.h), endpoint readiness and model info, the
// prediction log's counters, monitoring's drift, data quality and live quality
// (serving/monitoring_service.h), whatever the caller appends (alerting's), and the
// rollouts':
//
//   ferry_rollout_events_total{endpoint,type}          counter: rollout transitions
//                                                       recorded (started, advanced,
//                                                       promoted, rolled_back, ...)
//   ferry_rollout_active{endpoint,kind,phase}          gauge: 1 per active rollout
//   ferry_rollout_candidate_weight_ratio{endpoint}     gauge: share of requests the
//                                                       candidate answers, 0 to 1
//   ferry_rollout_step{endpoint}                       gauge: current step, from 1
//   ferry_rollout_failed_analyses{endpoint}            gauge: failed analyses so far
//
// Thread-safety: the route reads the store on each scrape; nothing is cached.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "api/inference_routes.h"
#include "server/router.h"

namespace ferry::api {

// Appends the rollout metrics to `out` in the text format. Errors: the store's.
absl::Status AppendRolloutMetrics(serving::RolloutStore& store, std::string& out);

// The exposition of serving, the prediction log, monitoring and rollouts. Errors: the rollout store's.
absl::StatusOr<std::string> RenderMetrics(ServingApi& api);

// Families another part of the server adds after RenderMetrics' (the alerts').
using MetricsAppender = std::function<void(std::string& out)>;

absl::Status AddMetricsRoutes(server::Router& router, std::shared_ptr<ServingApi> api,
                              MetricsAppender more = nullptr);

}  // namespace ferry::api
