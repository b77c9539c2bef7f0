#pragma once

// The one place where a Status becomes something a user sees: an HTTP status with a
// stable machine-readable code for the JSON error body, and a CLI exit code.
//
// Exit codes (documented in the README's configuration reference):
//   0 ok, 1 internal/unknown, 2 invalid input or usage, 3 not found,
//   4 already exists or conflicting state, 5 data loss or corruption,
//   6 unavailable (busy, shutting down, timed out), 7 permission denied.

#include <string_view>

#include "absl/status/status.h"

namespace ferry::core {

struct ErrorMapping {
  int http_status;
  std::string_view code;  // e.g. "not_found", used in {"error": {"code": ...}}
  int exit_code;
};

// Never fails; unknown codes map to 500 / "internal" / 1.
ErrorMapping MapStatusCode(absl::StatusCode code);

}  // namespace ferry::core
