#pragma once

// Input checks shared by the statistics in this folder, so that every function refuses
// malformed input with the same InvalidArgument message shape: what is wrong, which
// input (`name`) and the first offending position.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace ferry::stats {

// OK when `sample` is sorted ascending and holds no NaN (infinities are allowed: they
// order like any other value).
absl::Status CheckSortedSample(std::span<const double> sample, std::string_view name);

// OK when every value is finite and >= 0 (counts, frequencies, proportions).
absl::Status CheckNonNegativeFinite(std::span<const double> values, std::string_view name);

// OK when both sides have the same number of cells (categories, bins).
absl::Status CheckSameLength(size_t a, size_t b, std::string_view what);

}  // namespace ferry::stats
