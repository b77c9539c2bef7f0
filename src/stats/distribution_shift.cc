#include "stats/distribution_shift.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/status.h"
#include "core/strings.h"
#include "stats/sample_checks.h"

namespace ferry::stats {
namespace {

absl::Status CheckSameEdges(const Histogram& a, const Histogram& b) {
  if (a.SameEdges(b)) return absl::OkStatus();
  return absl::InvalidArgumentError(core::Cat("histograms have different bins: [", a.lo(), ", ",
                                              a.hi(), "] in ", a.bins(), " bins against [", b.lo(),
                                              ", ", b.hi(), "] in ", b.bins()));
}

// Cell counts as doubles, exact: counts stay far below 2^53.
std::vector<double> CellsAsDoubles(std::span<const uint64_t> cells) {
  return std::vector<double>(cells.begin(), cells.end());
}

std::vector<double> Shares(const Histogram& h) {
  std::vector<double> shares = CellsAsDoubles(h.cells());
  const double total = static_cast<double>(h.total());
  for (double& share : shares) share /= total;
  return shares;
}

absl::Status CheckEpsilon(double epsilon, std::string_view what) {
  if (epsilon > 0 && epsilon < 1) return absl::OkStatus();
  return absl::InvalidArgumentError(core::Cat(what, " must be in (0, 1), got ", epsilon));
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

absl::StatusOr<std::optional<double>> PopulationStabilityIndex(std::span<const double> expected,
                                                               std::span<const double> actual,
                                                               double epsilon) {
  RETURN_IF_ERROR(CheckSameLength(expected.size(), actual.size(), "PSI cells"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(expected, "expected proportion"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(actual, "actual proportion"));
  RETURN_IF_ERROR(CheckEpsilon(epsilon, "PSI epsilon"));
  if (expected.empty()) return std::nullopt;
  double psi = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = std::max(expected[i], epsilon);
    const double a = std::max(actual[i], epsilon);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

absl::StatusOr<std::optional<double>> PopulationStabilityIndex(const Histogram& expected,
                                                               const Histogram& actual,
                                                               double epsilon) {
  RETURN_IF_ERROR(CheckSameEdges(expected, actual));
  RETURN_IF_ERROR(CheckEpsilon(epsilon, "PSI epsilon"));
  if (expected.total() == 0 || actual.total() == 0) return std::nullopt;
  return PopulationStabilityIndex(Shares(expected), Shares(actual), epsilon);
}

absl::StatusOr<std::optional<double>> JensenShannonDistance(std::span<const double> p,
                                                            std::span<const double> q,
                                                            std::optional<double> base) {
  RETURN_IF_ERROR(CheckSameLength(p.size(), q.size(), "Jensen-Shannon cells"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(p, "p weight"));
  RETURN_IF_ERROR(CheckNonNegativeFinite(q, "q weight"));
  if (base.has_value() && !(std::isfinite(*base) && *base > 1)) {
    return absl::InvalidArgumentError(
        core::Cat("Jensen-Shannon base must be a finite number > 1, got ", *base));
  }
  double sum_p = 0;
  double sum_q = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sum_p += p[i];
    sum_q += q[i];
  }
  if (!(std::isfinite(sum_p) && std::isfinite(sum_q))) {
    return absl::InvalidArgumentError("Jensen-Shannon weights sum past the largest double");
  }
  if (!(sum_p > 0 && sum_q > 0)) return std::nullopt;
  // KL(x || m) term by term, as scipy.special.rel_entr: 0 where x is 0.
  const auto relative_entropy = [](double x, double m) { return x > 0 ? x * std::log(x / m) : 0; };
  double left = 0;
  double right = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sum_p;
    const double qi = q[i] / sum_q;
    const double mi = (pi + qi) / 2;
    left += relative_entropy(pi, mi);
    right += relative_entropy(qi, mi);
  }
  // Rounding can leave a hair below 0 (identical inputs) or above 2 ln 2 (disjoint ones).
  double divergence = std::clamp(left + right, 0.0, 2 * std::numbers::ln2);
  if (base.has_value()) divergence /= std::log(*base);
  return std::sqrt(divergence / 2);
}

absl::StatusOr<std::optional<double>> JensenShannonDistance(const Histogram& p,
                                                            const Histogram& q) {
  RETURN_IF_ERROR(CheckSameEdges(p, q));
  if (p.total() == 0 || q.total() == 0) return std::nullopt;
  return JensenShannonDistance(CellsAsDoubles(p.cells()), CellsAsDoubles(q.cells()), 2.0);
}

absl::StatusOr<std::vector<double>> SharesWithEmptyRaised(std::span<const uint64_t> counts,
                                                          double empty_share) {
  RETURN_IF_ERROR(CheckEpsilon(empty_share, "empty cell share"));
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  if (total == 0) return std::vector<double>();
  std::vector<double> shares = CellsAsDoubles(counts);
  for (double& share : shares) {
    share = share == 0 ? empty_share : share / static_cast<double>(total);
  }
  return shares;
}

absl::StatusOr<std::optional<double>> JensenShannonDistanceWithEmptyRaised(
    std::span<const uint64_t> reference_counts, std::span<const uint64_t> current_counts,
    double empty_share, std::optional<double> base) {
  RETURN_IF_ERROR(
      CheckSameLength(reference_counts.size(), current_counts.size(), "Jensen-Shannon cells"));
  ASSIGN_OR_RETURN(const std::vector<double> reference,
                   SharesWithEmptyRaised(reference_counts, empty_share));
  ASSIGN_OR_RETURN(const std::vector<double> current,
                   SharesWithEmptyRaised(current_counts, empty_share));
  if (reference.empty() || current.empty()) return std::nullopt;
  return JensenShannonDistance(reference, current, base);
}

}  // namespace ferry::stats
