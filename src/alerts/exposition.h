#pragma once

// Reading the Prometheus text exposition format (version 0.0.4), what `GET /metrics`
// answers: the samples the alert evaluator works on, so alert rules see every metric
// ferry exports, now or later.
//
//   # HELP name text           \  read and checked for form, otherwise ignored
//   # TYPE name counter        /  (any other "#" line is a comment)
//   name{label="value",...} 1.5 [timestamp_ms]
//
// Label values unescape \\, \" and \n; values are floats as Go writes them, NaN, +Inf
// and -Inf included. Histogram and summary series (_bucket, _sum, _count) are series
// like any other.
//
// Thread-safety: pure function.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/labels.h"

namespace ferry::alerts {

struct Sample {
  Labels labels;  // the metric name as "__name__"
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

// InvalidArgument naming the line and what is wrong with it (a malformed line, a
// duplicate series); ResourceExhausted when the text has more than `max_series` samples.
absl::StatusOr<std::vector<Sample>> ParseExposition(std::string_view text, size_t max_series);

}  // namespace ferry::alerts
