#include "monitoring/drift_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "table/table_profiler.h"

namespace ferry::monitoring {
namespace {

// Training data: x ~ N(10, 2); flag ~ Bernoulli(0.3); level uniform in {1, 2, 3, 4};
// count uniform in 0..999.
struct Generator {
  explicit Generator(uint64_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  std::vector<float> Row(double x_shift, double flag_p) {
    std::normal_distribution<double> x(10 + x_shift, 2);
    std::bernoulli_distribution flag(flag_p);
    std::uniform_int_distribution<int> level(1, 4);
    std::uniform_int_distribution<int> count(0, 999);
    return {static_cast<float>(x(rng)), flag(rng) ? 1.0f : 0.0f,
            static_cast<float>(level(rng)), static_cast<float>(count(rng))};
  }
};

const std::vector<std::string> kNames{"x", "flag", "level", "count"};

table::TableProfile Profile(int rows, uint64_t seed) {
  Generator gen(seed);
  std::string csv = "x,flag,level,count\n";
  for (int i = 0; i < rows; ++i) {
    const std::vector<float> r = gen.Row(0, 0.3);
    csv += std::to_string(r[0]) + "," + std::to_string(static_cast<int>(r[1])) + "," +
           std::to_string(static_cast<int>(r[2])) + "," + std::to_string(static_cast<int>(r[3])) +
           "\n";
  }
  absl::StatusOr<table::TableProfile> profile = table::ProfileBytes(table::Format::kCsv, csv);
  EXPECT_TRUE(profile.ok()) << profile.status();
  return *profile;
}

struct Fixture {
  std::vector<FeatureReference> refs;
  MonitoredColumns columns;
  MonitoringPolicy policy;

  Fixture(const table::TableProfile& profile, MonitoringPolicy p) : policy(std::move(p)) {
    for (const std::string& name : kNames) {
      absl::StatusOr<FeatureReference> ref = ReferenceFromProfile(profile, name, policy.psi_bins);
      EXPECT_TRUE(ref.ok()) << ref.status();
      refs.push_back(*ref);
    }
    for (size_t i = 0; i < refs.size(); ++i) {
      columns.names.push_back(kNames[i]);
      columns.references.push_back(&refs[i]);
      columns.missing_reference.emplace_back();
    }
  }

  DriftReport Run(int rows, double x_shift, double flag_p, uint64_t seed) {
    std::vector<bool> sampled;
    for (size_t i = 0; i < refs.size(); ++i) {
      sampled.push_back(*refs[i].MethodFor(policy.RuleFor(kNames[i])) ==
                        DriftMethod::kKolmogorovSmirnov);
    }
    LiveWindow window(policy.window, columns.references, sampled, policy.ks_sample, 0, seed);
    Generator gen(seed);
    for (int i = 0; i < rows; ++i) {
      const std::vector<float> row = gen.Row(x_shift, flag_p);
      window.Add(1, row, 1, 0.001);
    }
    return ComputeDrift(columns, window.Merge(2), policy);
  }
};

const ColumnDrift& Feature(const DriftReport& report, const std::string& name) {
  for (const ColumnDrift& d : report.features) {
    if (d.name == name) return d;
  }
  ADD_FAILURE() << "no feature " << name;
  return report.features.front();
}

TEST(DriftReportTest, LargeReferenceUsesEvidentlysDistances) {
  const table::TableProfile profile = Profile(20'000, 1);
  Fixture f(profile, MonitoringPolicy{});
  EXPECT_EQ(f.refs[0].AutoMethod(), DriftMethod::kWasserstein);
  EXPECT_EQ(f.refs[1].AutoMethod(), DriftMethod::kJensenShannon);
  EXPECT_EQ(f.refs[2].AutoMethod(), DriftMethod::kJensenShannon);
  EXPECT_EQ(f.refs[3].AutoMethod(), DriftMethod::kWasserstein);
}

TEST(DriftReportTest, SmallReferenceUsesEvidentlysTests) {
  const table::TableProfile profile = Profile(800, 2);
  Fixture f(profile, MonitoringPolicy{});
  EXPECT_TRUE(f.refs[0].values_complete());
  EXPECT_EQ(f.refs[0].AutoMethod(), DriftMethod::kKolmogorovSmirnov);
  EXPECT_EQ(f.refs[1].AutoMethod(), DriftMethod::kZTest);
  EXPECT_EQ(f.refs[2].AutoMethod(), DriftMethod::kChiSquare);
  EXPECT_EQ(f.refs[3].AutoMethod(), DriftMethod::kKolmogorovSmirnov);
}

TEST(DriftReportTest, NoDriftOnSameDistributionTrafficOf100kRows) {
  const table::TableProfile profile = Profile(20'000, 3);
  MonitoringPolicy policy;
  policy.window.duration = std::chrono::seconds(3600);
  Fixture f(profile, policy);
  const DriftReport report = f.Run(100'000, 0, 0.3, 4);
  for (const ColumnDrift& d : report.features) {
    ASSERT_TRUE(d.drifted.has_value()) << d.name << ": " << d.note;
    EXPECT_FALSE(*d.drifted) << d.name << " " << *d.statistic;
    EXPECT_LT(*d.statistic, d.threshold / 4) << d.name;
  }
  EXPECT_EQ(report.features_drifted, 0);
  EXPECT_EQ(*report.dataset_drift, false);
}

TEST(DriftReportTest, ShiftedTrafficIsFlaggedAndDatasetDriftFollowsTheShare) {
  const table::TableProfile profile = Profile(20'000, 5);
  Fixture f(profile, MonitoringPolicy{});
  const DriftReport report = f.Run(20'000, 1.0, 0.6, 6);
  EXPECT_TRUE(*Feature(report, "x").drifted);
  EXPECT_NEAR(*Feature(report, "x").statistic, 0.5, 0.05);  // a shift of half a std
  EXPECT_TRUE(*Feature(report, "flag").drifted);
  EXPECT_FALSE(*Feature(report, "level").drifted);
  EXPECT_FALSE(*Feature(report, "count").drifted);
  EXPECT_EQ(report.features_drifted, 2);
  EXPECT_DOUBLE_EQ(*report.drifted_share, 0.5);
  EXPECT_TRUE(*report.dataset_drift);
}

TEST(DriftReportTest, SmallReferenceTestsFlagShiftsAndPassSameDistribution) {
  const table::TableProfile profile = Profile(800, 7);
  Fixture f(profile, MonitoringPolicy{});
  const DriftReport same = f.Run(3000, 0, 0.3, 8);
  for (const ColumnDrift& d : same.features) {
    ASSERT_TRUE(d.p_value.has_value()) << d.name << ": " << d.note;
    EXPECT_FALSE(*d.drifted) << d.name << " p=" << *d.p_value;
  }
  const DriftReport shifted = f.Run(3000, 1.0, 0.6, 9);
  EXPECT_TRUE(*Feature(shifted, "x").drifted);
  EXPECT_LT(*Feature(shifted, "x").p_value, 1e-6);
  EXPECT_TRUE(*Feature(shifted, "flag").drifted);
}

TEST(DriftReportTest, PsiOverrideUsesReferenceQuantileBins) {
  const table::TableProfile profile = Profile(20'000, 10);
  MonitoringPolicy policy;
  policy.features["x"] = {DriftMethod::kPsi, std::nullopt};
  policy.features["count"] = {DriftMethod::kPsi, 0.1};
  Fixture f(profile, policy);
  const DriftReport same = f.Run(50'000, 0, 0.3, 11);
  EXPECT_EQ(Feature(same, "x").method, DriftMethod::kPsi);
  EXPECT_LT(*Feature(same, "x").statistic, 0.01);
  EXPECT_FALSE(*Feature(same, "count").drifted);
  EXPECT_EQ(Feature(same, "count").threshold, 0.1);
  const DriftReport shifted = f.Run(50'000, 1.0, 0.3, 12);
  EXPECT_GT(*Feature(shifted, "x").statistic, 0.2);
  EXPECT_TRUE(*Feature(shifted, "x").drifted);
}

TEST(DriftReportTest, BinnedWassersteinIsCloseToTheExactDistance) {
  const table::TableProfile profile = Profile(20'000, 13);
  Fixture f(profile, MonitoringPolicy{});
  // Exact W1 of the live values against the reference's own rows, regenerated.
  Generator ref_gen(13);
  std::vector<double> reference;
  for (int i = 0; i < 20'000; ++i) reference.push_back(ref_gen.Row(0, 0.3)[0]);
  for (double shift : {0.0, 0.3, 1.5}) {
    LiveWindow window(f.policy.window, {&f.refs[0]}, {false}, 100, 0, 1);
    Generator gen(14);
    std::vector<double> live;
    for (int i = 0; i < 30'000; ++i) {
      const float x = gen.Row(shift, 0.3)[0];
      live.push_back(x);
      window.Add(1, {&x, 1}, 1, 0.001);
    }
    std::vector<double> all = reference;
    all.insert(all.end(), live.begin(), live.end());
    std::sort(all.begin(), all.end());
    std::sort(reference.begin(), reference.end());
    std::sort(live.begin(), live.end());
    double exact = 0;
    for (size_t i = 0; i + 1 < all.size(); ++i) {
      const double fr = static_cast<double>(std::upper_bound(reference.begin(), reference.end(),
                                                             all[i]) - reference.begin()) /
                        reference.size();
      const double fl = static_cast<double>(std::upper_bound(live.begin(), live.end(), all[i]) -
                                            live.begin()) / live.size();
      exact += std::abs(fr - fl) * (all[i + 1] - all[i]);
    }
    const double binned = *BinnedWasserstein(f.refs[0], window.Merge(2).columns[0]);
    // Within 0.01 reference standard deviations (2.0 here) of the exact distance: what is
    // left is the quantile sketch placing the reference's bin edges a little off.
    EXPECT_NEAR(binned, exact, 0.02) << "shift " << shift;

  }
}

TEST(DriftReportTest, ColumnsWithoutReferenceOrRowsHaveNoVerdict) {
  const table::TableProfile profile = Profile(5000, 15);
  MonitoringPolicy policy;
  policy.min_rows = 1000;
  policy.features["level"] = {DriftMethod::kKolmogorovSmirnov, std::nullopt};
  Fixture f(profile, policy);
  f.columns.references[3] = nullptr;
  f.columns.missing_reference[3] = "the reference has no column \"count\"";
  const DriftReport few = f.Run(500, 0, 0.3, 16);
  EXPECT_FALSE(Feature(few, "x").drifted.has_value());
  EXPECT_NE(Feature(few, "x").note.find("min_rows"), std::string::npos);
  EXPECT_EQ(Feature(few, "count").note, "the reference has no column \"count\"");
  EXPECT_FALSE(few.dataset_drift.has_value());
  const DriftReport enough = f.Run(2000, 0, 0.3, 17);
  // KS on a large reference runs against its sample, and says so.
  EXPECT_EQ(Feature(enough, "level").method, DriftMethod::kKolmogorovSmirnov);
  EXPECT_EQ(Feature(enough, "level").note, "against the reference's sample");
  EXPECT_EQ(enough.features_with_verdict, 3);
}

TEST(DriftReportTest, DataQualityComparesMissingAndRangesWithTheReference) {
  const table::TableProfile profile = Profile(5000, 18);
  Fixture f(profile, MonitoringPolicy{});
  LiveWindow window(f.policy.window, f.columns.references, {false, false, false, false}, 100, 0, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> rows{nan, 1, 9, 5000, 10, 0, 2, 10};
  window.Add(1, rows, 2, 0.001);
  const DriftReport report = ComputeDrift(f.columns, window.Merge(2), f.policy);
  ASSERT_EQ(report.quality.size(), 4u);
  EXPECT_DOUBLE_EQ(report.quality[0].missing_rate, 0.5);
  EXPECT_DOUBLE_EQ(report.quality[2].unseen_rate.value(), 0.5);  // 9 is no level
  EXPECT_DOUBLE_EQ(report.quality[3].out_of_range_rate, 0.5);    // 5000 > 999
  EXPECT_DOUBLE_EQ(report.quality[0].reference_missing_rate, 0);
  EXPECT_NEAR(report.quality[0].reference_mean, 10, 0.1);
}

// The distributions a chart draws: the reference's bins and shares as they are, the live
// counts per bin with the values outside the reference's range apart, and for a
// categorical column the counts per category with the values the reference never had.
TEST(DriftReportTest, DistributionsGiveReferenceSharesAndLiveCounts) {
  const table::TableProfile profile = Profile(5000, 21);
  Fixture f(profile, MonitoringPolicy{});
  f.columns.references[3] = nullptr;
  f.columns.missing_reference[3] = "no column";
  LiveWindow window(f.policy.window, f.columns.references, {false, false, false, false}, 100, 0, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // x: one value below the reference's range, one above, three inside, one missing;
  // level: 1, 2, 2, 4, 9 (unseen), missing.
  const std::vector<float> rows{-100, 0, 1, 1, 1000, 1, 2, 2, 10,  0, 2,   3,
                                10.5, 1, 4, 4, 9.5,  0, 9, 5, nan, 1, nan, 6};
  window.Add(1, rows, 6, 0.001);
  const std::vector<ColumnDistribution> d = ComputeDistributions(f.columns, window.Merge(2));
  ASSERT_EQ(d.size(), 4u);

  const ColumnDistribution& x = d[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.kind, ColumnDistribution::Kind::kNumeric);
  EXPECT_EQ(x.edges, f.refs[0].edges);
  EXPECT_EQ(x.reference_shares, f.refs[0].shares);
  ASSERT_EQ(x.live_counts.size(), x.edges.size() - 1);
  EXPECT_EQ(x.live_rows, 5);
  EXPECT_EQ(x.live_missing, 1);
  EXPECT_EQ(x.live_below, 1);
  EXPECT_EQ(x.live_above, 1);
  uint64_t inside = 0;
  for (uint64_t c : x.live_counts) inside += c;
  EXPECT_EQ(inside, 3u);
  // 10 lies in the bin whose edges enclose it (right-closed).
  const auto bin = std::lower_bound(x.edges.begin() + 1, x.edges.end(), 10.0) - x.edges.begin() - 1;
  EXPECT_GE(x.live_counts[bin], 1u);
  EXPECT_EQ(x.reference_rows, 5000);

  const ColumnDistribution& level = d[2];
  EXPECT_EQ(level.kind, ColumnDistribution::Kind::kCategorical);
  EXPECT_EQ(level.categories, (std::vector<float>{1, 2, 3, 4}));
  int64_t reference = 0;
  for (int64_t c : level.reference_counts) reference += c;
  EXPECT_EQ(reference, 5000);
  EXPECT_EQ(level.live_category_counts, (std::vector<uint64_t>{1, 2, 0, 1}));
  EXPECT_EQ(level.live_unseen, 1u);
  EXPECT_EQ(level.live_missing, 1);

  EXPECT_EQ(d[3].kind, ColumnDistribution::Kind::kNone);
  EXPECT_EQ(d[3].live_rows, 6);
  const nlohmann::json none = ColumnDistributionToJson(d[3]);
  EXPECT_TRUE(none["kind"].is_null());
  EXPECT_FALSE(none.contains("edges"));
  const nlohmann::json json = ColumnDistributionToJson(level);
  EXPECT_EQ(json["kind"], "categorical");
  EXPECT_EQ(json["live_counts"], nlohmann::json({1, 2, 0, 1}));
  EXPECT_EQ(json["live_unseen"], 1);
  const nlohmann::json numeric = ColumnDistributionToJson(x);
  EXPECT_EQ(numeric["kind"], "numeric");
  EXPECT_EQ(numeric["edges"].size(), x.edges.size());
  EXPECT_EQ(numeric["reference_shares"].size(), x.edges.size() - 1);
  EXPECT_EQ(numeric["live_counts"].size(), x.edges.size() - 1);
  EXPECT_EQ(numeric["live_below"], 1);
  EXPECT_EQ(numeric["live_above"], 1);
  EXPECT_EQ(numeric["live_rows"], 5);
  EXPECT_EQ(numeric["live_missing"], 1);
}

}  // namespace
}  // namespace ferry::monitoring

namespace ferry::monitoring {
namespace {

// Integer values (hours of the day): many quantile levels share an edge, every bin's mass
// sits on its right edge. The binned distance must still be the exact one.
TEST(DriftReportTest, BinnedWassersteinIsExactEnoughOnDiscreteValues) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> hour(0, 23);
  std::string csv = "hour\n";
  std::vector<double> reference;
  for (int i = 0; i < 5000; ++i) {
    const int h = hour(rng);
    reference.push_back(h);
    csv += std::to_string(h) + "\n";
  }
  absl::StatusOr<table::TableProfile> profile = table::ProfileBytes(table::Format::kCsv, csv);
  ASSERT_TRUE(profile.ok()) << profile.status();
  absl::StatusOr<FeatureReference> ref = ReferenceFromProfile(*profile, "hour", 10);
  ASSERT_TRUE(ref.ok()) << ref.status();
  LiveWindow window(WindowSpec{}, {&*ref}, {false}, 10, 0, 1);
  std::vector<double> live;
  for (int i = 0; i < 10'000; ++i) {
    const float h = static_cast<float>(hour(rng));
    live.push_back(h);
    window.Add(1, {&h, 1}, 1, 0.001);
  }
  std::sort(reference.begin(), reference.end());
  std::sort(live.begin(), live.end());
  double exact = 0;  // the CDFs step at integers: the sum of |F_ref - F_live| at 0..22
  for (int v = 0; v < 23; ++v) {
    const auto cdf = [v](const std::vector<double>& values) {
      return static_cast<double>(std::upper_bound(values.begin(), values.end(), v) -
                                 values.begin()) / static_cast<double>(values.size());
    };
    exact += std::abs(cdf(reference) - cdf(live));
  }
  const double binned = *BinnedWasserstein(*ref, window.Merge(2).columns[0]);
  EXPECT_NEAR(binned, exact, 0.001 * ref->std) << "exact " << exact;
}

}  // namespace
}  // namespace ferry::monitoring
