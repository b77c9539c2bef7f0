#pragma once

// Dataset routes:
//   GET /api/v1/datasets                          every dataset with its latest version
//   GET /api/v1/datasets/{name}/versions          versions, newest first
//   GET /api/v1/datasets/{name}/versions/{ref}    one version (a number, a tag or
//                                                 "latest"), with its profile
// Version bodies have the shape of dataset::VersionToJson.

#include "absl/status/status.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

// The workspace must outlive the router.
absl::Status AddDatasetRoutes(server::Router& router, store::Workspace& workspace);

}  // namespace ferry::api
