#pragma once

// The training pipelines API of `ferry server`, and the trigger runner the server runs
// (pipeline/trigger_runner.h; docs/pipelines.md, "Triggers and the HTTP API"):
//
//   GET  /api/v1/pipelines                   applied pipelines, each with its triggers and
//                                            its last run
//   GET  /api/v1/pipelines/{name}/runs       its runs, newest first: ?limit=N (50)
//   POST /api/v1/pipelines/{name}/runs       a manual trigger: body (optional)
//                                            {"params": {...}, "force": bool, "actor": "..."};
//                                            202 {"outcome": "started" | "queued" |
//                                            "coalesced", "run": {...}}; 404 for a pipeline
//                                            not applied, 400 for an undeclared param, 503
//                                            when pipelines.enabled is false
//   GET  /api/v1/pipelines/{name}/triggers   what its triggers did, newest first: ?limit=N
//   GET  /api/v1/pipeline-runs/{id}          one run with its steps (id or a unique prefix)
//   POST /api/v1/pipeline-runs/{id}/cancel   asks the run to stop (a queued run is cancelled
//                                            at once); 409 when it has ended
//
// Like every mutating route, the POSTs pass through the server's Authorizer first.
//
// Thread-safety: handlers run concurrently; the runner and the store are thread-safe.

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "pipeline/run_store.h"
#include "pipeline/trigger_runner.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

struct PipelinesApi {
  std::unique_ptr<pipeline::PipelineRunStore> runs;
  // Null when pipelines.enabled is false. Destroying it stops its thread.
  std::unique_ptr<pipeline::TriggerRunner> triggers;
};

// How the trigger runner starts the runs' executors, and its options.
struct PipelineRunnerOptions {
  // Default (null): a process of this binary per run (ProcessRunLauncher).
  std::function<std::unique_ptr<pipeline::RunLauncher>()> launcher;
  pipeline::TriggerRunnerOptions triggers;
};

// Opens the run store and, unless pipelines.enabled is false, a trigger runner ticking
// every pipelines.trigger_interval_ms.
absl::StatusOr<std::shared_ptr<PipelinesApi>> OpenPipelines(
    store::Workspace& workspace, const PipelineRunnerOptions& options = {});

absl::Status AddPipelineRoutes(server::Router& router, std::shared_ptr<PipelinesApi> api);

}  // namespace ferry::api
