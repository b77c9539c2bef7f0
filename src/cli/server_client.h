#pragma once

// Asking a running `ferry server` from the command line (`deploy status --server`,
// `monitor`): GET a route and read its JSON answer.
//
// Thread-safety: stateless.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace ferry::cli {

// GET `target` from the server at `url` (http://HOST:PORT). The answer's JSON object when
// it says 200; else {"reachable": false, "error": ...} when nothing answered, or
// {"http_status": ..., "error": ...} (the server's message). InvalidArgument for a
// malformed or https:// URL.
// `token` (FERRY_TOKEN), when given, goes as "Authorization: Bearer TOKEN".
absl::StatusOr<nlohmann::json> GetFromServer(const std::string& url, std::string_view target,
                                             std::chrono::milliseconds timeout,
                                             const std::optional<std::string>& token);

// "Bearer TOKEN" for FERRY_TOKEN, or "" without one.
std::string BearerOf(const std::optional<std::string>& token);

}  // namespace ferry::cli
