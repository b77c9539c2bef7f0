#pragma once

// Durations as Prometheus writes them in rule files and range selectors: units from
// years to milliseconds in descending order, each at most once ("90s", "5m", "1h30m",
// "2d", "500ms"; "0" alone is zero). 1y = 365d, 1w = 7d.
//
// Thread-safety: pure functions.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::alerts {

// InvalidArgument ("\"10x\" is not a duration (e.g. 30s, 5m, 1h30m)") for anything else,
// and for durations beyond 100 years.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest text ParseDuration reads back ("1h30m", "0s").
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace ferry::alerts
