#include "api/inference_routes.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/query_params.h"
#include "core/clock.h"
#include "core/error_mapping.h"
#include "core/status.h"
#include "core/strings.h"
#include "serving/inference_codec.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using server::Request;
using server::Response;
using serving::EndpointStatus;
using serving::ServedModelPtr;

constexpr std::string_view kBinaryHeader = "Inference-Header-Content-Length";
constexpr std::string_view kOctetStream = "application/octet-stream";
constexpr size_t kMaxListedPredictions = 1000;

// The protocols' error body, {"error": "message"}; a request over a size limit is 413.
Response ProtocolError(const absl::Status& status) {
  const int http = status.code() == absl::StatusCode::kResourceExhausted
                       ? 413
                       : core::MapStatusCode(status.code()).http_status;
  return server::JsonResponse(json{{"error", std::string(core::View(status.message()))}}, http);
}

// Runs an inference handler, answering its errors in the protocols' format.
template <typename Handler>
server::Handler Protocol(Handler handler) {
  return [handler = std::move(handler)](Request& request) -> absl::StatusOr<Response> {
    absl::StatusOr<Response> response = handler(request);
    if (!response.ok()) return ProtocolError(response.status());
    return response;
  };
}

absl::StatusOr<std::optional<size_t>> BinaryHeaderLength(const Request& request) {
  std::optional<std::string_view> value = request.Header(kBinaryHeader);
  if (!value) return std::optional<size_t>();
  size_t length = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), length);
  if (ec != std::errc() || end != value->data() + value->size()) {
    return absl::InvalidArgumentError(
        Cat(kBinaryHeader, " must be a byte count, got \"", *value, "\""));
  }
  return std::optional<size_t>(length);
}

json EndpointJson(const EndpointStatus& s, int64_t now_micros) {
  const serving::Deployment& d = s.deployment;
  json out = {
      {"endpoint", d.endpoint},
      {"model", d.model.ToString()},
      {"missing_features", serving::MissingFeaturePolicyName(d.missing_features)},
      {"generation", d.generation},
      {"state", serving::EndpointStateName(s.state)},
      {"target_version", s.target_version ? json(*s.target_version) : json(nullptr)},
      {"version", s.serving ? json(s.serving->version.version) : json(nullptr)},
      {"reason", s.reason},
      {"updated_at", core::FormatTimestamp(d.updated_at)},
      {"updated_by", d.updated_by},
  };
  if (s.rollout && s.candidate) {
    out["rollout"] = {{"id", s.rollout->rollout_id},
                      {"kind", s.rollout->shadow ? "shadow" : "canary"},
                      {"candidate_version", s.candidate->version.version},
                      {"weight", s.rollout->weight},
                      {"sticky_key", s.rollout->sticky_key}};
  }
  if (s.serving) {
    const serving::ModelDescription& desc = s.serving->model->description();
    out["evaluator"] = desc.evaluator;
    out["objective"] = desc.objective;
    out["platform"] = desc.platform;
    out["inputs"] = s.serving->input_names;
    out["loaded_at"] = core::FormatTimestamp(s.serving->loaded_at);
    // The current monitoring window's traffic: latency quantiles (DDSketch) and rates.
    if (s.serving->monitor) {
      out["traffic"] = monitoring::TrafficToJson(s.serving->monitor->policy().window,
                                                 s.serving->monitor->Traffic(now_micros));
    }
  }
  return out;
}

json PredictionJson(const serving::LoggedPrediction& p) {
  const auto numbers = [](const std::vector<double>& values) {
    json out = json::array();
    for (double v : values) out.push_back(std::isnan(v) ? json(nullptr) : json(v));
    return out;
  };
  return {
      {"prediction_id", p.prediction_id},
      {"endpoint", p.endpoint},
      {"model", Cat(p.model_name, "@", p.model_version)},
      {"created_at", core::FormatTimestamp(p.created_at)},
      {"inputs", numbers(p.inputs)},
      {"outputs", numbers(p.outputs)},
      {"label", p.label ? json(*p.label) : json(nullptr)},
      {"label_at", p.label_at ? json(core::FormatTimestamp(*p.label_at)) : json(nullptr)},
  };
}

// The endpoint's current model for the metadata routes; NotFound / Unavailable like
// Infer.
absl::StatusOr<ServedModelPtr> ServingModel(const ServingApi& api, std::string_view endpoint,
                                            std::optional<std::string_view> version) {
  ServedModelPtr model = api.endpoints->Find(endpoint);
  if (!model) return api.endpoints->NotServing(endpoint);
  if (version && *version != model->version_text) {
    return absl::NotFoundError(Cat("endpoint \"", endpoint, "\" serves version ",
                                   model->version_text, ", not version ", *version));
  }
  return model;
}

std::optional<std::string_view> VersionParam(const Request& request) {
  std::string_view v = request.PathParam("version");
  return v.empty() ? std::nullopt : std::optional<std::string_view>(v);
}

absl::StatusOr<Response> InferV2(const ServingApi& api, Request& request) {
  thread_local serving::RequestFrame frame;
  thread_local serving::InferenceResult result;
  ASSIGN_OR_RETURN(std::optional<size_t> header_length, BinaryHeaderLength(request));
  RETURN_IF_ERROR(serving::DecodeV2Request(request.body(), header_length, api.limits, frame));
  const std::string_view endpoint = request.PathParam("model");
  RETURN_IF_ERROR(api.inference->Infer(endpoint, VersionParam(request), frame, result));

  bool binary = frame.binary_output_default;
  for (size_t i = 0; i < frame.outputs.size(); ++i) {
    if (frame.outputs[i] != serving::kPredictOutput) {
      return absl::InvalidArgumentError(Cat("unknown output \"", frame.outputs[i],
                                            "\"; endpoint \"", endpoint, "\" has output \"",
                                            serving::kPredictOutput, "\""));
    }
    if (i < frame.binary_outputs.size()) binary = frame.binary_outputs[i];
  }
  const serving::ServedModel& model = *result.model;
  serving::OutputTensor output{serving::kPredictOutput, result.rows, model.num_outputs,
                               result.outputs, binary};
  serving::V2ResponseHead head{endpoint, model.version_text, frame.id, result.prediction_ids};
  Response response;
  std::optional<size_t> json_length;
  serving::EncodeV2Response(head, {&output, 1}, response.body, &json_length);
  if (json_length) {
    response.content_type = kOctetStream;
    response.headers.emplace_back(std::string(kBinaryHeader), std::to_string(*json_length));
  }
  result.model.reset();  // the version may unload once the response is built
  return response;
}

absl::StatusOr<Response> PredictV1(const ServingApi& api, Request& request) {
  thread_local serving::RequestFrame frame;
  thread_local serving::InferenceResult result;
  RETURN_IF_ERROR(serving::DecodeV1Request(request.body(), api.limits, frame));
  RETURN_IF_ERROR(api.inference->Infer(request.PathParam("model"), std::nullopt, frame, result));
  const serving::ServedModel& model = *result.model;
  serving::OutputTensor output{serving::kPredictOutput, result.rows, model.num_outputs,
                               result.outputs, false};
  Response response;
  serving::EncodeV1Response(model.version_text, output, result.prediction_ids, response.body);
  result.model.reset();
  return response;
}

absl::StatusOr<Response> Deploy(ServingApi& api, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"model", "missing_features", "monitoring", "actor"}));
  ASSIGN_OR_RETURN(std::string model, StringField(body, "model"));
  ASSIGN_OR_RETURN(std::string policy, StringField(body, "missing_features", "error"));
  ASSIGN_OR_RETURN(std::string actor, StringField(body, "actor", "api"));
  if (model.empty())
    return absl::InvalidArgumentError("\"model\" is required: NAME@V or NAME@ALIAS");
  serving::DeployOptions options;
  options.endpoint = std::string(request.PathParam("endpoint"));
  ASSIGN_OR_RETURN(options.model, registry::ParseModelRef(model));
  ASSIGN_OR_RETURN(options.missing_features, serving::ParseMissingFeaturePolicy(policy));
  options.actor = std::move(actor);
  if (auto monitoring = body.find("monitoring");
      monitoring != body.end() && !monitoring->is_null()) {
    if (!monitoring->is_object()) {
      return absl::InvalidArgumentError("\"monitoring\" must be an object (a monitoring policy)");
    }
    ASSIGN_OR_RETURN(options.monitoring, monitoring::MonitoringPolicyFromJson(*monitoring));
  } else if (absl::StatusOr<serving::Deployment> existing =
                 api.endpoints->deployments().Get(options.endpoint);
             existing.ok()) {
    options.monitoring = existing->monitoring;  // a new model keeps the endpoint's policy
  }
  RETURN_IF_ERROR(api.endpoints->deployments().Put(options).status());
  RETURN_IF_ERROR(api.endpoints->Refresh());
  ASSIGN_OR_RETURN(EndpointStatus status, api.endpoints->Status(options.endpoint));
  return server::JsonResponse(EndpointJson(status, api.workspace->clock().NowMicros()));
}

absl::StatusOr<Response> Feedback(ServingApi& api, Request& request) {
  if (api.log == nullptr) return absl::UnavailableError("the prediction log is not open");
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"feedback"}));
  const auto it = body.find("feedback");
  if (it == body.end() || !it->is_array()) {
    return absl::InvalidArgumentError(
        "expected {\"feedback\": [{\"prediction_id\": ID, \"label\": NUMBER}, ...]}");
  }
  std::vector<serving::Feedback> feedback;
  feedback.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    if (!entry.is_object()) {
      return absl::InvalidArgumentError(Cat("feedback ", i, ": expected an object"));
    }
    RETURN_IF_ERROR(OnlyKeys(entry, {"prediction_id", "label"}));
    serving::Feedback f;
    ASSIGN_OR_RETURN(f.prediction_id, StringField(entry, "prediction_id"));
    const auto label = entry.find("label");
    if (label == entry.end() || !(label->is_number() || label->is_boolean())) {
      return absl::InvalidArgumentError(Cat("feedback ", i, ": \"label\" must be a number"));
    }
    f.label = label->is_boolean() ? (label->get<bool>() ? 1.0 : 0.0) : label->get<double>();
    feedback.push_back(std::move(f));
  }
  ASSIGN_OR_RETURN(serving::FeedbackResult result, api.log->AddFeedback(feedback));
  return server::JsonResponse(json{{"accepted", result.accepted},
                                   {"unknown", result.unknown},
                                   {"unknown_ids", result.unknown_ids}});
}

}  // namespace

ServingApi::~ServingApi() {
  if (rollouts) rollouts->Stop();
  if (endpoints) endpoints->Stop();
  rollouts.reset();
}

absl::StatusOr<std::shared_ptr<ServingApi>> OpenServing(
    store::Workspace& workspace, std::shared_ptr<features::SharedOnlineStore> online,
    std::shared_ptr<const store::Leadership> leadership) {
  const core::ServingConfig& config = workspace.config().serving;
  auto api = std::make_shared<ServingApi>();
  api->workspace = &workspace;
  ASSIGN_OR_RETURN(api->datasets, dataset::DatasetStore::Open(workspace));
  api->online = std::move(online);
  api->limits.max_rows = static_cast<size_t>(config.max_batch_rows);
  serving::EndpointManagerOptions options;
  options.poll_interval = std::chrono::milliseconds(config.poll_interval_ms);
  options.batching.max_delay = std::chrono::microseconds(config.batching_max_delay_us);
  options.batching.max_rows = static_cast<size_t>(config.batching_max_rows);
  ASSIGN_OR_RETURN(options.evaluator, serving::ParseEvaluatorChoice(config.evaluator));
  options.monitoring = config.monitoring;
  options.monitoring_max_rows_per_second = config.monitoring_max_rows_per_second;
  ASSIGN_OR_RETURN(api->endpoints, serving::EndpointManager::Open(workspace, options));
  ASSIGN_OR_RETURN(api->log, serving::PredictionLog::Open(workspace, config));
  api->inference = std::make_unique<serving::InferenceService>(
      *api->endpoints, api->online.get(), api->log.get(), workspace.clock_ptr());
  ASSIGN_OR_RETURN(api->rollouts, serving::RolloutRuntime::Open(
                                      workspace, *api->endpoints, api->log.get(),
                                      std::chrono::milliseconds(config.rollout_tick_ms)));
  api->monitoring = std::make_unique<serving::MonitoringService>(*api->endpoints, api->log.get(),
                                                                 workspace.clock_ptr());
  if (absl::Status status = api->endpoints->Refresh(); !status.ok()) {
    spdlog::warn("serving: reading deployments: {}", core::View(status.message()));
  }
  api->endpoints->Start();
  api->rollouts->set_leadership(std::move(leadership));
  api->rollouts->Start();
  return api;
}

absl::Status AddInferenceRoutes(server::Router& router, store::Workspace& workspace,
                                std::shared_ptr<ServingApi> api) {
  (void)workspace;
  const auto metadata = [api](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(ServedModelPtr model,
                     ServingModel(*api, request.PathParam("model"), VersionParam(request)));
    return server::JsonTextResponse(model->metadata_json);
  };
  RETURN_IF_ERROR(router.Get("/v2/models/{model}", Protocol(metadata)));
  RETURN_IF_ERROR(router.Get("/v2/models/{model}/versions/{version}", Protocol(metadata)));
  const auto ready = [api](Request& request) -> absl::StatusOr<Response> {
    const std::string_view endpoint = request.PathParam("model");
    absl::StatusOr<ServedModelPtr> model = ServingModel(*api, endpoint, VersionParam(request));
    if (model.status().code() == absl::StatusCode::kUnavailable) {
      return server::JsonResponse(json{{"name", endpoint}, {"ready", false}}, 400);
    }
    RETURN_IF_ERROR(model.status());
    return server::JsonResponse(json{{"name", endpoint}, {"ready", true}});
  };
  RETURN_IF_ERROR(router.Get("/v2/models/{model}/ready", Protocol(ready)));
  RETURN_IF_ERROR(router.Get("/v2/models/{model}/versions/{version}/ready", Protocol(ready)));
  const auto infer = [api](Request& request) { return InferV2(*api, request); };
  RETURN_IF_ERROR(router.Post("/v2/models/{model}/infer", Protocol(infer)));
  RETURN_IF_ERROR(router.Post("/v2/models/{model}/versions/{version}/infer", Protocol(infer)));

  RETURN_IF_ERROR(router.Post("/v1/models/{model}:predict", Protocol([api](Request& request) {
                                return PredictV1(*api, request);
                              })));
  RETURN_IF_ERROR(router.Get(
      "/v1/models/{model}", Protocol([api](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(EndpointStatus status, api->endpoints->Status(request.PathParam("model")));
        json versions = json::array();
        if (status.serving) {
          versions.push_back({{"version", status.serving->version_text},
                              {"state", "AVAILABLE"},
                              {"status", {{"error_code", "OK"}, {"error_message", ""}}}});
        } else {
          versions.push_back(
              {{"version",
                status.target_version ? std::to_string(*status.target_version) : std::string()},
               {"state", "LOADING"},
               {"status", {{"error_code", "UNAVAILABLE"}, {"error_message", status.reason}}}});
        }
        return server::JsonResponse(json{{"model_version_status", std::move(versions)}});
      })));

  RETURN_IF_ERROR(router.Get("/api/v1/endpoints", [api](Request&) -> absl::StatusOr<Response> {
    json out = json::array();
    for (const EndpointStatus& status : api->endpoints->Statuses()) {
      out.push_back(EndpointJson(status, api->workspace->clock().NowMicros()));
    }
    const serving::PredictionLogStats log = api->log->stats();
    return server::JsonResponse(json{{"endpoints", std::move(out)},
                                     {"prediction_log",
                                      {{"recorded", log.recorded},
                                       {"written", log.written},
                                       {"dropped", log.dropped},
                                       {"failed", log.failed}}}});
  }));
  RETURN_IF_ERROR(router.Get(
      "/api/v1/endpoints/{endpoint}", [api](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(EndpointStatus status,
                         api->endpoints->Status(request.PathParam("endpoint")));
        return server::JsonResponse(EndpointJson(status, api->workspace->clock().NowMicros()));
      }));
  RETURN_IF_ERROR(router.Put("/api/v1/endpoints/{endpoint}",
                             [api](Request& request) { return Deploy(*api, request); }));
  RETURN_IF_ERROR(router.Delete("/api/v1/endpoints/{endpoint}",
                                [api](Request& request) -> absl::StatusOr<Response> {
                                  const std::string_view endpoint = request.PathParam("endpoint");
                                  RETURN_IF_ERROR(api->endpoints->deployments().Delete(endpoint));
                                  RETURN_IF_ERROR(api->endpoints->Refresh());
                                  return server::JsonResponse(json{{"deleted", endpoint}});
                                }));
  RETURN_IF_ERROR(router.Get(
      "/api/v1/deployments/{endpoint}/monitoring",
      [api](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(request.query()));
        RETURN_IF_ERROR(params.OnlyThese({"distributions"}));
        ASSIGN_OR_RETURN(bool distributions, params.GetBool("distributions", false));
        ASSIGN_OR_RETURN(json report,
                         api->monitoring->Report(request.PathParam("endpoint"), distributions));
        return server::JsonResponse(report);
      }));
  RETURN_IF_ERROR(router.Get(
      "/api/v1/endpoints/{endpoint}/predictions",
      [api](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(request.query()));
        RETURN_IF_ERROR(params.OnlyThese({"limit", "labeled"}));
        size_t limit = 100;
        if (std::optional<std::string> text = params.Get("limit")) {
          auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
          if (ec != std::errc() || end != text->data() + text->size() || limit == 0 ||
              limit > kMaxListedPredictions) {
            return absl::InvalidArgumentError(
                Cat("limit must be 1..", kMaxListedPredictions, ", got \"", *text, "\""));
          }
        }
        ASSIGN_OR_RETURN(bool labeled, params.GetBool("labeled", false));
        const std::string_view endpoint = request.PathParam("endpoint");
        RETURN_IF_ERROR(api->endpoints->Status(endpoint).status());
        api->log->Flush();
        ASSIGN_OR_RETURN(std::vector<serving::LoggedPrediction> rows,
                         api->log->Recent(endpoint, limit, labeled));
        json out = json::array();
        for (const serving::LoggedPrediction& p : rows) out.push_back(PredictionJson(p));
        return server::JsonResponse(json{{"predictions", std::move(out)}});
      }));
  RETURN_IF_ERROR(
      router.Post("/api/v1/feedback", [api](Request& request) { return Feedback(*api, request); }));
  return absl::OkStatus();
}

}  // namespace ferry::api
