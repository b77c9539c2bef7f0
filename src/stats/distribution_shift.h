#pragma once

// Distribution shift: how far apart two samples of scores are (a canary's model outputs
// against the stable model's, live inputs against training data).
//
// Histogram: counts over fixed, uniform bins, so two histograms built with the same edges
// can be compared and merged without keeping the values. PSI and Jensen-Shannon compare
// two histograms cell by cell; the underflow and overflow cells count as cells, so scores
// that leave [lo, hi] show up as shift instead of vanishing. Both also take plain vectors
// of proportions (bins or categories binned elsewhere, Evidently's conventions).
//
// Tests on raw samples and category counts (Kolmogorov-Smirnov, chi-square, z, Wasserstein)
// are in two_sample_tests.h.
//
// Edge cases, the same for every function here: malformed input (histograms with
// different edges, vectors of different lengths, negative or non-finite proportions) is
// an InvalidArgument error; well-formed input on which the statistic is undefined (an
// empty side) gives nullopt.
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

// Population Stability Index of `actual` against `expected`, given as proportions per
// cell (bin or category), aligned:
//   PSI = sum_i (a_i - e_i) * ln(a_i / e_i),  a_i = max(actual_i, epsilon),
//                                            e_i = max(expected_i, epsilon)
// Symmetric, >= 0. Rules of thumb: < 0.1 no real shift, 0.1-0.25 moderate, > 0.25 large.
// The proportions are taken as given (neither normalized nor required to sum to 1), so
// shares from SharesWithEmptyRaised below give Evidently's `psi` drift score, which
// replaces only exact zeros: the two agree unless a non-empty share is below epsilon.
// InvalidArgument for different lengths, a value that is negative or not finite, or
// epsilon outside (0, 1); nullopt for no cells. O(cells).
absl::StatusOr<std::optional<double>> PopulationStabilityIndex(std::span<const double> expected,
                                                               std::span<const double> actual,
                                                               double epsilon = kPsiEpsilon);

// PSI of two histograms: the proportions are cell counts over each total, every cell
// (underflow and overflow included). InvalidArgument for different edges or epsilon
// outside (0, 1); nullopt when either histogram is empty.
absl::StatusOr<std::optional<double>> PopulationStabilityIndex(const Histogram& expected,
                                                               const Histogram& actual,
                                                               double epsilon = kPsiEpsilon);

// Jensen-Shannon *distance* (the square root of the divergence) between two weight
// vectors over the same cells, each normalized to sum 1 first:
//   p <- p / sum(p),  q <- q / sum(q),  m = (p + q) / 2,
//   JSD = (KL(p || m) + KL(q || m)) / 2 in nats,  distance = sqrt(JSD / ln(base))
// with 0 ln 0 = 0 (no epsilon needed: m_i > 0 wherever p_i or q_i is). `base` nullopt is
// the natural log (distance in [0, sqrt(ln 2)]); base 2 gives [0, 1]. 0 for identical
// proportions, the maximum for disjoint support. Equal to
// scipy.spatial.distance.jensenshannon(p, q, base) (which would return NaN where
// rounding leaves the divergence a hair below 0; here it is clamped to 0).
// InvalidArgument for different lengths, a weight that is negative or not finite, or a
// base that is not a finite number > 1 (scipy returns NaN for bases below 1), or weights
// whose sum overflows a double; nullopt for no cells or a side whose weights sum to 0.
// O(cells).
absl::StatusOr<std::optional<double>> JensenShannonDistance(std::span<const double> p,
                                                            std::span<const double> q,
                                                            std::optional<double> base);

// The Jensen-Shannon distance of two histograms' cell counts, base 2, so in [0, 1]; every
// cell (underflow and overflow included). Equal to jensenshannon(p, q, base=2).
// InvalidArgument for different edges; nullopt when either histogram is empty.
absl::StatusOr<std::optional<double>> JensenShannonDistance(const Histogram& p, const Histogram& q);

// Evidently raises the share of an empty bin or category to this (np.place(p, p == 0,
// 0.0001)) before its `psi` drift score, and did before `jensenshannon` too.
inline constexpr double kEmptyCellShare = 1e-4;

// count_i / total per cell, an empty cell's share replaced by `empty_share`, not
// renormalized afterwards (so the shares sum to a little over 1 when a cell is empty):
// the proportions Evidently's drift tests compare (get_binned_data). Recent Evidently
// versions raise an empty share to min(non-zero share) / 10^6 instead when that minimum
// is <= 1e-4; the two agree whenever a side has fewer than 10^4 values. InvalidArgument
// for empty_share outside (0, 1); an empty vector when the counts are empty or all 0.
// O(cells).
absl::StatusOr<std::vector<double>> SharesWithEmptyRaised(std::span<const uint64_t> counts,
                                                          double empty_share = kEmptyCellShare);

// Evidently's `jensenshannon` drift score on aligned counts per bin or category (the
// union of categories; 0 where a side has none) as the versions that raise empty cells
// compute it, natural log by default:
//   jensenshannon(SharesWithEmptyRaised(reference), SharesWithEmptyRaised(current), base)
// Because jensenshannon normalizes again, the raised shares count slightly less than
// their face value. Later versions leave empty cells at 0 (feel_zeroes=False): that score
// is JensenShannonDistance(reference counts, current counts, base) above. The cells are
// the caller's: Evidently bins a numeric feature with more than 20 distinct reference
// values on edges computed over both samples together (np.histogram_bin_edges; the rule
// has changed between versions) and counts anything else per value. InvalidArgument for
// different lengths or a bad empty_share or base; nullopt when either side has no counts.
absl::StatusOr<std::optional<double>> JensenShannonDistanceWithEmptyRaised(
    std::span<const uint64_t> reference_counts, std::span<const uint64_t> current_counts,
    double empty_share = kEmptyCellShare, std::optional<double> base = std::nullopt);

}  // namespace ferry::stats
