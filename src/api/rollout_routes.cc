#include "api/rollout_routes.h"

#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using server::Request;
using server::Response;
using serving::Rollout;
using serving::RolloutEvent;

constexpr int64_t kEventsShown = 100;

absl::StatusOr<json> RolloutJson(serving::RolloutStore& store, std::string_view endpoint) {
  ASSIGN_OR_RETURN(Rollout rollout, store.Get(endpoint));
  ASSIGN_OR_RETURN(std::vector<RolloutEvent> events, store.Events(endpoint, kEventsShown));
  json out = serving::RolloutToJson(rollout);
  json list = json::array();
  for (const RolloutEvent& e : events) list.push_back(serving::RolloutEventToJson(e));
  out["events"] = std::move(list);
  return out;
}

absl::StatusOr<Response> StartRollout(ServingApi& api, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"canary", "shadow", "policy", "actor"}));
  ASSIGN_OR_RETURN(std::string canary, StringField(body, "canary"));
  ASSIGN_OR_RETURN(std::string shadow, StringField(body, "shadow"));
  if (canary.empty() == shadow.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of \"canary\": \"NAME@V\" or \"shadow\": \"NAME@V\"");
  }
  serving::StartRolloutOptions options;
  options.endpoint = std::string(request.PathParam("endpoint"));
  options.kind = canary.empty() ? serving::RolloutKind::kShadow : serving::RolloutKind::kCanary;
  ASSIGN_OR_RETURN(options.candidate, registry::ParseModelRef(canary.empty() ? shadow : canary));
  if (auto policy = body.find("policy"); policy != body.end() && !policy->is_null()) {
    if (!policy->is_object()) {
      return absl::InvalidArgumentError("\"policy\" must be an object (docs/rollouts.md)");
    }
    ASSIGN_OR_RETURN(options.policy, serving::RolloutPolicyFromJson(*policy));
  }
  ASSIGN_OR_RETURN(options.actor, StringField(body, "actor", "api"));
  serving::RolloutStore& store = api.rollouts->store();
  RETURN_IF_ERROR(store.Start(options).status());
  RETURN_IF_ERROR(api.endpoints->Refresh());
  ASSIGN_OR_RETURN(json out, RolloutJson(store, options.endpoint));
  return server::JsonResponse(out, 201);
}

absl::StatusOr<Response> Act(ServingApi& api, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"actor", "reason"}));
  ASSIGN_OR_RETURN(std::string actor, StringField(body, "actor", "api"));
  ASSIGN_OR_RETURN(std::string reason, StringField(body, "reason"));
  const std::string_view endpoint = request.PathParam("endpoint");
  const std::string_view action = request.PathParam("action");
  serving::RolloutStore& store = api.rollouts->store();
  absl::StatusOr<RolloutEvent> event;
  if (action == "promote") {
    event = store.Promote(endpoint, actor, reason);
  } else if (action == "rollback") {
    event = store.Rollback(endpoint, actor, reason);
  } else if (action == "pause") {
    event = store.Pause(endpoint, actor, reason);
  } else if (action == "resume") {
    event = store.Resume(endpoint, actor, reason);
  } else {
    return absl::NotFoundError(
        Cat("no rollout action \"", action, "\"; use promote, rollback, pause or resume"));
  }
  RETURN_IF_ERROR(event.status());
  RETURN_IF_ERROR(api.endpoints->Refresh());
  return server::JsonResponse(serving::RolloutEventToJson(*event));
}

}  // namespace

absl::Status AddRolloutRoutes(server::Router& router, std::shared_ptr<ServingApi> api) {
  RETURN_IF_ERROR(router.Get("/api/v1/endpoints/{endpoint}/rollout",
                             [api](Request& request) -> absl::StatusOr<Response> {
                               ASSIGN_OR_RETURN(json out, RolloutJson(api->rollouts->store(),
                                                                      request.PathParam("endpoint")));
                               return server::JsonResponse(out);
                             }));
  RETURN_IF_ERROR(router.Post("/api/v1/endpoints/{endpoint}/rollout",
                              [api](Request& request) { return StartRollout(*api, request); }));
  RETURN_IF_ERROR(router.Post("/api/v1/endpoints/{endpoint}/rollout/{action}",
                              [api](Request& request) { return Act(*api, request); }));
  return absl::OkStatus();
}

}  // namespace ferry::api
