#pragma once

// Model registry routes (shapes of registry/model_record.h's JSON; docs/model-registry.md):
//   GET    /api/v1/models                                   {"models": [...]}
//   GET    /api/v1/models/{name}                            the model, its versions and
//                                                           alias history
//   POST   /api/v1/models/{name}/versions?flavor=xgboost&run=ID&signature=JSON&reference=REF
//          &description=...&actor=...   the body is the model file (streamed) -> 201 version;
//          400 for a file libxgboost cannot load or a signature that disagrees
//   GET    /api/v1/models/{name}/versions/{ref}             a version (number, alias, "latest")
//   DELETE /api/v1/models/{name}/versions/{version}         409 while an alias points at it
//   GET    /api/v1/models/{name}/versions/{ref}/lineage?direction=upstream|downstream
//                                                           {"root", "nodes", "edges", ...}
//   PUT    /api/v1/models/{name}/versions/{ref}/tags/{key}  {"value": ...}; DELETE removes
//   GET    /api/v1/models/{name}/aliases                    {"aliases": {...}, "history": [...]}
//   PUT    /api/v1/models/{name}/aliases/{alias}            {"version", "actor", "reason"}
//   DELETE /api/v1/models/{name}/aliases/{alias}?actor=&reason=

#include <memory>

#include "absl/status/status.h"
#include "registry/model_registry.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

// Opens the registry's stores for the router (they live as long as it does). The
// workspace must outlive the router.
absl::Status AddModelRoutes(server::Router& router, store::Workspace& workspace);

}  // namespace ferry::api
