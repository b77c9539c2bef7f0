// The product's acceptance criterion, drift half: drift statistics equal scipy (ks_2samp,
// chisquare, wasserstein_distance, jensenshannon) within 1e-9 on the same samples
// (sklearn_parity_test.cc has the quality half). Each test draws its samples here (fixed seeds,
// several shapes), has tests/data/stats/reference.py compute the reference on them, and compares
// every value (python_reference.h). Prints the largest differences and the exact
// Kolmogorov-Smirnov timings.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "golden_samples.h"
#include "python_reference.h"
#include "stats/distribution_shift.h"
#include "stats/quality.h"
#include "stats/two_sample_tests.h"

namespace ferry::stats {
namespace {

using nlohmann::json;

std::vector<double> Normal(uint64_t seed, size_t n, double mean, double sd = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, sd);
  std::vector<double> values(n);
  for (double& v : values) v = normal(rng);
  return values;
}

std::vector<double> RoundedToHalves(std::vector<double> v) {  // many ties
  for (double& x : v) x = std::round(x * 2) / 2;
  return v;
}

// Counts of `n` draws over categories with these weights.
std::vector<uint64_t> CategoryCounts(uint64_t seed, size_t n, std::vector<double> weights) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<size_t> category(weights.begin(), weights.end());
  std::vector<uint64_t> counts(weights.size(), 0);
  for (size_t i = 0; i < n; ++i) ++counts[category(rng)];
  return counts;
}

double Value(const absl::StatusOr<std::optional<double>>& result) {
  EXPECT_TRUE(result.ok() && result->has_value()) << result.status();
  return result.ok() && result->has_value() ? **result : std::nan("");
}

struct KsCase {
  std::string name;
  std::vector<double> a;
  std::vector<double> b;
};

TEST(ScipyParityTest, KolmogorovSmirnovExactAndAsymptotic) {
  std::vector<KsCase> cases = {
      {"equal_500", Normal(1, 500, 0), Normal(2, 500, 0)},
      {"equal_500_shifted", Normal(3, 500, 0), Normal(4, 500, 0.5)},
      {"300_vs_1000", Normal(5, 300, 0), Normal(6, 1000, 0.1)},
      {"300_vs_1000_far", Normal(7, 300, 0), Normal(8, 1000, 1.5)},
      {"1000_vs_5000", Normal(9, 1000, 0), Normal(10, 5000, 0)},
      {"1000_vs_5000_shifted", Normal(11, 1000, 0), Normal(12, 5000, 0.2)},
      {"ties_400_vs_700", RoundedToHalves(Normal(13, 400, 0)),
       RoundedToHalves(Normal(14, 700, 0.2))},
      {"7_vs_11", Normal(15, 7, 0), Normal(16, 11, 1)},
      {"1_vs_1", {1}, {2}},
      {"3_vs_9000", Normal(17, 3, 0), Normal(18, 9000, 0)},
  };
  for (const auto& [n1, n2] : {std::pair{4, 6}, {5, 5}, {3, 7}, {6, 4}}) {
    // One sample pair for every value D takes on these sizes.
    std::vector<int> seen;
    for (const Interleaving& s : EveryInterleaving(n1, n2)) {
      if (std::find(seen.begin(), seen.end(), s.gap) != seen.end()) continue;
      seen.push_back(s.gap);
      cases.push_back({"lattice_" + std::to_string(n1) + "_" + std::to_string(n2), s.a, s.b});
    }
  }
  json input = json::array();
  for (const KsCase& c : cases) input.push_back({{"a", c.a}, {"b", c.b}});
  const json reference = PythonReference({{"ks_2samp", input}});
  ASSERT_EQ(reference["ks_2samp"].size(), cases.size());
  ParityTally statistic("ks_2samp statistic");
  ParityTally exact("ks_2samp exact p");
  ParityTally automatic("ks_2samp auto p");
  ParityTally asymptotic("kstwobign.sf");
  double smallest_p = 1;
  for (size_t k = 0; k < cases.size(); ++k) {
    const KsCase& c = cases[k];
    const json& r = reference["ks_2samp"][k];
    const std::string what =
        c.name + " #" + std::to_string(k) +
        (r.value("exact_fell_back", false) ? " (scipy fell back to asymp)" : "");
    const auto a = Sorted(c.a);
    const auto b = Sorted(c.b);
    const auto start = std::chrono::steady_clock::now();
    const KolmogorovSmirnovResult e =
        *KolmogorovSmirnov(a, b, KolmogorovSmirnovMethod::kExact).value();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (c.a.size() * c.b.size() >= 1000000) {
      std::printf("exact KS %-22s %zu x %zu: %.2f ms, p = %.6g\n", c.name.c_str(), c.a.size(),
                  c.b.size(), ms, e.p_value);
      EXPECT_LT(ms, 1000) << what;
    }
    statistic.Expect(what, e.statistic, r["statistic"]);
    statistic.Expect(what, e.statistic, r["statistic_exact"]);
    exact.ExpectRelative(what, e.p_value, r["p_exact"], 1e-9);
    smallest_p = std::min(smallest_p, ReferenceNumber(r["p_exact"]));
    const KolmogorovSmirnovResult au = *KolmogorovSmirnov(a, b).value();
    EXPECT_EQ(au.method, KolmogorovSmirnovMethod::kExact) << what;
    automatic.Expect(what, au.p_value, r["p_auto"]);
    const KolmogorovSmirnovResult as =
        *KolmogorovSmirnov(a, b, KolmogorovSmirnovMethod::kAsymptotic).value();
    asymptotic.ExpectRelative(what, as.p_value, r["p_kstwobign"], 1e-9);
  }
  std::printf("smallest exact p-value compared: %.3g\n", smallest_p);
}

TEST(ScipyParityTest, KolmogorovSmirnovPastTheExactLimitIsAsymptotic) {
  // Over 10000 values scipy's 'auto' (and so Evidently) uses kstwo.sf(D, round(en)); ours
  // the limiting kstwobign. Printed: how far apart the two are here.
  json input = json::array();
  const auto a = Sorted(Normal(21, 12000, 0));
  const auto b = Sorted(Normal(22, 15000, 0.03));
  input.push_back({{"a", a}, {"b", b}, {"exact", false}});
  const json reference = PythonReference({{"ks_2samp", input}});
  ASSERT_EQ(reference["ks_2samp"].size(), 1u);
  const json& r = reference["ks_2samp"][0];
  const KolmogorovSmirnovResult result = *KolmogorovSmirnov(a, b).value();
  EXPECT_EQ(result.method, KolmogorovSmirnovMethod::kAsymptotic);
  ParityTally tally("ks_2samp 12000 x 15000");
  tally.Expect("statistic", result.statistic, r["statistic"]);
  tally.ExpectRelative("kstwobign", result.p_value, r["p_kstwobign"], 1e-9);
  const double scipy_auto = ReferenceNumber(r["p_auto"]);
  std::printf(
      "ks_2samp 12000 x 15000 auto: scipy kstwo %.10g, ferry kstwobign %.10g (%.2g relative)\n",
      scipy_auto, result.p_value, std::abs(result.p_value - scipy_auto) / scipy_auto);
  // Relative O(1 / sqrt(n1 n2 / (n1 + n2))): 1.2% here.
  EXPECT_NEAR(result.p_value, scipy_auto, 0.02 * scipy_auto);
}

TEST(ScipyParityTest, ChiSquareAsEvidentlyAndGoodnessOfFit) {
  struct Case {
    std::vector<uint64_t> reference;
    std::vector<uint64_t> current;
  };
  const std::vector<double> weights = {0.4, 0.25, 0.2, 0.1, 0.05};
  const std::vector<Case> cases = {
      {CategoryCounts(31, 1000, weights), CategoryCounts(32, 700, weights)},
      {CategoryCounts(33, 1000, weights), CategoryCounts(34, 700, {0.3, 0.3, 0.2, 0.1, 0.1})},
      {CategoryCounts(35, 5000, weights), CategoryCounts(36, 5000, {0.1, 0.2, 0.2, 0.25, 0.25})},
      {{120, 80, 0}, {60, 30, 5}},  // a category new in the current sample: inf, p = 0
      {{120, 80, 7}, {60, 30, 0}},  // one gone from it
      {{1, 1}, {3, 0}},             // tiny counts
      {{500}, {300}},               // one category: p = 1 (scipy: NaN)
      {{500, 0}, {300, 0}},         // and one empty on both sides (a fixed list)
  };
  json input = json::array();
  for (const Case& c : cases) input.push_back({{"reference", c.reference}, {"current", c.current}});
  json gof = json::array();
  const std::vector<uint64_t> rolls = CategoryCounts(37, 600, {1, 1, 1, 1, 1, 1.3});
  gof.push_back({{"observed", rolls}, {"expected", std::vector<double>(6, 100.0)}});
  gof.push_back({{"observed", {10.5, 20.25, 0.0}}, {"expected", {10.0, 20.0, 0.75}}});
  const json reference = PythonReference({{"chisquare", input}, {"chisquare_gof", gof}});
  ASSERT_EQ(reference["chisquare"].size(), cases.size());
  ParityTally tally("chisquare");
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& r = reference["chisquare"][k];
    const ChiSquareResult ours =
        *ChiSquareAgainstReference(cases[k].reference, cases[k].current).value();
    const std::string what = "case " + std::to_string(k);
    if (r["p"] == "nan") {
      // One category (scipy's chi2 with 0 degrees of freedom), or one more that is empty
      // on both sides (0 / 0 in scipy's statistic): documented departures.
      EXPECT_EQ(ours.degrees_of_freedom, 0) << what;
      EXPECT_EQ(ours.statistic, 0) << what;
      EXPECT_EQ(ours.p_value, 1) << what;
    } else {
      tally.Expect(what, ours.statistic, r["statistic"]);
      tally.ExpectRelative(what, ours.p_value, r["p"], 1e-9);
    }
  }
  ASSERT_EQ(reference["chisquare_gof"].size(), 2u);
  const std::vector<double> observed(rolls.begin(), rolls.end());
  const ChiSquareResult dice =
      *ChiSquareGoodnessOfFit(observed, std::vector<double>(6, 100.0)).value();
  tally.Expect("dice", dice.statistic, reference["chisquare_gof"][0]["statistic"]);
  tally.ExpectRelative("dice", dice.p_value, reference["chisquare_gof"][0]["p"], 1e-9);
  const ChiSquareResult fractional = *ChiSquareGoodnessOfFit(std::vector<double>{10.5, 20.25, 0},
                                                             std::vector<double>{10, 20, 0.75})
                                          .value();
  tally.Expect("fractional", fractional.statistic, reference["chisquare_gof"][1]["statistic"]);
  tally.ExpectRelative("fractional", fractional.p_value, reference["chisquare_gof"][1]["p"], 1e-9);
}

TEST(ScipyParityTest, TwoProportionZAsEvidently) {
  const std::vector<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> cases = {
      {CategoryCounts(41, 1000, {0.3, 0.7}), CategoryCounts(42, 800, {0.3, 0.7})},
      {CategoryCounts(43, 1000, {0.3, 0.7}), CategoryCounts(44, 800, {0.4, 0.6})},
      {CategoryCounts(45, 2000, {0.1, 0.9}), CategoryCounts(46, 2000, {0.5, 0.5})},  // tiny p
      {{500, 0}, {0, 300}},  // each side one value, not the same one
      {{500, 0}, {300, 0}},  // both sides the same single value: p = 1
      {{500}, {300}},        // one category
      {{1, 2}, {2, 1}},
  };
  json input = json::array();
  for (const auto& [ref, cur] : cases) input.push_back({{"reference", ref}, {"current", cur}});
  const json reference = PythonReference({{"z_test", input}});
  ASSERT_EQ(reference["z_test"].size(), cases.size());
  ParityTally tally("z test");
  // Evidently's 2 (1 - Phi(|z|)): absolute precision only, 0 past |z| ~ 8.
  ParityTally evidently("z test, Evidently's p");
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& r = reference["z_test"][k];
    const ZTestResult ours = *TwoProportionZTest(cases[k].first, cases[k].second).value();
    const std::string what = "case " + std::to_string(k);
    tally.Expect(what, ours.statistic, r["statistic"]);
    tally.ExpectRelative(what, ours.p_value, r["p"], 1e-9);
    evidently.Expect(what, ours.p_value, r["p_evidently"]);
  }
}

TEST(ScipyParityTest, WassersteinPlainAndNormalized) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {Normal(51, 300, 0), Normal(52, 1000, 0.2)},
      {Normal(53, 1000, 0, 2), Normal(54, 1000, 0, 1)},
      {RoundedToHalves(Normal(55, 400, 0)), RoundedToHalves(Normal(56, 700, 0.3))},
      {std::vector<double>(50, 2.0), Normal(57, 80, 2, 0.1)},  // constant reference: std floor
      {Normal(58, 500, 1e6, 5), Normal(59, 600, 1e6 + 1, 5)},  // large offset
      {{1}, {3}},
  };
  json input = json::array();
  for (const auto& [u, v] : cases) input.push_back({{"u", u}, {"v", v}});
  const json reference = PythonReference({{"wasserstein", input}});
  ASSERT_EQ(reference["wasserstein"].size(), cases.size());
  ParityTally tally("wasserstein_distance");
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& r = reference["wasserstein"][k];
    const auto u = Sorted(cases[k].first);
    const auto v = Sorted(cases[k].second);
    const std::string what = "case " + std::to_string(k);
    tally.Expect(what, Value(WassersteinDistance(u, v)), r["distance"]);
    tally.Expect(what + " normalized", Value(NormalizedWassersteinDistance(u, v)), r["normalized"]);
  }
}

TEST(ScipyParityTest, JensenShannonAnyBaseAndEvidentlyBinnedScores) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> vectors = {
      {{0.1, 0.2, 0.3, 0.4}, {0.4, 0.3, 0.2, 0.1}},
      {{3, 0, 5, 1, 0, 2}, {1, 2, 0, 4, 0, 2}},  // unnormalized, zeros on either and both sides
      {{1, 0}, {0, 1}},                          // disjoint: the maximum
      {{0.25, 0.25, 0.5}, {0.25, 0.25, 0.5}},    // identical: 0
      {{1e-9, 1, 2}, {2, 1, 1e-9}},
  };
  json js = json::array();
  for (const auto& [p, q] : vectors) js.push_back({{"p", p}, {"q", q}});
  // Counts per bin as Evidently bins a numeric feature (here a Histogram's cells), and per
  // category with one category new in the current sample.
  Histogram reference_bins = Histogram::Create(-3, 3, 20).value();
  Histogram current_bins = reference_bins;
  for (double x : Normal(61, 2000, 0)) reference_bins.Add(x);
  for (double x : Normal(62, 1500, 0.4, 1.3)) current_bins.Add(x);
  const std::vector<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> counts = {
      {{reference_bins.cells().begin(), reference_bins.cells().end()},
       {current_bins.cells().begin(), current_bins.cells().end()}},
      {{400, 300, 300, 0}, {350, 250, 380, 20}},
  };
  json binned = json::array();
  for (const auto& [ref, cur] : counts) binned.push_back({{"reference", ref}, {"current", cur}});
  const json reference = PythonReference({{"jensenshannon", js}, {"binned_drift", binned}});
  ASSERT_EQ(reference["jensenshannon"].size(), vectors.size());
  ASSERT_EQ(reference["binned_drift"].size(), counts.size());
  ParityTally tally("jensenshannon");
  for (size_t k = 0; k < vectors.size(); ++k) {
    const json& r = reference["jensenshannon"][k];
    const auto& [p, q] = vectors[k];
    const std::string what = "vector " + std::to_string(k);
    tally.Expect(what, Value(JensenShannonDistance(p, q, std::nullopt)), r["natural"]);
    tally.Expect(what + " base 2", Value(JensenShannonDistance(p, q, 2.0)), r["base2"]);
    tally.Expect(what + " base 10", Value(JensenShannonDistance(p, q, 10.0)), r["base10"]);
  }
  ParityTally evidently("Evidently js and psi");
  for (size_t k = 0; k < counts.size(); ++k) {
    const json& r = reference["binned_drift"][k];
    const auto& [ref, cur] = counts[k];
    const std::string what = "counts " + std::to_string(k);
    evidently.Expect(what, Value(JensenShannonDistanceWithEmptyRaised(ref, cur)),
                     r["jensenshannon"]);
    evidently.Expect(what + " psi",
                     Value(PopulationStabilityIndex(SharesWithEmptyRaised(ref).value(),
                                                    SharesWithEmptyRaised(cur).value())),
                     r["psi"]);
  }
}

}  // namespace
}  // namespace ferry::stats
