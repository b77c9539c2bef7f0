#pragma once

// The rollout API of `ferry server` (what `ferry deploy --canary|--shadow`, `deploy
// promote|rollback|pause|resume` and `deploy status` do, over HTTP):
//
//   GET  /api/v1/endpoints/{endpoint}/rollout            the latest rollout and its events
//   POST /api/v1/endpoints/{endpoint}/rollout            start: {"canary": "NAME@V"} or
//                                                         {"shadow": "NAME@V"}, optional
//                                                         "policy": {...} (docs/rollouts.md),
//                                                         "actor"
//   POST /api/v1/endpoints/{endpoint}/rollout/{action}   promote, rollback, pause, resume;
//                                                         optional {"actor", "reason"}
//
// Every change takes effect on this server at once (the endpoints are refreshed) and on
// others within serving.poll_interval_ms. Errors as every ferry API: 400 bad input, 404
// unknown endpoint or rollout, 409 a transition the rollout's phase does not allow.

#include <memory>

#include "absl/status/status.h"
#include "api/inference_routes.h"
#include "server/router.h"

namespace ferry::api {

absl::Status AddRolloutRoutes(server::Router& router, std::shared_ptr<ServingApi> api);

}  // namespace ferry::api
