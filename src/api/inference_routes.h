#pragma once

// The inference API of `ferry server`, on the models EndpointManager serves:
//
//   Open Inference Protocol v2 (KServe v2, Triton HTTP):
//     GET  /v2/models/{endpoint}                      metadata
//     GET  /v2/models/{endpoint}/ready                readiness (200, or 400 when not)
//     GET  /v2/models/{endpoint}/versions/{version}   (and .../ready)
//     POST /v2/models/{endpoint}/infer                JSON, or Triton's binary tensors
//     POST /v2/models/{endpoint}/versions/{version}/infer
//   TF Serving / KServe v1:
//     GET  /v1/models/{endpoint}                      version status
//     POST /v1/models/{endpoint}:predict              {"instances": [...]}
//   ferry:
//     GET    /api/v1/endpoints                        every endpoint's status
//     GET    /api/v1/endpoints/{endpoint}             one endpoint's status
//     PUT    /api/v1/endpoints/{endpoint}             deploy: {"model": "NAME@V|NAME@ALIAS",
//                                                     "missing_features": "error|missing"}
//     DELETE /api/v1/endpoints/{endpoint}
//     GET    /api/v1/endpoints/{endpoint}/predictions ?limit=N&labeled=true
//     POST   /api/v1/feedback                         {"feedback": [{"prediction_id": ID,
//                                                     "label": NUMBER}, ...]}
//
// Inference errors follow the protocols: {"error": "message"} with 400 (bad input), 404
// (unknown endpoint or version), 413 (over serving.max_batch_rows or the body limit),
// 503 (endpoint not ready). Every prediction response names the model version that
// served it and carries one prediction id per row (v2: the response's
// "parameters": {"prediction_ids": [...]}; v1: "prediction_ids").

#include <memory>

#include "absl/status/status.h"
#include "dataset/dataset_store.h"
#include "features/shared_online_store.h"
#include "serving/inference.h"
#include "serving/monitoring_service.h"
#include "serving/rollout_runtime.h"
#include "server/router.h"
#include "store/leadership.h"
#include "store/workspace.h"

namespace ferry::api {

// The serving state the routes share; owned by the router's handlers.
struct ServingApi {
  // Stops the threads in the order they depend on each other: the rollout controller,
  // then the deployment poller (which asks the rollout store), then the rest.
  ~ServingApi();

  store::Workspace* workspace = nullptr;
  std::unique_ptr<dataset::DatasetStore> datasets;  // for GET /metrics' data families
  std::unique_ptr<serving::EndpointManager> endpoints;
  std::unique_ptr<serving::PredictionLog> log;
  std::unique_ptr<serving::InferenceService> inference;
  std::unique_ptr<serving::RolloutRuntime> rollouts;
  std::unique_ptr<serving::MonitoringService> monitoring;  // before what it reads goes
  std::shared_ptr<features::SharedOnlineStore> online;
  serving::Limits limits;
};

// Opens the serving state for a workspace and starts following its deployments
// (a first Refresh now, then polling). Rollouts are analysed only while `leadership`
// says this server leads (null: always).
absl::StatusOr<std::shared_ptr<ServingApi>> OpenServing(
    store::Workspace& workspace, std::shared_ptr<features::SharedOnlineStore> online,
    std::shared_ptr<const store::Leadership> leadership = nullptr);

absl::Status AddInferenceRoutes(server::Router& router, store::Workspace& workspace,
                                std::shared_ptr<ServingApi> api);

}  // namespace ferry::api
