#include "server/health_routes.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/build_info.h"
#include "core/status.h"

namespace ferry::server {

absl::Status AddHealthRoutes(Router& router, ReadinessCheck is_ready,
                             std::vector<std::string> extensions) {
  auto ready = std::make_shared<ReadinessCheck>(std::move(is_ready));
  auto check = [ready] { return !*ready || (*ready)(); };

  RETURN_IF_ERROR(router.Get("/healthz", [](Request&) -> absl::StatusOr<Response> {
    return JsonTextResponse(R"({"status":"ok"})");
  }));
  RETURN_IF_ERROR(router.Get("/readyz", [check](Request&) -> absl::StatusOr<Response> {
    if (check()) return JsonTextResponse(R"({"status":"ready"})");
    return JsonTextResponse(R"({"status":"not_ready"})", 503);
  }));

  std::string metadata = nlohmann::ordered_json{{"name", "ferry"},
                                                {"version", core::kFerryVersion},
                                                {"extensions", std::move(extensions)}}
                             .dump();
  RETURN_IF_ERROR(router.Get("/v2", [metadata](Request&) -> absl::StatusOr<Response> {
    return JsonTextResponse(metadata);
  }));
  RETURN_IF_ERROR(router.Get("/v2/health/live", [](Request&) -> absl::StatusOr<Response> {
    return JsonTextResponse(R"({"live":true})");
  }));
  RETURN_IF_ERROR(router.Get("/v2/health/ready", [check](Request&) -> absl::StatusOr<Response> {
    if (check()) return JsonTextResponse(R"({"ready":true})");
    return JsonTextResponse(R"({"ready":false})", 400);
  }));
  return absl::OkStatus();
}

}  // namespace ferry::server
