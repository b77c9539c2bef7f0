#pragma once

// The statistics drift_report.cc applies, on the shapes the live window has (sorted
// samples, category counts, shares of cells), with Evidently's conventions; the math
// itself is in src/stats, checked there against scipy.
//
// Errors: InvalidArgument for malformed input (different lengths, negative counts,
// unsorted samples); FailedPrecondition when a side is empty (no verdict possible).
//
// Thread-safety: pure functions.

#include <span>

#include "absl/status/statusor.h"

namespace ferry::monitoring {

struct TestResult {
  double statistic = 0;
  double p_value = 1;
};

// Two-sample Kolmogorov-Smirnov on sorted samples, two-sided.
absl::StatusOr<TestResult> KolmogorovSmirnovTest(std::span<const double> sorted_reference,
                                                 std::span<const double> sorted_live);
// Chi-square of live counts against the reference's counts scaled to the live total.
absl::StatusOr<TestResult> ChiSquareTest(std::span<const double> reference_counts,
                                         std::span<const double> live_counts);
// Two-proportion Z-test on the share of the first cell (two cells, or one).
absl::StatusOr<TestResult> TwoProportionZTest(std::span<const double> reference_counts,
                                              std::span<const double> live_counts);
// Jensen-Shannon distance of two count or share vectors: empty cells set to 0.0001,
// then both normalized, natural log (Evidently's jensenshannon test).
absl::StatusOr<double> EvidentlyJensenShannon(std::span<const double> reference,
                                              std::span<const double> live);
// PSI of two share vectors, shares below stats::kPsiEpsilon raised to it.
absl::StatusOr<double> PopulationStability(std::span<const double> reference_shares,
                                           std::span<const double> live_shares);

}  // namespace ferry::monitoring
