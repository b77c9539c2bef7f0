#pragma once

// Distribution shift: how far apart two samples of scores are (a canary's model outputs
// against the stable model's, live inputs against training data).
//
// Histogram: counts over fixed, uniform bins, so two histograms built with the same edges
// can be compared and merged without keeping the values. PSI and Jensen-Shannon compare
// two histograms cell by cell; the underflow and overflow cells count as cells, so scores
// that leave [lo, hi] show up as shift instead of vanishing.
//
// Kolmogorov-Smirnov works on the raw samples instead (sorted), for monitoring jobs that
// have them: it needs no binning and has a p-value.
//
// Edge cases, the same for every function here: malformed input (histograms with
// different edges, unsorted or NaN samples) is an InvalidArgument error; well-formed input
// on which the statistic is undefined (an empty side) gives nullopt.
//
// Thread-safety: Histogram is a value type (callers lock a shared one); the functions are
// pure.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::stats {

class Histogram {
 public:
  static constexpr int kMaxBins = 1 << 16;

  // `bins` bins of width (hi - lo) / bins over [lo, hi]. InvalidArgument unless lo < hi,
  // both finite, and 1 <= bins <= kMaxBins.
  static absl::StatusOr<Histogram> Create(double lo, double hi, int bins);

  // Bin i holds [lo + i w, lo + (i + 1) w), the last bin also hi itself (so scores in
  // [0, 1] with hi = 1 all land in a bin). Below lo: underflow (-inf included); above hi:
  // overflow (+inf included). NaN is counted apart in nan_count() and compared nowhere.
  // A value within rounding of an inner edge may land on either side of it.
  void Add(double value, uint64_t count = 1);
  // InvalidArgument unless `other` has the same lo, hi and bins; then nothing changes.
  absl::Status Merge(const Histogram& other);
  void Clear();

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  int bins() const { return static_cast<int>(cells_.size()) - 2; }
  bool SameEdges(const Histogram& other) const;

  // Every cell in order: underflow, bins 0 .. bins-1, overflow.
  std::span<const uint64_t> cells() const { return cells_; }
  std::span<const uint64_t> bin_counts() const { return cells().subspan(1, bins()); }
  uint64_t underflow() const { return cells_.front(); }
  uint64_t overflow() const { return cells_.back(); }
  uint64_t nan_count() const { return nan_count_; }
  // All cells together; NaN is not counted.
  uint64_t total() const { return total_; }

 private:
  Histogram(double lo, double hi, int bins);

  double lo_;
  double hi_;
  double bins_per_unit_;  // bins / (hi - lo)
  std::vector<uint64_t> cells_;
  uint64_t total_ = 0;
  uint64_t nan_count_ = 0;
};

// Empty cells would make PSI infinite; their proportion is raised to this instead (a
// common convention, e.g. in credit scoring). The proportions are not renormalized
// afterwards, so a cell empty on both sides adds exactly 0.
inline constexpr double kPsiEpsilon = 1e-4;

// Population Stability Index of `actual` against `expected`:
//   PSI = sum_i (a_i - e_i) * ln(a_i / e_i),  a_i = max(actual_i / n_actual, epsilon),
//                                            e_i = max(expected_i / n_expected, epsilon)
// over every cell (underflow and overflow included). Symmetric, >= 0. Rules of thumb:
// < 0.1 no real shift, 0.1-0.25 moderate, > 0.25 large. InvalidArgument for different
// edges or epsilon outside (0, 1); nullopt when either histogram is empty.
absl::StatusOr<std::optional<double>> PopulationStabilityIndex(const Histogram& expected,
                                                               const Histogram& actual,
                                                               double epsilon = kPsiEpsilon);

// Jensen-Shannon *distance* (the square root of the divergence), base 2, so in [0, 1]:
//   m = (p + q) / 2,  JSD = (KL(p || m) + KL(q || m)) / 2 with log2,  distance = sqrt(JSD)
// over every cell, with 0 log 0 = 0 (no epsilon needed: m_i > 0 wherever p_i or q_i is).
// 0 for identical proportions, 1 for disjoint support. The same value as
// scipy.spatial.distance.jensenshannon(p, q, base=2). InvalidArgument for different
// edges; nullopt when either histogram is empty.
absl::StatusOr<std::optional<double>> JensenShannonDistance(const Histogram& p, const Histogram& q);

struct KolmogorovSmirnovResult {
  double statistic = 0;  // D = sup_x |F_a(x) - F_b(x)|, in [0, 1]
  double p_value = 1;    // asymptotic, see KolmogorovSmirnov
};

// Two-sample Kolmogorov-Smirnov test on samples sorted ascending. D is exact (ties
// handled: both empirical CDFs step past a shared value together), equal to
// scipy.stats.ks_2samp's statistic. The p-value is the asymptotic one,
// Q_KS(sqrt(n m / (n + m)) * D) (= scipy.stats.kstwobign.sf), meant for the large
// samples monitoring has; on small ones it departs from ks_2samp's default (exact)
// p-value. InvalidArgument if a sample is not sorted ascending or holds NaN; nullopt if
// either is empty.
absl::StatusOr<std::optional<KolmogorovSmirnovResult>> KolmogorovSmirnov(
    std::span<const double> sorted_a, std::span<const double> sorted_b);

// Q_KS(lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2): the probability that the
// limiting Kolmogorov statistic exceeds lambda. 1 for lambda <= 0.
double KolmogorovSurvival(double lambda);

}  // namespace ferry::stats
