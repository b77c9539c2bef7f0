#include "api/metrics_routes.h"

#include <fmt/format.h>

#include "api/data_metrics.h"
#include "core/status.h"

namespace ferry::api {
namespace {

constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

absl::Status AppendRolloutMetrics(serving::RolloutStore& store, std::string& out) {
  ASSIGN_OR_RETURN(std::vector<serving::RolloutEventCount> counts, store.EventCounts());
  ASSIGN_OR_RETURN(std::vector<serving::Rollout> active, store.Active());
  serving::AppendMetricFamily(out, "ferry_rollout_events_total", "counter",
         "Rollout transitions recorded, by endpoint and event type.");
  for (const serving::RolloutEventCount& c : counts) {
    out += fmt::format("ferry_rollout_events_total{{endpoint=\"{}\",type=\"{}\"}} {}\n",
                       serving::EscapeLabelValue(c.endpoint), serving::EscapeLabelValue(c.type), c.count);
  }
  serving::AppendMetricFamily(out, "ferry_rollout_active", "gauge",
         "1 for each active (progressing or paused) rollout, by endpoint, kind and phase.");
  for (const serving::Rollout& r : active) {
    out += fmt::format("ferry_rollout_active{{endpoint=\"{}\",kind=\"{}\",phase=\"{}\"}} 1\n",
                       serving::EscapeLabelValue(r.endpoint), serving::RolloutKindName(r.kind),
                       serving::RolloutPhaseName(r.state.phase));
  }
  serving::AppendMetricFamily(out, "ferry_rollout_candidate_weight_ratio", "gauge",
         "Share of an endpoint's requests its active canary answers (0 to 1).");
  for (const serving::Rollout& r : active) {
    out += fmt::format("ferry_rollout_candidate_weight_ratio{{endpoint=\"{}\"}} {}\n",
                       serving::EscapeLabelValue(r.endpoint), r.state.weight / 100.0);
  }
  serving::AppendMetricFamily(out, "ferry_rollout_step", "gauge", "Current step of an endpoint's active rollout, from 1.");
  for (const serving::Rollout& r : active) {
    out += fmt::format("ferry_rollout_step{{endpoint=\"{}\"}} {}\n", serving::EscapeLabelValue(r.endpoint),
                       r.state.step + 1);
  }
  serving::AppendMetricFamily(out, "ferry_rollout_failed_analyses", "gauge",
         "Failed analyses so far in an endpoint's active rollout.");
  for (const serving::Rollout& r : active) {
    out += fmt::format("ferry_rollout_failed_analyses{{endpoint=\"{}\"}} {}\n",
                       serving::EscapeLabelValue(r.endpoint), r.state.failures);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderMetrics(ServingApi& api) {
  std::string out;
  api.endpoints->metrics().Append(out);
  serving::AppendMetricFamily(out, "ferry_endpoint_ready", "gauge",
         "1 when an endpoint serves a loaded model, 0 when it is deployed but not ready.");
  const std::vector<serving::EndpointStatus> statuses = api.endpoints->Statuses();
  for (const serving::EndpointStatus& s : statuses) {
    out += fmt::format("ferry_endpoint_ready{{endpoint=\"{}\"}} {}\n",
                       serving::EscapeLabelValue(s.deployment.endpoint), s.serving ? 1 : 0);
  }
  serving::AppendMetricFamily(out, "ferry_endpoint_model_info", "gauge",
         "The model version an endpoint serves (value 1), with its evaluator.");
  for (const serving::EndpointStatus& s : statuses) {
    if (!s.serving) continue;
    out += fmt::format(
        "ferry_endpoint_model_info{{endpoint=\"{}\",model=\"{}\",version=\"{}\","
        "evaluator=\"{}\"}} 1\n",
        serving::EscapeLabelValue(s.deployment.endpoint), serving::EscapeLabelValue(s.serving->version.name),
        s.serving->version.version, serving::EscapeLabelValue(s.serving->model->description().evaluator));
  }
  if (api.log) {
    const serving::PredictionLogStats log = api.log->stats();
    serving::AppendMetricFamily(out, "ferry_prediction_log_predictions_total", "counter",
           "Predictions handed to the prediction log, by what became of them.");
    out += fmt::format("ferry_prediction_log_predictions_total{{outcome=\"written\"}} {}\n"
                       "ferry_prediction_log_predictions_total{{outcome=\"dropped\"}} {}\n"
                       "ferry_prediction_log_predictions_total{{outcome=\"failed\"}} {}\n",
                       log.written, log.dropped, log.failed);
  }
  api.monitoring->AppendMetrics(out);
  RETURN_IF_ERROR(AppendDataMetrics(*api.workspace, *api.datasets,
                                    api.endpoints->feature_registry(), api.log.get(), out));
  RETURN_IF_ERROR(AppendRolloutMetrics(api.rollouts->store(), out));
  return out;
}

absl::Status AddMetricsRoutes(server::Router& router, std::shared_ptr<ServingApi> api,
                              MetricsAppender more) {
  return router.Get("/metrics", [api, more](server::Request&) -> absl::StatusOr<server::Response> {
    server::Response response;
    response.content_type = kPrometheusContentType;
    ASSIGN_OR_RETURN(response.body, RenderMetrics(*api));
    if (more) more(response.body);
    return response;
  });
}

}  // namespace ferry::api
