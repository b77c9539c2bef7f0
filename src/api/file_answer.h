#pragma once

// File answers: a response body built as a file for one request (a dataset version
// rebuilt from its chunks, a training set) and streamed from it (server/body_file.h).
// The file is written under a fresh name in `folder` (the workspace's .ferry/uploads/),
// opened, and unlinked at once, so it lives exactly as long as the response that sends
// it; a crash in the moment between leaves an unlocked file there, which the workspace
// removes when it next opens (store/temporary_files.h).
//
// Thread-safety: safe from any thread.

#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/body_file.h"
#include "server/http_message.h"

namespace ferry::api {

// Calls `write(path)` to create the file at a fresh path in `folder` (created if
// missing; `name` starts the file name, for whoever lists the folder meanwhile), then
// opens and unlinks it. Errors: `write`'s (nothing is left behind), or the
// filesystem's.
absl::StatusOr<std::shared_ptr<server::BodyFile>> BuildFileAnswer(
    const std::filesystem::path& folder, std::string_view name,
    const std::function<absl::Status(const std::filesystem::path&)>& write);

// The answer that streams `file`, whose content has the SHA-256 `sha256_hex`: the content
// type, and the digest as `ETag: "sha256:HEX"` and `X-Ferry-Sha256: HEX` (what clients
// check a download against).
server::Response VerifiedFileResponse(std::shared_ptr<server::BodyFile> file,
                                      std::string_view content_type, std::string_view sha256_hex);

}  // namespace ferry::api
