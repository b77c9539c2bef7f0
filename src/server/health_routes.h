#pragma once

// Health and metadata routes every ferry server answers:
//   GET /healthz          200 {"status":"ok"} while the process serves at all
//   GET /readyz           200 {"status":"ready"} / 503 {"status":"not_ready"}
//   GET /v2               Open Inference Protocol v2 server metadata:
//                         {"name":"ferry","version":"<core::kFerryVersion>","extensions":[]}
//   GET /v2/health/live   200 {"live":true}
//   GET /v2/health/ready  200 {"ready":true} / 400 {"ready":false} (the OIP spec asks
//                         for a non-200 status when not ready; ferry uses 400)
// Bodies are precomputed: these routes are what load balancers and benchmarks hit.
//
// Thread-safety: is_ready is called concurrently from every server thread, once per
// readiness request; it must be thread-safe and cheap (e.g. read an atomic).

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/router.h"

namespace ferry::server {

using ReadinessCheck = std::function<bool()>;

// Registers the routes above; an empty is_ready means "always ready". `extensions`
// are the protocol extensions GET /v2 advertises (e.g. "binary_tensor_data").
// AlreadyExists when one of the routes is already registered.
absl::Status AddHealthRoutes(Router& router, ReadinessCheck is_ready = {},
                             std::vector<std::string> extensions = {});

}  // namespace ferry::server
