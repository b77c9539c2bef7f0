#pragma once

// Dataset routes:
//   GET /api/v1/datasets                          every dataset with its latest version
//   GET /api/v1/datasets/{name}/versions          versions, newest first
//   GET /api/v1/datasets/{name}/versions/{ref}    one version (a number, a tag or
//                                                 "latest")
//   POST /api/v1/datasets/{name}/versions         the body is the file; query options
//        ?filename=NAME.csv&message=...&tag=...&format=csv|jsonl|opaque&lenient=true
//        201 with the new version, 200 when the bytes equal the latest version. Bodies
//        are bounded by server.max_body_bytes (413 beyond); larger files go through
//        `ferry data add`.
// Version bodies have the shape of dataset::VersionToJson.

#include "absl/status/status.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

// The workspace must outlive the router.
absl::Status AddDatasetRoutes(server::Router& router, store::Workspace& workspace);

}  // namespace ferry::api
