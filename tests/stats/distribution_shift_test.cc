#include "stats/distribution_shift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "golden_samples.h"

namespace ferry::stats {
namespace {

Histogram HistogramOf(const std::vector<double>& values, double lo, double hi, int bins) {
  Histogram h = Histogram::Create(lo, hi, bins).value();
  for (double v : values) h.Add(v);
  return h;
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

TEST(DistributionShiftTest, ProportionVectorsGiveTheHistogramValues) {
  const Histogram a = HistogramOf(SampleA(), 0, 1, 10);
  const Histogram b = HistogramOf(SampleB(), 0, 1, 10);
  std::vector<double> pa;
  std::vector<double> pb;
  for (uint64_t c : a.cells()) pa.push_back(static_cast<double>(c) / a.total());
  for (uint64_t c : b.cells()) pb.push_back(static_cast<double>(c) / b.total());
  EXPECT_EQ(PopulationStabilityIndex(pa, pb).value(), PopulationStabilityIndex(a, b).value());
  // Weights need not sum to 1: jensenshannon normalizes them.
  const std::vector<double> ca(a.cells().begin(), a.cells().end());
  const std::vector<double> cb(b.cells().begin(), b.cells().end());
  EXPECT_EQ(JensenShannonDistance(ca, cb, 2.0).value(), JensenShannonDistance(a, b).value());
  EXPECT_NEAR(JensenShannonDistance(ca, cb, std::nullopt).value().value(),
              JensenShannonDistance(a, b).value().value() * std::sqrt(std::log(2.0)), 1e-15);
}

TEST(DistributionShiftTest, ProportionVectorEdgeCases) {
  const std::vector<double> p = {0.5, 0.5};
  const std::vector<double> three = {0.2, 0.3, 0.5};
  const std::vector<double> negative = {1.5, -0.5};
  const std::vector<double> nan = {std::numeric_limits<double>::quiet_NaN(), 1};
  const std::vector<double> zeros = {0, 0};
  for (const auto& bad : {three, negative, nan}) {
    EXPECT_EQ(PopulationStabilityIndex(p, bad).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(JensenShannonDistance(bad, p, std::nullopt).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(PopulationStabilityIndex(p, p, 1).status().code(), absl::StatusCode::kInvalidArgument);
  for (double base : {1.0, 0.5, -2.0, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(JensenShannonDistance(p, p, base).status().code(), absl::StatusCode::kInvalidArgument)
        << base;
  }
  EXPECT_EQ(PopulationStabilityIndex({}, {}).value(), std::nullopt);
  EXPECT_EQ(JensenShannonDistance({}, {}, std::nullopt).value(), std::nullopt);
  EXPECT_EQ(JensenShannonDistance(p, zeros, std::nullopt).value(), std::nullopt);
  // All-zero proportions are proportions all raised to epsilon: no shift between them.
  EXPECT_EQ(PopulationStabilityIndex(zeros, zeros).value(), 0.0);
}

TEST(DistributionShiftTest, SharesWithEmptyRaisedReplaceOnlyZerosAndDoNotRenormalize) {
  const std::vector<uint64_t> counts = {3, 0, 1};
  const std::vector<double> shares = SharesWithEmptyRaised(counts).value();
  EXPECT_EQ(shares, (std::vector<double>{0.75, kEmptyCellShare, 0.25}));
  EXPECT_EQ(SharesWithEmptyRaised(std::vector<uint64_t>{0, 0}).value(), std::vector<double>());
  EXPECT_EQ(SharesWithEmptyRaised(counts, 0).status().code(), absl::StatusCode::kInvalidArgument);
  // Evidently's JS: the raised shares, normalized again by jensenshannon.
  const std::vector<uint64_t> other = {1, 2, 1};
  EXPECT_EQ(
      JensenShannonDistanceWithEmptyRaised(counts, other).value(),
      JensenShannonDistance(shares, SharesWithEmptyRaised(other).value(), std::nullopt).value());
  EXPECT_EQ(JensenShannonDistanceWithEmptyRaised(counts, std::vector<uint64_t>{0, 0, 0}).value(),
            std::nullopt);
  EXPECT_EQ(
      JensenShannonDistanceWithEmptyRaised(counts, std::vector<uint64_t>{1, 2}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::stats
