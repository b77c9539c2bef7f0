#pragma once

// Dataset routes:
//   GET /api/v1/datasets                          every dataset with its latest version
//   GET /api/v1/datasets/{name}/versions          versions, newest first
//   GET /api/v1/datasets/{name}/versions/{ref}    one version (a number, a tag or
//                                                 "latest")
//   POST /api/v1/datasets/{name}/versions         the body is the file; query options
//        ?filename=NAME.csv&message=...&tag=...&format=csv|jsonl|opaque&lenient=true
//        201 with the new version, 200 when the bytes equal the latest version; errors
//        as `ferry data add` reports them. A streaming route: the body goes to a
//        private temporary file in .ferry/uploads/ as it arrives (Content-Length or
//        chunked, up to server.max_upload_bytes, 413 beyond), never whole into memory,
//        and is added as a version once complete (on the server's blocking pool). A
//        bad name, tag or option, or a disk without room for the announced size and
//        its add (429, resource_exhausted), is refused before the body is read. The
//        temporary file is removed in every outcome; a client that disconnects
//        mid-body leaves neither a version nor a file.
// Version bodies have the shape of dataset::VersionToJson.

#include "absl/status/status.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

// The workspace must outlive the router.
absl::Status AddDatasetRoutes(server::Router& router, store::Workspace& workspace);

}  // namespace ferry::api
