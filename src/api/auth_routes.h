#pragma once

// Tokens and the audit log over HTTP (all need an admin token when tokens are on):
//
//   GET    /api/v1/tokens          unrevoked tokens (?all=true: revoked too); never secrets
//   POST   /api/v1/tokens          {"name", "scope", "expires_in": "30d", "rate_limit_per_second"}
//                                  -> 201 with the token's text, shown this once
//   DELETE /api/v1/tokens/{name}   revoke (by name or id)
//   GET    /api/v1/audit           newest first: ?since=1h&actor=&outcome=&limit=&before_id=
//
// Thread-safety: handlers run concurrently; the metadata store is thread-safe.

#include "absl/status/status.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

absl::Status AddAuthRoutes(server::Router& router, store::Workspace& workspace);

}  // namespace ferry::api
