#pragma once

// Authorizer: the one hook that decides whether a request may run, and hears how it
// ended. The Router calls Authorize for every request that matched a route, whatever
// its method, after the match and before the handler; handlers never call it, so no
// route can skip it. The server calls OnResponse once the answer to such a request is
// known (the place for an audit log).
//
// Thread-safety: both are called concurrently from every server thread, so
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
  // JSON error body instead, mapped by core::MapStatusCode: Unauthenticated (401, sent
  // with "WWW-Authenticate: Bearer") when credentials are missing or invalid,
  // PermissionDenied (403) when the caller may not do this, ResourceExhausted (429,
  // sent with "Retry-After: 1") when the caller is over its rate. The request's path
  // parameters are already set; an authorizer may name the caller with
  // Request::SetPrincipal for the handler and OnResponse.
  virtual absl::Status Authorize(Request& request, const RouteInfo& route) = 0;
  // The answer to a request that passed through Authorize, allowed or not, once known
  // (for a streamed upload also a 413 or a failure after it was allowed; a request
  // refused before routing, such as a 413 judged from its Content-Length, never passed
  // through Authorize). Called on the connection's thread before the answer is sent.
  virtual void OnResponse(const Request& /*request*/, const Response& /*response*/) {}
};

// Allows everything: for servers that need no authentication (tests, in-process use).
class AllowAllAuthorizer final : public Authorizer {
 public:
  absl::Status Authorize(Request& request, const RouteInfo& route) override;
};

}  // namespace ferry::server
