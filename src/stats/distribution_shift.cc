#include "stats/distribution_shift.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::stats {
namespace {

absl::Status CheckSameEdges(const Histogram& a, const Histogram& b) {
  if (a.SameEdges(b)) return absl::OkStatus();
  return absl::InvalidArgumentError(core::Cat("histograms have different bins: [", a.lo(), ", ",
                                              a.hi(), "] in ", a.bins(), " bins against [", b.lo(),
                                              ", ", b.hi(), "] in ", b.bins()));
}

absl::Status CheckSorted(std::span<const double> sample, std::string_view name) {
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

}  // namespace

Histogram::Histogram(double lo, double hi, int bins)
    : lo_(lo), hi_(hi), bins_per_unit_(bins / (hi - lo)), cells_(bins + 2, 0) {}

absl::StatusOr<Histogram> Histogram::Create(double lo, double hi, int bins) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi)) {
    return absl::InvalidArgumentError(
        core::Cat("histogram range must be finite with lo < hi, got [", lo, ", ", hi, "]"));
  }
  if (bins < 1 || bins > kMaxBins) {
    return absl::InvalidArgumentError(
        core::Cat("histogram bins must be in [1, ", kMaxBins, "], got ", bins));
  }
  // (hi - lo) may overflow to infinity for extreme finite edges; refuse rather than put
  // every value in bin 0.
  if (!std::isfinite(hi - lo)) {
    return absl::InvalidArgumentError("histogram range is wider than a double can hold");
  }
  return Histogram(lo, hi, bins);
}

void Histogram::Add(double value, uint64_t count) {
  if (std::isnan(value)) {
    nan_count_ += count;
    return;
  }
  size_t cell;
  if (value < lo_) {
    cell = 0;
  } else if (value > hi_) {
    cell = cells_.size() - 1;
  } else {
    // Rounding may put hi (or a value a hair below it) at index bins; that is the last bin.
    const size_t bin = static_cast<size_t>((value - lo_) * bins_per_unit_);
    cell = 1 + std::min(bin, cells_.size() - 3);
  }
  cells_[cell] += count;
  total_ += count;
}

absl::Status Histogram::Merge(const Histogram& other) {
  RETURN_IF_ERROR(CheckSameEdges(*this, other));
  for (size_t i = 0; i < cells_.size(); ++i) cells_[i] += other.cells_[i];
  total_ += other.total_;
  nan_count_ += other.nan_count_;
  return absl::OkStatus();
}

void Histogram::Clear() {
  std::fill(cells_.begin(), cells_.end(), 0);
  total_ = 0;
  nan_count_ = 0;
}

bool Histogram::SameEdges(const Histogram& other) const {
  return lo_ == other.lo_ && hi_ == other.hi_ && cells_.size() == other.cells_.size();
}

absl::StatusOr<std::optional<double>> PopulationStabilityIndex(const Histogram& expected,
                                                               const Histogram& actual,
                                                               double epsilon) {
  RETURN_IF_ERROR(CheckSameEdges(expected, actual));
  if (!(epsilon > 0 && epsilon < 1)) {
    return absl::InvalidArgumentError(core::Cat("PSI epsilon must be in (0, 1), got ", epsilon));
  }
  if (expected.total() == 0 || actual.total() == 0) return std::nullopt;
  const double n_expected = static_cast<double>(expected.total());
  const double n_actual = static_cast<double>(actual.total());
  double psi = 0;
  for (size_t i = 0; i < expected.cells().size(); ++i) {
    const double e = std::max(static_cast<double>(expected.cells()[i]) / n_expected, epsilon);
    const double a = std::max(static_cast<double>(actual.cells()[i]) / n_actual, epsilon);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

absl::StatusOr<std::optional<double>> JensenShannonDistance(const Histogram& p,
                                                            const Histogram& q) {
  RETURN_IF_ERROR(CheckSameEdges(p, q));
  if (p.total() == 0 || q.total() == 0) return std::nullopt;
  const double n_p = static_cast<double>(p.total());
  const double n_q = static_cast<double>(q.total());
  double divergence = 0;
  for (size_t i = 0; i < p.cells().size(); ++i) {
    const double pi = static_cast<double>(p.cells()[i]) / n_p;
    const double qi = static_cast<double>(q.cells()[i]) / n_q;
    const double mi = (pi + qi) / 2;
    if (pi > 0) divergence += pi * std::log2(pi / mi);
    if (qi > 0) divergence += qi * std::log2(qi / mi);
  }
  // Rounding can leave a hair below 0 (identical inputs) or above 1 (disjoint ones).
  return std::sqrt(std::clamp(divergence / 2, 0.0, 1.0));
}

absl::StatusOr<std::optional<KolmogorovSmirnovResult>> KolmogorovSmirnov(
    std::span<const double> sorted_a, std::span<const double> sorted_b) {
  RETURN_IF_ERROR(CheckSorted(sorted_a, "a"));
  RETURN_IF_ERROR(CheckSorted(sorted_b, "b"));
  if (sorted_a.empty() || sorted_b.empty()) return std::nullopt;
  const double n = static_cast<double>(sorted_a.size());
  const double m = static_cast<double>(sorted_b.size());
  size_t i = 0;
  size_t j = 0;
  double d = 0;
  // Walk the merged values; after stepping past every copy of the smallest remaining
  // value in both samples, i / n and j / m are the two empirical CDFs at that value.
  while (i < sorted_a.size() && j < sorted_b.size()) {
    const double v = std::min(sorted_a[i], sorted_b[j]);
    while (i < sorted_a.size() && sorted_a[i] == v) ++i;
    while (j < sorted_b.size() && sorted_b[j] == v) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  // Past the end of one sample the other CDF only climbs towards 1, closing the gap.
  KolmogorovSmirnovResult result;
  result.statistic = d;
  result.p_value = KolmogorovSurvival(std::sqrt(n * m / (n + m)) * d);
  return result;
}

double KolmogorovSurvival(double lambda) {
  if (!(lambda > 0)) return 1;
  constexpr int kMaxTerms = 100;
  constexpr double kTolerance = 1e-17;
  double sum = 0;
  if (lambda < 1.18) {
    // The alternating series converges slowly for small lambda; the Jacobi-theta form of
    // the CDF, sqrt(2 pi) / lambda * sum_k exp(-(2k - 1)^2 pi^2 / (8 lambda^2)), fast.
    const double x = -std::numbers::pi * std::numbers::pi / (8 * lambda * lambda);
    for (int k = 1; k <= kMaxTerms; ++k) {
      const double term = std::exp((2 * k - 1) * (2 * k - 1) * x);
      sum += term;
      if (term <= kTolerance * sum) break;
    }
    return std::clamp(1 - std::sqrt(2 * std::numbers::pi) / lambda * sum, 0.0, 1.0);
  }
  for (int k = 1; k <= kMaxTerms; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    sum += (k % 2 == 1) ? term : -term;
    if (term < kTolerance) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

}  // namespace ferry::stats
