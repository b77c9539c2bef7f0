#include "stats/distribution_shift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ferry::stats {
namespace {

// Reference values come from scipy 1.10 / numpy 1.24 (Debian 12's python3) on
// the same samples, built by the same formulas:
//
//   import numpy as np
//   from scipy.stats import ks_2samp, kstwobign
//   from scipy.spatial.distance import jensenshannon
//   def frac(x): return x - np.floor(x)
//   a = frac(np.arange(1000.0) * 0.6180339887498949)
//   b = np.concatenate([frac(np.arange(800.0) * 0.4142135623730950) ** 1.5,
//                       [1.5] * 5, [-0.25] * 3])
//   def cells(x, lo, hi, bins):            # underflow, bins..., overflow
//       c = np.zeros(bins + 2)
//       for v in x:
//           if v < lo: c[0] += 1
//           elif v > hi: c[-1] += 1
//           else: c[1 + min(int((v - lo) * (bins / (hi - lo))), bins - 1)] += 1
//       return c
//   def psi(e, a, eps=1e-4):
//       e = np.maximum(e / e.sum(), eps); a = np.maximum(a / a.sum(), eps)
//       return np.sum((a - e) * np.log(a / e))
//   for lo, hi, bins in [(0, 1, 10), (0, 0.5, 5)]:
//       ca, cb = cells(a, lo, hi, bins), cells(b, lo, hi, bins)
//       print(psi(ca, cb), jensenshannon(ca, cb, base=2))
//   r = ks_2samp(a, b); en = len(a) * len(b) / (len(a) + len(b))
//   print(r.statistic, kstwobign.sf(np.sqrt(en) * r.statistic))
//   r = ks_2samp(np.arange(100) % 7, np.arange(60) % 5)
//   print(r.statistic, kstwobign.sf(np.sqrt(100 * 60 / 160) * r.statistic))
//   print([kstwobign.sf(x) for x in [0.3, 0.8, 1.0, 1.18, 1.5, 2.5]])
double Frac(double x) { return x - std::floor(x); }

std::vector<double> SampleA() {
  std::vector<double> a;
  for (int i = 0; i < 1000; ++i) a.push_back(Frac(i * 0.6180339887498949));
  return a;
}

std::vector<double> SampleB() {
  std::vector<double> b;
  for (int j = 0; j < 800; ++j) b.push_back(std::pow(Frac(j * 0.4142135623730950), 1.5));
  for (int k = 0; k < 5; ++k) b.push_back(1.5);
  for (int k = 0; k < 3; ++k) b.push_back(-0.25);
  return b;
}

Histogram HistogramOf(const std::vector<double>& values, double lo, double hi, int bins) {
  Histogram h = Histogram::Create(lo, hi, bins).value();
  for (double v : values) h.Add(v);
  return h;
}

std::vector<double> Sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(HistogramTest, BinsIncludeLowAndHighEdgesAndOutOfRangeGoesToTheEnds) {
  Histogram h = Histogram::Create(0, 1, 4).value();
  for (double v : {0.0, 0.24, 0.25, 0.5, 0.99, 1.0}) h.Add(v);
  h.Add(-0.01);
  h.Add(-std::numeric_limits<double>::infinity());
  h.Add(1.01, 3);
  h.Add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(std::vector<uint64_t>(h.bin_counts().begin(), h.bin_counts().end()),
            (std::vector<uint64_t>{2, 1, 1, 2}));
  EXPECT_EQ(h.underflow(), 2u);
  EXPECT_EQ(h.overflow(), 3u);
  EXPECT_EQ(h.nan_count(), 1u);
  EXPECT_EQ(h.total(), 11u);
}

TEST(HistogramTest, MergeAddsCountsAndRefusesOtherEdges) {
  Histogram a = HistogramOf({0.1, 0.2, 2.0}, 0, 1, 10);
  const Histogram b = HistogramOf({0.1, -1.0}, 0, 1, 10);
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.total(), 5u);
  EXPECT_EQ(a.bin_counts()[1], 2u);
  EXPECT_EQ(a.underflow(), 1u);
  EXPECT_EQ(a.Merge(HistogramOf({}, 0, 1, 5)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Merge(HistogramOf({}, 0, 2, 10)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.total(), 5u);
  a.Clear();
  EXPECT_EQ(a.total(), 0u);
}

TEST(HistogramTest, CreateRefusesBadEdges) {
  EXPECT_FALSE(Histogram::Create(1, 1, 10).ok());
  EXPECT_FALSE(Histogram::Create(1, 0, 10).ok());
  EXPECT_FALSE(Histogram::Create(0, std::numeric_limits<double>::infinity(), 10).ok());
  EXPECT_FALSE(
      Histogram::Create(-std::numeric_limits<double>::max(), std::numeric_limits<double>::max(), 10)
          .ok());
  EXPECT_FALSE(Histogram::Create(0, 1, 0).ok());
  EXPECT_FALSE(Histogram::Create(0, 1, Histogram::kMaxBins + 1).ok());
}

struct ShiftCase {
  double lo;
  double hi;
  int bins;
  double psi;
  double js;
};

TEST(DistributionShiftTest, PsiAndJensenShannonMatchScipy) {
  const ShiftCase cases[] = {
      {0, 1, 10, 0.17699672630244923, 0.17198301828266591},
      {0, 0.5, 5, 0.14616125360186832, 0.15957799725254274},  // most of a overflows
  };
  for (const ShiftCase& c : cases) {
    SCOPED_TRACE(c.hi);
    const Histogram a = HistogramOf(SampleA(), c.lo, c.hi, c.bins);
    const Histogram b = HistogramOf(SampleB(), c.lo, c.hi, c.bins);
    EXPECT_NEAR(PopulationStabilityIndex(a, b).value().value(), c.psi, 1e-12);
    EXPECT_NEAR(PopulationStabilityIndex(b, a).value().value(), c.psi, 1e-12);  // symmetric
    EXPECT_NEAR(JensenShannonDistance(a, b).value().value(), c.js, 1e-12);
  }
}

TEST(DistributionShiftTest, IdenticalProportionsGiveZeroAndDisjointOnesGiveJsOne) {
  const Histogram a = HistogramOf({0.1, 0.5, 0.9}, 0, 1, 10);
  Histogram twice = a;
  ASSERT_TRUE(twice.Merge(a).ok());
  EXPECT_EQ(PopulationStabilityIndex(a, twice).value(), 0.0);
  EXPECT_EQ(JensenShannonDistance(a, twice).value(), 0.0);
  const Histogram disjoint = HistogramOf({0.3, 0.35}, 0, 1, 10);
  EXPECT_NEAR(JensenShannonDistance(a, disjoint).value().value(), 1.0, 1e-15);
}

TEST(DistributionShiftTest, PsiEpsilonBoundsEmptyCells) {
  // All mass moves from bin 0 to bin 9: two cells at 1 against epsilon.
  const Histogram low = HistogramOf({0.05}, 0, 1, 10);
  const Histogram high = HistogramOf({0.95}, 0, 1, 10);
  const double expected = 2 * (1 - 1e-4) * std::log(1 / 1e-4);
  EXPECT_NEAR(PopulationStabilityIndex(low, high).value().value(), expected, 1e-12);
  EXPECT_FALSE(PopulationStabilityIndex(low, high, 0).ok());
}

TEST(DistributionShiftTest, EmptySideIsNulloptAndOtherEdgesAnError) {
  const Histogram a = HistogramOf({0.5}, 0, 1, 10);
  const Histogram empty = HistogramOf({std::numeric_limits<double>::quiet_NaN()}, 0, 1, 10);
  EXPECT_EQ(PopulationStabilityIndex(a, empty).value(), std::nullopt);
  EXPECT_EQ(PopulationStabilityIndex(empty, a).value(), std::nullopt);
  EXPECT_EQ(JensenShannonDistance(empty, a).value(), std::nullopt);
  const Histogram other = HistogramOf({0.5}, 0, 1, 20);
  EXPECT_EQ(PopulationStabilityIndex(a, other).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JensenShannonDistance(a, other).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KolmogorovSmirnovTest, StatisticAndAsymptoticPValueMatchScipy) {
  const std::vector<double> a = Sorted(SampleA());
  const std::vector<double> b = Sorted(SampleB());
  const KolmogorovSmirnovResult r = KolmogorovSmirnov(a, b).value().value();
  EXPECT_NEAR(r.statistic, 0.14945544554455445, 1e-15);
  EXPECT_NEAR(r.p_value, 4.2697112370325271e-09, 1e-9 * 4.27e-09);
  const KolmogorovSmirnovResult swapped = KolmogorovSmirnov(b, a).value().value();
  EXPECT_EQ(swapped.statistic, r.statistic);
}

TEST(KolmogorovSmirnovTest, TiesStepBothCdfsTogether) {
  std::vector<double> a;
  std::vector<double> b;
  for (int i = 0; i < 100; ++i) a.push_back(i % 7);
  for (int i = 0; i < 60; ++i) b.push_back(i % 5);
  const KolmogorovSmirnovResult r = KolmogorovSmirnov(Sorted(a), Sorted(b)).value().value();
  EXPECT_NEAR(r.statistic, 0.28, 1e-15);
  EXPECT_NEAR(r.p_value, 0.0055895704280557118, 1e-12);
  // A sample against itself: no gap at all.
  const KolmogorovSmirnovResult same = KolmogorovSmirnov(Sorted(a), Sorted(a)).value().value();
  EXPECT_EQ(same.statistic, 0);
  EXPECT_EQ(same.p_value, 1);
}

TEST(KolmogorovSmirnovTest, SurvivalFunctionMatchesKstwobign) {
  const std::pair<double, double> cases[] = {
      {0.3, 0.99999069419866549},  {0.8, 0.54414241157419807},  {1.0, 0.26999967167735456},
      {1.18, 0.12345380942976571}, {1.5, 0.022217962616525127}, {2.5, 7.4533063441573419e-06},
  };
  for (const auto& [lambda, expected] : cases) {
    EXPECT_NEAR(KolmogorovSurvival(lambda), expected, 1e-12 * expected) << lambda;
  }
  EXPECT_EQ(KolmogorovSurvival(0), 1);
  EXPECT_EQ(KolmogorovSurvival(0.01), 1);
}

TEST(KolmogorovSmirnovTest, RefusesUnsortedOrNanAndIsNulloptForAnEmptySide) {
  const std::vector<double> sorted = {1, 2, 3};
  const std::vector<double> unsorted = {1, 3, 2};
  const std::vector<double> nan = {std::numeric_limits<double>::quiet_NaN(), 1};
  EXPECT_EQ(KolmogorovSmirnov(unsorted, sorted).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KolmogorovSmirnov(sorted, nan).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KolmogorovSmirnov(sorted, {}).value(), std::nullopt);
  EXPECT_EQ(KolmogorovSmirnov({}, sorted).value(), std::nullopt);
}

}  // namespace
}  // namespace ferry::stats
