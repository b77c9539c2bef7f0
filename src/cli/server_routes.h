#pragma once

// The routes `ferry server` (and `ferry demo`) serve for a workspace: health and
// Open Inference Protocol server metadata, and `GET /api/v1/workspace`. Capability
// routes (datasets, features, models, ...) are added here as they are built.

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::cli {

// `ready` answers /readyz and /v2/health/ready; the caller sets it once serving.
// The workspace must outlive the router.
absl::StatusOr<std::shared_ptr<server::Router>> BuildRouter(
    const store::Workspace& workspace, std::shared_ptr<std::atomic<bool>> ready);

}  // namespace ferry::cli
