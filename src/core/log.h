#pragma once

// Logging: spdlog, to stderr, one logger for the process. Level names are those of
// the config's `log.level`. Secrets (tokens, passwords in URLs) are never passed to
// the logger; callers redact before logging.
//
// Thread-safety: spdlog's multi-threaded sink; safe from any thread.

#include <string_view>

#include "absl/status/status.h"

namespace ferry::core {

// Sets the process-wide level; InvalidArgument for an unknown level name.
absl::Status SetLogLevel(std::string_view level);

}  // namespace ferry::core
