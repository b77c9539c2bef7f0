#pragma once

// BuildRouter: the routes `ferry server` (and `ferry demo`) serve for a workspace:
// health and Open Inference Protocol server metadata, `GET /api/v1/workspace`, and
// each capability's API (datasets, ...).

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "api/pipeline_routes.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

// `ready` answers /readyz and /v2/health/ready; the caller sets it once serving.
// The workspace must outlive the router.
// `pipelines`: how pipeline runs that triggers start are executed (`ferry demo` runs
// them in-process, on its simulated clock).
absl::StatusOr<std::shared_ptr<server::Router>> BuildRouter(
    store::Workspace& workspace, std::shared_ptr<std::atomic<bool>> ready,
    const PipelineRunnerOptions& pipelines = {});

}  // namespace ferry::api
