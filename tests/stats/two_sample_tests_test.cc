// Hand-checked cases, edge cases and error paths of two_sample_tests.h; the values on
// generated samples are compared with scipy in scipy_parity_test.cc.

#include "stats/two_sample_tests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "golden_samples.h"

namespace ferry::stats {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(KolmogorovSmirnovTest, StatisticAndAsymptoticPValueMatchScipy) {
  const std::vector<double> a = Sorted(SampleA());
  const std::vector<double> b = Sorted(SampleB());
  const KolmogorovSmirnovResult r =
      KolmogorovSmirnov(a, b, KolmogorovSmirnovMethod::kAsymptotic).value().value();
  EXPECT_NEAR(r.statistic, 0.14945544554455445, 1e-15);
  EXPECT_NEAR(r.p_value, 4.2697112370325271e-09, 1e-9 * 4.27e-09);
  EXPECT_EQ(r.method, KolmogorovSmirnovMethod::kAsymptotic);
  const KolmogorovSmirnovResult swapped = KolmogorovSmirnov(b, a).value().value();
  EXPECT_EQ(swapped.statistic, r.statistic);
}

TEST(KolmogorovSmirnovTest, TiesStepBothCdfsTogether) {
  std::vector<double> a;
  std::vector<double> b;
  for (int i = 0; i < 100; ++i) a.push_back(i % 7);
  for (int i = 0; i < 60; ++i) b.push_back(i % 5);
  const KolmogorovSmirnovResult r =
      KolmogorovSmirnov(Sorted(a), Sorted(b), KolmogorovSmirnovMethod::kAsymptotic).value().value();
  EXPECT_NEAR(r.statistic, 0.28, 1e-15);
  EXPECT_NEAR(r.p_value, 0.0055895704280557118, 1e-12);
  // A sample against itself: no gap at all, whatever the method.
  for (auto method : {KolmogorovSmirnovMethod::kAsymptotic, KolmogorovSmirnovMethod::kExact}) {
    const KolmogorovSmirnovResult same =
        KolmogorovSmirnov(Sorted(a), Sorted(a), method).value().value();
    EXPECT_EQ(same.statistic, 0);
    EXPECT_EQ(same.p_value, 1);
  }
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
  const std::vector<double> nan = {kNan, 1};
  EXPECT_EQ(KolmogorovSmirnov(unsorted, sorted).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KolmogorovSmirnov(sorted, nan).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KolmogorovSmirnov(sorted, {}).value(), std::nullopt);
  EXPECT_EQ(KolmogorovSmirnov({}, sorted).value(), std::nullopt);
}

// The definition itself, independent of scipy: over every interleaving of n1 and n2
// values (all equally likely under the null hypothesis), the share whose D reaches d.
// Every multiple of 1 / lcm(n1, n2) is tried as d, attainable or not, so the boundary
// (touching it counts) is pinned down; and every interleaving as samples.
TEST(KolmogorovSmirnovTest, ExactPValueIsTheShareOfInterleavingsReachingD) {
  for (const auto& [n1, n2] : {std::pair{1, 1},
                               {2, 3},
                               {3, 3},
                               {3, 5},
                               {5, 3},
                               {4, 6},
                               {6, 4},
                               {5, 5},
                               {2, 9},
                               {7, 7},
                               {6, 9}}) {
    const std::vector<Interleaving> all = EveryInterleaving(n1, n2);
    const auto share_reaching = [&](int gap) {
      const auto reaching = std::count_if(
          all.begin(), all.end(), [&](const Interleaving& other) { return other.gap >= gap; });
      return static_cast<double>(reaching) / static_cast<double>(all.size());
    };
    const int g = std::gcd(n1, n2);
    for (int gap = g; gap <= n1 * n2; gap += g) {
      EXPECT_NEAR(KolmogorovSmirnovExactSurvival(n1, n2, static_cast<double>(gap) / (n1 * n2)),
                  share_reaching(gap), 1e-14)
          << n1 << " x " << n2 << " gap " << gap;
    }
    for (const Interleaving& s : all) {
      const KolmogorovSmirnovResult r =
          KolmogorovSmirnov(s.a, s.b, KolmogorovSmirnovMethod::kExact).value().value();
      EXPECT_EQ(r.statistic, static_cast<double>(s.gap) / (n1 * n2));
      EXPECT_NEAR(r.p_value, share_reaching(s.gap), 1e-14) << n1 << " x " << n2 << " gap " << s.gap;
    }
  }
}

TEST(KolmogorovSmirnovTest, ExactSurvivalEdgesAndTinyPValues) {
  EXPECT_EQ(KolmogorovSmirnovExactSurvival(3, 4, 0), 1);
  EXPECT_EQ(KolmogorovSmirnovExactSurvival(3, 4, 1e-6), 1);  // rounds to D = 0
  EXPECT_EQ(KolmogorovSmirnovExactSurvival(0, 4, 0.5), 1);
  EXPECT_EQ(KolmogorovSmirnovExactSurvival(3, 4, 1.5), 0);
  EXPECT_TRUE(std::isnan(KolmogorovSmirnovExactSurvival(3, 4, kNan)));
  // D = 1 only when one sample lies wholly below the other: 2 of C(n1 + n2, n1) paths,
  // here 2 / C(100, 50), kept to full relative precision.
  EXPECT_NEAR(KolmogorovSmirnovExactSurvival(50, 50, 1), 1.9823306042836678e-29, 1e-42);
  EXPECT_NEAR(KolmogorovSmirnovExactSurvival(50, 50, 1 + 1e-15), 1.9823306042836678e-29, 1e-42);
}

TEST(KolmogorovSmirnovTest, AutoIsExactUpToTenThousandValuesPerSample) {
  const std::vector<double> small = {0.5, 1.5, 2.5};
  std::vector<double> large(kKolmogorovSmirnovExactMaxSize);
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<double>(i) / 1000;
  EXPECT_EQ(KolmogorovSmirnov(small, large).value()->method, KolmogorovSmirnovMethod::kExact);
  large.push_back(1e9);
  EXPECT_EQ(KolmogorovSmirnov(small, large).value()->method, KolmogorovSmirnovMethod::kAsymptotic);
  EXPECT_EQ(KolmogorovSmirnov(small, large, KolmogorovSmirnovMethod::kExact).value()->method,
            KolmogorovSmirnovMethod::kExact);
}

TEST(ChiSquareTest, ScipyDocumentationExample) {
  const ChiSquareResult r = ChiSquareGoodnessOfFit(std::vector<double>{16, 18, 16, 14, 12, 12},
                                                   std::vector<double>{16, 16, 16, 16, 16, 8})
                                .value()
                                .value();
  EXPECT_NEAR(r.statistic, 3.5, 1e-15);
  EXPECT_NEAR(r.p_value, 0.6233876277495822, 1e-15);
  EXPECT_EQ(r.degrees_of_freedom, 5);
}

TEST(ChiSquareTest, ZeroExpectedCategories) {
  // Expected 0, observed > 0: impossible under the hypothesis.
  const ChiSquareResult impossible =
      ChiSquareGoodnessOfFit(std::vector<double>{5, 5, 1}, std::vector<double>{5.5, 5.5, 0})
          .value()
          .value();
  EXPECT_EQ(impossible.statistic, kInf);
  EXPECT_EQ(impossible.p_value, 0);
  // Expected 0, observed 0: no information, not a category.
  const ChiSquareResult ignored =
      ChiSquareGoodnessOfFit(std::vector<double>{4, 0, 6}, std::vector<double>{5, 0, 5})
          .value()
          .value();
  EXPECT_EQ(ignored.degrees_of_freedom, 1);
  EXPECT_NEAR(ignored.statistic, 0.4, 1e-15);
  // One category: nothing to test.
  const ChiSquareResult one =
      ChiSquareGoodnessOfFit(std::vector<double>{7, 0}, std::vector<double>{7, 0}).value().value();
  EXPECT_EQ(one.degrees_of_freedom, 0);
  EXPECT_EQ(one.statistic, 0);
  EXPECT_EQ(one.p_value, 1);
}

TEST(ChiSquareTest, ErrorsAndUndefined) {
  const std::vector<double> three = {1, 2, 3};
  const auto code = [](const absl::StatusOr<std::optional<ChiSquareResult>>& r) {
    return r.status().code();
  };
  EXPECT_EQ(code(ChiSquareGoodnessOfFit(three, std::vector<double>{3, 3})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ChiSquareGoodnessOfFit(three, std::vector<double>{-1, 4, 3})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ChiSquareGoodnessOfFit(three, std::vector<double>{kNan, 4, 2})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ChiSquareGoodnessOfFit(three, std::vector<double>{2, 2, 3})),
            absl::StatusCode::kInvalidArgument);  // sums 6 and 7
  EXPECT_EQ(code(ChiSquareGoodnessOfFit(three, std::vector<double>{0, 0, 0})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChiSquareGoodnessOfFit({}, {}).value(), std::nullopt);
  EXPECT_EQ(ChiSquareGoodnessOfFit(std::vector<double>{0, 0}, std::vector<double>{0, 0}).value(),
            std::nullopt);
  const std::vector<uint64_t> counts = {3, 4};
  EXPECT_EQ(ChiSquareAgainstReference(counts, std::vector<uint64_t>{0, 0}).value(), std::nullopt);
  EXPECT_EQ(ChiSquareAgainstReference(std::vector<uint64_t>{}, std::vector<uint64_t>{}).value(),
            std::nullopt);
  EXPECT_EQ(ChiSquareAgainstReference(counts, std::vector<uint64_t>{1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChiSquareTest, AgainstReferenceScalesToTheCurrentTotal) {
  // Reference shares 1/2, 1/4, 1/4 scaled to 40 current values: 20, 10, 10.
  const ChiSquareResult r = ChiSquareAgainstReference(std::vector<uint64_t>{200, 100, 100},
                                                      std::vector<uint64_t>{24, 8, 8})
                                .value()
                                .value();
  EXPECT_NEAR(r.statistic, 16.0 / 20 + 4.0 / 10 + 4.0 / 10, 1e-14);
  EXPECT_EQ(r.degrees_of_freedom, 2);
  EXPECT_NEAR(r.p_value, std::exp(-r.statistic / 2), 1e-15);  // chi2.sf(x, 2) = e^(-x/2)
  const ChiSquareResult same = ChiSquareAgainstReference(std::vector<uint64_t>{200, 100, 100},
                                                         std::vector<uint64_t>{20, 10, 10})
                                   .value()
                                   .value();
  EXPECT_EQ(same.statistic, 0);
  EXPECT_EQ(same.p_value, 1);
}

TEST(TwoProportionZTest, HandComputedAndSymmetric) {
  const ZTestResult r =
      TwoProportionZTest(std::vector<uint64_t>{30, 70}, std::vector<uint64_t>{45, 55})
          .value()
          .value();
  EXPECT_NEAR(r.statistic, -2.1908902300206647, 1e-14);
  EXPECT_NEAR(r.p_value, 0.02845973691631055, 1e-15);
  // The other value as "success": z flips, p stays.
  const ZTestResult flipped =
      TwoProportionZTest(std::vector<uint64_t>{70, 30}, std::vector<uint64_t>{55, 45})
          .value()
          .value();
  EXPECT_NEAR(flipped.statistic, -r.statistic, 1e-14);
  EXPECT_NEAR(flipped.p_value, r.p_value, 1e-15);
}

TEST(TwoProportionZTest, SameSingleValueIsNoDrift) {
  for (const auto& [ref, cur] : {std::pair<std::vector<uint64_t>, std::vector<uint64_t>>{{10}, {4}},
                                 {{10, 0}, {4, 0}},
                                 {{0, 10}, {0, 4}}}) {
    const ZTestResult r = TwoProportionZTest(ref, cur).value().value();
    EXPECT_EQ(r.statistic, 0);
    EXPECT_EQ(r.p_value, 1);
  }
  // Each side a single value, but not the same one: as far apart as it gets.
  const ZTestResult apart =
      TwoProportionZTest(std::vector<uint64_t>{10, 0}, std::vector<uint64_t>{0, 10})
          .value()
          .value();
  EXPECT_NEAR(apart.statistic, std::sqrt(20.0), 1e-14);
  EXPECT_LT(apart.p_value, 1e-5);
}

TEST(TwoProportionZTest, ErrorsAndUndefined) {
  const std::vector<uint64_t> two = {3, 4};
  EXPECT_EQ(TwoProportionZTest(std::vector<uint64_t>{1, 2, 3}, std::vector<uint64_t>{1, 2, 3})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TwoProportionZTest(two, std::vector<uint64_t>{3}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TwoProportionZTest(two, std::vector<uint64_t>{0, 0}).value(), std::nullopt);
  EXPECT_EQ(TwoProportionZTest(std::vector<uint64_t>{}, std::vector<uint64_t>{}).value(),
            std::nullopt);
}

TEST(WassersteinTest, HandComputed) {
  const std::vector<double> u = {0, 1, 3};
  const std::vector<double> shifted = {5, 6, 8};
  EXPECT_DOUBLE_EQ(WassersteinDistance(u, shifted).value().value(), 5);
  EXPECT_DOUBLE_EQ(WassersteinDistance(shifted, u).value().value(), 5);
  EXPECT_EQ(WassersteinDistance(u, u).value().value(), 0);
  // F_u = 1 from 0 on; F_v = 0, 1/2, 1 from 1 and 2: 1 * 1 + 1/2 * 1.
  EXPECT_DOUBLE_EQ(
      WassersteinDistance(std::vector<double>{0}, std::vector<double>{1, 2}).value().value(), 1.5);
  // Ties across the samples.
  EXPECT_DOUBLE_EQ(WassersteinDistance(std::vector<double>{1, 1, 2}, std::vector<double>{1, 2, 2})
                       .value()
                       .value(),
                   1.0 / 3);
}

TEST(WassersteinTest, NormalizedByTheReferenceSpreadWithAFloor) {
  // Reference {0, 2}: population std 1.
  EXPECT_DOUBLE_EQ(
      NormalizedWassersteinDistance(std::vector<double>{0, 2}, std::vector<double>{1, 3})
          .value()
          .value(),
      1);
  // A constant reference divides by kWassersteinMinScale, not by 0.
  EXPECT_NEAR(NormalizedWassersteinDistance(std::vector<double>{2, 2, 2}, std::vector<double>{3})
                  .value()
                  .value(),
              1 / kWassersteinMinScale, 1e-9);
}

TEST(WassersteinTest, ErrorsAndUndefined) {
  const std::vector<double> ok = {1, 2};
  for (const std::vector<double>& bad :
       {std::vector<double>{2, 1}, std::vector<double>{1, kNan}, std::vector<double>{1, kInf},
        std::vector<double>{-kInf, 1}}) {
    EXPECT_EQ(WassersteinDistance(ok, bad).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(NormalizedWassersteinDistance(bad, ok).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(WassersteinDistance(ok, {}).value(), std::nullopt);
  EXPECT_EQ(NormalizedWassersteinDistance({}, ok).value(), std::nullopt);
}

}  // namespace
}  // namespace ferry::stats
