// Chi-square, two-proportion z and Wasserstein from two_sample_tests.h (Kolmogorov-Smirnov
// is in kolmogorov_smirnov.cc).

#include "stats/two_sample_tests.h"

#include <algorithm>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "stats/sample_checks.h"

namespace ferry::stats {
namespace {

// Boost.Math reports errors by throwing unless told otherwise; the arguments below are
// checked first, so errno (never read) only guards against what cannot happen.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>>;

// P(X >= x) for X ~ chi-square with `dof` >= 1 degrees of freedom (scipy.stats.chi2.sf).
double ChiSquareSurvival(double x, int64_t dof) {
  if (!(x > 0)) return 1;
  if (std::isinf(x)) return 0;
  return boost::math::gamma_q(static_cast<double>(dof) / 2, x / 2, NoThrow());
}

std::vector<double> AsDoubles(std::span<const uint64_t> counts) {
  return std::vector<double>(counts.begin(), counts.end());
}

uint64_t Total(std::span<const uint64_t> counts) {
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  return total;
}

absl::Status CheckFiniteSortedSample(std::span<const double> sample, std::string_view name) {
  RETURN_IF_ERROR(CheckSortedSample(sample, name));
  // Sorted, so an infinity can only be at an end.
  if (!sample.empty() && (std::isinf(sample.front()) || std::isinf(sample.back()))) {
    return absl::InvalidArgumentError(core::Cat("sample ", name, " holds an infinity"));
  }
  return absl::OkStatus();
}

// Population standard deviation, two passes as numpy's np.std (ddof=0).
double PopulationStdDev(std::span<const double> sample) {
  const double n = static_cast<double>(sample.size());
  double sum = 0;
  for (double x : sample) sum += x;
  const double mean = sum / n;
  double squares = 0;
  for (double x : sample) squares += (x - mean) * (x - mean);
  return std::sqrt(squares / n);
}

}  // namespace

absl::StatusOr<std::optional<ChiSquareResult>> ChiSquareGoodnessOfFit(
    std::span<const double> observed, std::span<const double> expected) {
  RETURN_IF_ERROR(CheckSameLength(observed.size(), expected.size(), "chi-square categories"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(observed, "observed frequency"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(expected, "expected frequency"));
  double observed_sum = 0;
  double expected_sum = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    observed_sum += observed[i];
    expected_sum += expected[i];
  }
  if (observed_sum == 0 && expected_sum == 0) return std::nullopt;
  // scipy's own check: the two must describe the same number of observations.
  constexpr double kSumTolerance = 1e-8;
  if (!(std::abs(observed_sum - expected_sum) <=
        kSumTolerance * std::min(observed_sum, expected_sum))) {
    return absl::InvalidArgumentError(core::Cat(
        "chi-square frequencies must have the same sum within 1e-8 relative: ", observed_sum,
        " observed against ", expected_sum, " expected"));
  }
  ChiSquareResult result;
  int64_t categories = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double o = observed[i];
    const double e = expected[i];
    if (e == 0 && o == 0) continue;
    ++categories;
    result.statistic += e == 0 ? std::numeric_limits<double>::infinity() : (o - e) * (o - e) / e;
  }
  result.degrees_of_freedom = categories - 1;
  if (result.degrees_of_freedom == 0) {
    // One category: o = e up to the rounding the sum check allows.
    result.statistic = 0;
    result.p_value = 1;
    return result;
  }
  result.p_value = ChiSquareSurvival(result.statistic, result.degrees_of_freedom);
  return result;
}

absl::StatusOr<std::optional<ChiSquareResult>> ChiSquareAgainstReference(
    std::span<const uint64_t> reference_counts, std::span<const uint64_t> current_counts) {
  RETURN_IF_ERROR(
      CheckSameLength(reference_counts.size(), current_counts.size(), "chi-square categories"));
  const uint64_t n_reference = Total(reference_counts);
  const uint64_t n_current = Total(current_counts);
  if (n_reference == 0 || n_current == 0) return std::nullopt;
  // The same operations as Evidently: one scale factor, then a product per category.
  const double scale = static_cast<double>(n_current) / static_cast<double>(n_reference);
  std::vector<double> expected = AsDoubles(reference_counts);
  for (double& e : expected) e *= scale;
  return ChiSquareGoodnessOfFit(AsDoubles(current_counts), expected);
}

absl::StatusOr<std::optional<ZTestResult>> TwoProportionZTest(
    std::span<const uint64_t> reference_counts, std::span<const uint64_t> current_counts) {
  RETURN_IF_ERROR(
      CheckSameLength(reference_counts.size(), current_counts.size(), "z-test categories"));
  if (reference_counts.size() > 2) {
    return absl::InvalidArgumentError(core::Cat("the z-test compares a binary feature, got ",
                                                reference_counts.size(), " categories"));
  }
  const uint64_t n_reference = Total(reference_counts);
  const uint64_t n_current = Total(current_counts);
  if (n_reference == 0 || n_current == 0) return std::nullopt;
  const double n1 = static_cast<double>(n_reference);
  const double n2 = static_cast<double>(n_current);
  const double p1 = static_cast<double>(reference_counts[0]) / n1;
  const double p2 = static_cast<double>(current_counts[0]) / n2;
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const double variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  // One category, or every value the same one: nothing differs (z would be 0 / 0).
  if (reference_counts.size() == 1 || variance == 0) return ZTestResult{};
  ZTestResult result;
  result.statistic = (p1 - p2) / std::sqrt(variance);
  // In long double: erfc(x) is relatively sensitive to x by a factor 2 x^2 (~1500 at
  // z = 28, p ~ 1e-170), so rounding z / sqrt 2 to double would cost 3 digits there.
  const long double x =
      std::abs(static_cast<long double>(result.statistic)) / std::numbers::sqrt2_v<long double>;
  result.p_value = static_cast<double>(boost::math::erfc(x, NoThrow()));
  return result;
}

absl::StatusOr<std::optional<double>> WassersteinDistance(std::span<const double> sorted_u,
                                                          std::span<const double> sorted_v) {
  RETURN_IF_ERROR(CheckFiniteSortedSample(sorted_u, "u"));
  RETURN_IF_ERROR(CheckFiniteSortedSample(sorted_v, "v"));
  if (sorted_u.empty() || sorted_v.empty()) return std::nullopt;
  const double n = static_cast<double>(sorted_u.size());
  const double m = static_cast<double>(sorted_v.size());
  size_t i = 0;
  size_t j = 0;
  double previous = std::min(sorted_u[0], sorted_v[0]);
  double distance = 0;
  // Between consecutive merged values both empirical CDFs are flat at i / n and j / m.
  while (i < sorted_u.size() || j < sorted_v.size()) {
    const double next = j == sorted_v.size()   ? sorted_u[i]
                        : i == sorted_u.size() ? sorted_v[j]
                                               : std::min(sorted_u[i], sorted_v[j]);
    distance +=
        std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m) * (next - previous);
    while (i < sorted_u.size() && sorted_u[i] == next) ++i;
    while (j < sorted_v.size() && sorted_v[j] == next) ++j;
    previous = next;
  }
  return distance;
}

absl::StatusOr<std::optional<double>> NormalizedWassersteinDistance(
    std::span<const double> sorted_reference, std::span<const double> sorted_current) {
  ASSIGN_OR_RETURN(const std::optional<double> distance,
                   WassersteinDistance(sorted_reference, sorted_current));
  if (!distance.has_value()) return std::nullopt;
  return *distance / std::max(PopulationStdDev(sorted_reference), kWassersteinMinScale);
}

}  // namespace ferry::stats
