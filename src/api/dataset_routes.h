#pragma once

// Dataset routes:
//   GET /api/v1/datasets                          every dataset with its latest version
//   GET /api/v1/datasets/{name}/versions          versions, newest first
//   GET /api/v1/datasets/{name}/versions/{ref}    one version (a number, a tag or
//                                                 "latest")
//   GET /api/v1/datasets/{name}/versions/{ref}/content
//        the version's file, byte-identical (every chunk and the whole file's SHA-256
//        verified while it is rebuilt), streamed; Content-Type text/csv;
//        charset=utf-8, application/x-ndjson or application/octet-stream by format,
//        Content-Disposition: attachment; filename="SOURCE" (NAME-vN.EXT when the
//        source name is not a plain file name), ETag: "sha256:HEX", X-Ferry-Sha256:
//        HEX. 404 as for the version itself; 429 (resource_exhausted) when .ferry has no
//        room for the rebuilt file. The file is rebuilt into a temporary file in
//        .ferry/uploads/ (unlinked once open) on the request's IO thread before the
//        answer starts, so that thread's other connections wait meanwhile.
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
