#pragma once

// Which scopes a route needs (token.h): the one table of ferry's access rules.
//
//   health probes (/healthz, /readyz, /v2/health/*)      none (always open)
//   the dashboard's static files (/ui, /ui/...)          none (always open)
//   inference (/v2/.../infer, /v1/models/M:predict),
//   online feature lookups, feedback                      predict
//   the KServe v2 model metadata and readiness GETs       read or predict
//   other GET and HEAD, POST /api/v1/runs/search          read
//   tokens and the audit log, any DELETE                  admin
//   every other POST, PUT, PATCH                          write
//
// A route not named in the table falls to its method's default, so a new route is
// never open by accident: GET needs read, DELETE admin, anything else write.
//
// Thread-safety: stateless.

#include <functional>
#include <string_view>

#include "auth/token.h"
#include "server/http_message.h"

namespace ferry::auth {

// The scopes of which a request's token must grant at least one; 0 for open routes.
ScopeSet RequiredScopes(server::Method method, std::string_view pattern);

// True when a request to this route changes something that belongs in the audit log:
// the routes needing write or admin (not inference, lookups or reads).
bool IsAudited(server::Method method, std::string_view pattern);

// Each route the table names explicitly, for a test that they all exist.
void ForEachPolicyRoute(const std::function<void(server::Method, std::string_view)>& fn);

}  // namespace ferry::auth
