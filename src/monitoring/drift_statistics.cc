#include "monitoring/drift_statistics.h"

#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/status.h"
#include "stats/distribution_shift.h"

namespace ferry::monitoring {
namespace {

absl::Status SameLength(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return absl::InvalidArgumentError("vectors of different lengths");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] >= 0 && b[i] >= 0)) return absl::InvalidArgumentError("a negative count");
  }
  return absl::OkStatus();
}

double Sum(std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

absl::StatusOr<TestResult> KolmogorovSmirnovTest(std::span<const double> sorted_reference,
                                                 std::span<const double> sorted_live) {
  ASSIGN_OR_RETURN(std::optional<stats::KolmogorovSmirnovResult> ks,
                   stats::KolmogorovSmirnov(sorted_reference, sorted_live));
  if (!ks) return absl::FailedPreconditionError("an empty side");
  return TestResult{ks->statistic, ks->p_value};
}

absl::StatusOr<TestResult> ChiSquareTest(std::span<const double> reference_counts,
                                         std::span<const double> live_counts) {
  RETURN_IF_ERROR(SameLength(reference_counts, live_counts));
  const double n_ref = Sum(reference_counts), n_live = Sum(live_counts);
  if (n_ref == 0 || n_live == 0) return absl::FailedPreconditionError("an empty side");
  if (reference_counts.size() < 2) return TestResult{0, 1};
  double chi2 = 0;
  for (size_t i = 0; i < live_counts.size(); ++i) {
    const double expected = reference_counts[i] * n_live / n_ref;
    const double d = live_counts[i] - expected;
    chi2 += expected == 0 ? (d == 0 ? 0 : std::numeric_limits<double>::infinity())
                          : d * d / expected;
  }
  const double dof = static_cast<double>(reference_counts.size() - 1);
  const double p = std::isinf(chi2) ? 0.0 : boost::math::gamma_q(dof / 2, chi2 / 2);
  return TestResult{chi2, p};
}

absl::StatusOr<TestResult> TwoProportionZTest(std::span<const double> reference_counts,
                                              std::span<const double> live_counts) {
  RETURN_IF_ERROR(SameLength(reference_counts, live_counts));
  const double n1 = Sum(reference_counts), n2 = Sum(live_counts);
  if (n1 == 0 || n2 == 0) return absl::FailedPreconditionError("an empty side");
  if (reference_counts.size() < 2) return TestResult{0, 1};
  const double p1 = reference_counts[0] / n1, p2 = live_counts[0] / n2;
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const double variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (variance == 0) return TestResult{0, 1};
  const double z = (p1 - p2) / std::sqrt(variance);
  return TestResult{z, boost::math::erfc(std::abs(z) / std::sqrt(2.0))};
}

absl::StatusOr<double> EvidentlyJensenShannon(std::span<const double> reference,
                                              std::span<const double> live) {
  RETURN_IF_ERROR(SameLength(reference, live));
  const double n_ref = Sum(reference), n_live = Sum(live);
  if (n_ref == 0 || n_live == 0) return absl::FailedPreconditionError("an empty side");
  std::vector<double> p(reference.size()), q(live.size());
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = reference[i] == 0 ? 0.0001 : reference[i] / n_ref;
    q[i] = live[i] == 0 ? 0.0001 : live[i] / n_live;
  }
  const double sp = Sum(p), sq = Sum(q);
  double divergence = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double a = p[i] / sp, b = q[i] / sq, m = (a + b) / 2;
    divergence += a * std::log(a / m) + b * std::log(b / m);
  }
  return std::sqrt(std::max(0.0, divergence / 2));
}

absl::StatusOr<double> PopulationStability(std::span<const double> reference_shares,
                                           std::span<const double> live_shares) {
  RETURN_IF_ERROR(SameLength(reference_shares, live_shares));
  double psi = 0;
  for (size_t i = 0; i < reference_shares.size(); ++i) {
    const double e = std::max(reference_shares[i], stats::kPsiEpsilon);
    const double a = std::max(live_shares[i], stats::kPsiEpsilon);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

}  // namespace ferry::monitoring
