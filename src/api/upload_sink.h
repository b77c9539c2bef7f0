#pragma once

// FileUploadSink: the BodySink of every upload route (dataset versions, run artifacts,
// model versions): the body streams into a private (0600) temporary file in `folder`
// (.ferry/uploads/) as it arrives, and once it is complete `finish` gets the file's
// path and answers the request (on the server's blocking pool, so it may take long).
// The file is removed in every outcome: when `finish` returns, whatever it returns; on
// Abort; and when the sink is destroyed unfinished.
//
// Thread-safety: as any BodySink (server/body_sink.h).

#include <filesystem>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "server/body_sink.h"

namespace ferry::api {

using UploadFinish =
    std::function<absl::StatusOr<server::Response>(const std::filesystem::path& file)>;

// `what` names the upload in logs ("dataset scores"). Errors: the filesystem's when
// the folder or file cannot be created.
absl::StatusOr<server::BodySinkPtr> CreateFileUploadSink(const std::filesystem::path& folder,
                                                         std::string what, UploadFinish finish);

// For a GET whose answer takes long to build (a dataset version rebuilt for download):
// registered as a streaming route, its work runs in `finish` on the blocking pool instead
// of on an IO thread that serves other connections. A request body is refused (400).
server::BodySinkPtr CreateNoBodySink(std::function<absl::StatusOr<server::Response>()> finish);

}  // namespace ferry::api
