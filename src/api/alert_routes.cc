#include "api/alert_routes.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "alerts/alerts_json.h"
#include "alerts/notifier.h"
#include "api/metrics_routes.h"
#include "api/query_params.h"
#include "core/status.h"
#include "core/strings.h"
#include "serving/serving_metrics.h"

namespace ferry::api {
namespace {

using alerts::AlertEvaluator;
using core::Cat;
using nlohmann::json;
using server::Request;
using server::Response;

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 10'000;
constexpr std::string_view kYamlContentType = "application/yaml";

absl::StatusOr<int64_t> Limit(const QueryParams& query) {
  const std::optional<std::string> text = query.Get("limit");
  if (!text) return kDefaultLimit;
  int64_t limit = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > kMaxLimit) {
    return absl::InvalidArgumentError(Cat("limit must be 1..", kMaxLimit, ", got \"", *text, "\""));
  }
  return limit;
}

absl::StatusOr<Response> Status(AlertEvaluator& evaluator) {
  ASSIGN_OR_RETURN(auto rules, evaluator.store().Current());
  ASSIGN_OR_RETURN(auto active, evaluator.store().Active());
  return server::JsonResponse(alerts::AlertsStatusJson(rules, active));
}

absl::StatusOr<Response> History(AlertEvaluator& evaluator, Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"rule", "limit"}));
  ASSIGN_OR_RETURN(int64_t limit, Limit(query));
  ASSIGN_OR_RETURN(auto entries, evaluator.store().History(query.Get("rule").value_or(""), limit));
  return server::JsonResponse(alerts::HistoryJson(entries));
}

absl::StatusOr<Response> Triggers(AlertEvaluator& evaluator, Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"limit"}));
  ASSIGN_OR_RETURN(int64_t limit, Limit(query));
  ASSIGN_OR_RETURN(auto triggers, evaluator.store().PipelineTriggers(limit));
  return server::JsonResponse(alerts::PipelineTriggersJson(triggers));
}

absl::StatusOr<Response> Rules(AlertEvaluator& evaluator) {
  ASSIGN_OR_RETURN(auto rules, evaluator.store().Current());
  if (!rules) {
    return absl::NotFoundError(
        "no alert rules applied yet (PUT /api/v1/alerts/rules or"
        " `ferry alerts apply FILE.yaml`)");
  }
  Response response;
  response.content_type = kYamlContentType;
  response.body = rules->rules.source;
  return response;
}

absl::StatusOr<Response> Apply(AlertEvaluator& evaluator, Request& request) {
  if (request.body().size() > alerts::kMaxRuleFileBytes) {
    return server::ErrorResponse(413, "payload_too_large",
                                 Cat("a rule file has at most ", alerts::kMaxRuleFileBytes,
                                     " bytes; this one has ", request.body().size()));
  }
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"actor"}));
  ASSIGN_OR_RETURN(
      alerts::ApplyResult result,
      evaluator.store().Apply(request.body(), "request body", query.Get("actor").value_or("api")));
  return server::JsonResponse(alerts::ApplyResultJson(result));
}

}  // namespace

absl::StatusOr<std::shared_ptr<AlertEvaluator>> OpenAlerts(
    store::Workspace& workspace, std::shared_ptr<ServingApi> serving,
    std::shared_ptr<const store::Leadership> leadership) {
  const core::AlertsConfig& config = workspace.config().alerts;
  alerts::AlertEvaluatorOptions options;
  options.default_interval = std::chrono::milliseconds(config.evaluation_interval_ms);
  options.webhooks.attempts = config.webhook_attempts;
  options.webhooks.first_backoff = std::chrono::milliseconds(config.webhook_backoff_ms);
  options.webhooks.timeout = std::chrono::milliseconds(config.webhook_timeout_ms);
  options.leadership = std::move(leadership);
  ASSIGN_OR_RETURN(std::unique_ptr<AlertEvaluator> evaluator,
                   AlertEvaluator::Open(
                       workspace, [serving] { return RenderMetrics(*serving); }, options));
  evaluator->Start(options.default_interval);
  return std::shared_ptr<AlertEvaluator>(std::move(evaluator));
}

absl::Status AddAlertRoutes(server::Router& router, std::shared_ptr<AlertEvaluator> evaluator) {
  RETURN_IF_ERROR(
      router.Get("/api/v1/alerts", [evaluator](Request&) { return Status(*evaluator); }));
  RETURN_IF_ERROR(router.Get("/api/v1/alerts/history", [evaluator](Request& request) {
    return History(*evaluator, request);
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/alerts/triggers", [evaluator](Request& request) {
    return Triggers(*evaluator, request);
  }));
  RETURN_IF_ERROR(
      router.Get("/api/v1/alerts/rules", [evaluator](Request&) { return Rules(*evaluator); }));
  return router.Put("/api/v1/alerts/rules",
                    [evaluator](Request& request) { return Apply(*evaluator, request); });
}

void AppendAlertMetrics(const AlertEvaluator& evaluator, std::string& out) {
  const alerts::AlertMetrics metrics = evaluator.Metrics();
  serving::AppendMetricFamily(out, "ferry_alerts", "gauge",
                              "1 for each pending or firing alert, with its labels (as"
                              " Prometheus's ALERTS).");
  for (const alerts::ActiveAlert& alert : metrics.active) {
    alerts::Labels labels = alert.labels;
    labels["alertstate"] = std::string(alerts::AlertStateName(alert.state));
    std::string text;
    for (const auto& [name, value] : labels) {
      text += Cat(text.empty() ? "" : ",", name, "=\"", serving::EscapeLabelValue(value), "\"");
    }
    out += fmt::format("ferry_alerts{{{}}} 1\n", text);
  }
  const auto counter = [&out](std::string_view name, std::string_view help,
                              const std::map<std::string, uint64_t>& by_group) {
    serving::AppendMetricFamily(out, name, "counter", help);
    for (const auto& [group, count] : by_group) {
      out += fmt::format("{}{{group=\"{}\"}} {}\n", name, serving::EscapeLabelValue(group), count);
    }
  };
  counter("ferry_alert_evaluations_total", "Alert rule evaluations, by rule group.",
          metrics.evaluations);
  counter("ferry_alert_evaluation_failures_total",
          "Alert rule evaluations that failed, by rule group.", metrics.failures);
  serving::AppendMetricFamily(out, "ferry_alert_webhook_deliveries_total", "counter",
                              "Webhook notifications of alerts, by what became of them.");
  out += fmt::format(
      "ferry_alert_webhook_deliveries_total{{outcome=\"delivered\"}} {}\n"
      "ferry_alert_webhook_deliveries_total{{outcome=\"failed\"}} {}\n"
      "ferry_alert_webhook_deliveries_total{{outcome=\"dropped\"}} {}\n",
      metrics.webhooks.delivered, metrics.webhooks.failed, metrics.webhooks.dropped);
}

}  // namespace ferry::api
