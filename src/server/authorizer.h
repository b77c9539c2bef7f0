#pragma once

// Authorizer: the one hook that decides whether a request may run a mutating route.
// The Router calls it for every POST, PUT, PATCH and DELETE route after the route has
// matched and before its handler runs; handlers never call it, so no mutating route can
// skip it. Safe methods (GET, HEAD, OPTIONS) do not pass through it.
//
// Thread-safety: Authorize is called concurrently from every server thread, so
// implementations must be thread-safe.

#include <string_view>

#include "absl/status/status.h"
#include "server/http_message.h"

namespace ferry::server {

// The route a request matched, as registered.
struct RouteInfo {
  Method method;
  std::string_view pattern;  // e.g. "/v2/models/{model}/infer"; valid during the call
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // OkStatus lets the handler run. Any other status is returned to the client as the
  // JSON error body instead, mapped by core::MapStatusCode: PermissionDenied (403) when
  // the caller may not do this, Unauthenticated (401) when credentials are missing or
  // invalid. The request's path parameters are already set.
  virtual absl::Status Authorize(const Request& request, const RouteInfo& route) = 0;
};

// Allows everything: the default until ferry has users and tokens.
class AllowAllAuthorizer final : public Authorizer {
 public:
  absl::Status Authorize(const Request& request, const RouteInfo& route) override;
};

}  // namespace ferry::server
