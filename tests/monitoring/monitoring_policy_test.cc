#include "monitoring/monitoring_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ferry::monitoring {
namespace {

TEST(MonitoringPolicyTest, EmptyDocumentGivesTheDefaults) {
  absl::StatusOr<MonitoringPolicy> policy = ParseMonitoringPolicyYaml("", "p.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(*policy, MonitoringPolicy{});
  EXPECT_EQ(policy->window.kind, WindowSpec::Kind::kTime);
  EXPECT_EQ(policy->window.duration.count(), 3600);
}

TEST(MonitoringPolicyTest, EveryKeyRoundTripsThroughJson) {
  absl::StatusOr<MonitoringPolicy> policy = ParseMonitoringPolicyYaml(R"(
window: {rows: 50000, slices: 10}
min_rows: 500
dataset_drift_share: 0.3
psi_bins: 20
ks_sample: 2000
features:
  amount: {method: psi, threshold: 0.25}
  country: {method: chisquare}
prediction: {method: wasserstein, threshold: 0.2}
quality:
  window: {duration: 24h}
  max_rows: 5000
  min_labels: 500
)", "p.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->window.kind, WindowSpec::Kind::kRows);
  EXPECT_EQ(policy->window.rows, 50000);
  EXPECT_EQ(policy->RuleFor("amount").method, DriftMethod::kPsi);
  EXPECT_EQ(*policy->RuleFor("amount").threshold, 0.25);
  EXPECT_EQ(policy->RuleFor("other").method, DriftMethod::kAuto);
  EXPECT_EQ(policy->QualityWindow().kind, WindowSpec::Kind::kTime);
  EXPECT_EQ(policy->QualityWindow().duration.count(), 86400);
  EXPECT_EQ(policy->quality_min_labels, 500);
  absl::StatusOr<MonitoringPolicy> back = MonitoringPolicyFromJson(MonitoringPolicyToJson(*policy));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *policy);
}

TEST(MonitoringPolicyTest, BadDocumentsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"windw: {rows: 10}", "unknown key \"windw\""},
      {"window: {rows: 10, duration: 1h}", "either duration"},
      {"window: {duration: soon}", "window.duration"},
      {"window: {slices: 0}", "window.slices"},
      {"min_rows: -1", "min_rows"},
      {"dataset_drift_share: 1.5", "dataset_drift_share"},
      {"psi_bins: 1", "psi_bins"},
      {"ks_sample: 3", "ks_sample"},
      {"features: {a: {method: magic}}", "unknown drift method \"magic\""},
      {"features: {a: {method: ks, threshold: 2}}", "below 1"},
      {"features: {a: {threshold: -1}}", "positive"},
      {"prediction: {methd: ks}", "unknown key \"methd\""},
      {"features: [a, b]", "features"},
      {"window: [", "not valid YAML"},
      {"quality: {min_labels: 0}", "quality.min_labels"},
      {"quality: {max_rows: 10, min_labels: 11}", "quality.min_labels"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<MonitoringPolicy> policy = ParseMonitoringPolicyYaml(c.yaml, "p.yaml");
    ASSERT_FALSE(policy.ok()) << c.yaml;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(policy.status().message().find(c.message), std::string::npos)
        << c.yaml << " -> " << policy.status().message();
  }
}

TEST(MonitoringPolicyTest, DefaultThresholdsFollowEvidentlyAndPsiPractice) {
  EXPECT_EQ(DefaultThreshold(DriftMethod::kKolmogorovSmirnov), 0.05);
  EXPECT_EQ(DefaultThreshold(DriftMethod::kChiSquare), 0.05);
  EXPECT_EQ(DefaultThreshold(DriftMethod::kZTest), 0.05);
  EXPECT_EQ(DefaultThreshold(DriftMethod::kWasserstein), 0.1);
  EXPECT_EQ(DefaultThreshold(DriftMethod::kJensenShannon), 0.1);
  EXPECT_EQ(DefaultThreshold(DriftMethod::kPsi), 0.2);
}

}  // namespace
}  // namespace ferry::monitoring
