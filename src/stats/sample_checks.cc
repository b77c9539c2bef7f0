#include "stats/sample_checks.h"

#include <cmath>

#include "core/strings.h"

namespace ferry::stats {

absl::Status CheckSortedSample(std::span<const double> sample, std::string_view name) {
  for (size_t i = 0; i < sample.size(); ++i) {
    if (std::isnan(sample[i])) {
      return absl::InvalidArgumentError(core::Cat("sample ", name, " holds NaN at ", i));
    }
    if (i > 0 && sample[i] < sample[i - 1]) {
      return absl::InvalidArgumentError(
          core::Cat("sample ", name, " is not sorted ascending at ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegativeFinite(std::span<const double> values, std::string_view name) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!(std::isfinite(values[i]) && values[i] >= 0)) {
      return absl::InvalidArgumentError(
          core::Cat(name, " ", i, " is not a finite number >= 0 (", values[i], ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSameLength(size_t a, size_t b, std::string_view what) {
  if (a == b) return absl::OkStatus();
  return absl::InvalidArgumentError(core::Cat(what, ": ", a, " against ", b));
}

}  // namespace ferry::stats
