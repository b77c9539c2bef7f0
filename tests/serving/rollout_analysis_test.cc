#include "serving/rollout_analysis.h"

#include <gtest/gtest.h>

namespace ferry::serving {
namespace {

constexpr int64_t kSecond = 1'000'000;

// A window where the canary is as good as production on every count.
WindowFigures Healthy() {
  WindowFigures f;
  f.stable = {1000, 5, 0.010, std::nullopt, 0};
  f.canary = {1000, 6, 0.011, std::nullopt, 0};
  f.prediction_shift = 0.02;
  f.quality_metric = "auc";
  return f;
}

const CheckResult& Check(const Analysis& a, const std::string& name) {
  for (const CheckResult& c : a.checks) {
    if (c.name == name) return c;
  }
  static const CheckResult kMissing;
  ADD_FAILURE() << "no check " << name;
  return kMissing;
}

struct CheckCase {
  std::string label;
  std::function<void(WindowFigures&)> change;
  std::string check;
  CheckOutcome outcome;
};

class CheckTest : public ::testing::TestWithParam<CheckCase> {};

TEST_P(CheckTest, JudgesTheWindow) {
  WindowFigures f = Healthy();
  GetParam().change(f);
  const Analysis a = Analyze(RolloutPolicy{}, RolloutState{}, f, 0);
  EXPECT_EQ(Check(a, GetParam().check).outcome, GetParam().outcome)
      << GetParam().label << ": " << Check(a, GetParam().check).detail;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CheckTest,
    ::testing::Values(
        CheckCase{"same errors", [](WindowFigures&) {}, "error_rate", CheckOutcome::kSuccess},
        CheckCase{"one point more is the limit",
                  [](WindowFigures& f) { f.canary.errors = 15; }, "error_rate",
                  CheckOutcome::kSuccess},
        CheckCase{"two points more", [](WindowFigures& f) { f.canary.errors = 25; },
                  "error_rate", CheckOutcome::kFailure},
        CheckCase{"canary under min_requests", [](WindowFigures& f) { f.canary.requests = 199; },
                  "error_rate", CheckOutcome::kInconclusive},
        CheckCase{"stable under min_requests", [](WindowFigures& f) { f.stable.requests = 10; },
                  "error_rate", CheckOutcome::kInconclusive},
        CheckCase{"p99 ratio 1.1", [](WindowFigures&) {}, "latency_p99", CheckOutcome::kSuccess},
        CheckCase{"p99 ratio 1.5", [](WindowFigures& f) { f.canary.p99_seconds = 0.015; },
                  "latency_p99", CheckOutcome::kFailure},
        CheckCase{"no p99", [](WindowFigures& f) { f.canary.p99_seconds.reset(); },
                  "latency_p99", CheckOutcome::kInconclusive},
        CheckCase{"stable p99 zero", [](WindowFigures& f) { f.stable.p99_seconds = 0; },
                  "latency_p99", CheckOutcome::kInconclusive},
        CheckCase{"p99 under min_requests", [](WindowFigures& f) { f.canary.requests = 5; },
                  "latency_p99", CheckOutcome::kInconclusive},
        CheckCase{"small shift", [](WindowFigures&) {}, "prediction_shift",
                  CheckOutcome::kSuccess},
        CheckCase{"big shift", [](WindowFigures& f) { f.prediction_shift = 0.4; },
                  "prediction_shift", CheckOutcome::kFailure},
        CheckCase{"no shift", [](WindowFigures& f) { f.prediction_shift.reset(); },
                  "prediction_shift", CheckOutcome::kInconclusive},
        CheckCase{"no labels", [](WindowFigures&) {}, "quality", CheckOutcome::kInconclusive},
        CheckCase{"too few labels on one side",
                  [](WindowFigures& f) {
                    f.stable.quality = 0.9, f.stable.labels = 500;
                    f.canary.quality = 0.9, f.canary.labels = 99;
                  },
                  "quality", CheckOutcome::kInconclusive},
        CheckCase{"auc slightly worse within the allowance",
                  [](WindowFigures& f) {
                    f.stable.quality = 0.90, f.stable.labels = 500;
                    f.canary.quality = 0.895, f.canary.labels = 500;
                  },
                  "quality", CheckOutcome::kSuccess},
        CheckCase{"auc worse",
                  [](WindowFigures& f) {
                    f.stable.quality = 0.90, f.stable.labels = 500;
                    f.canary.quality = 0.85, f.canary.labels = 500;
                  },
                  "quality", CheckOutcome::kFailure},
        CheckCase{"rmse lower is better: canary lower",
                  [](WindowFigures& f) {
                    f.quality_higher_is_better = false;
                    f.stable.quality = 3.0, f.stable.labels = 500;
                    f.canary.quality = 2.5, f.canary.labels = 500;
                  },
                  "quality", CheckOutcome::kSuccess},
        CheckCase{"rmse lower is better: canary higher",
                  [](WindowFigures& f) {
                    f.quality_higher_is_better = false;
                    f.stable.quality = 3.0, f.stable.labels = 500;
                    f.canary.quality = 3.5, f.canary.labels = 500;
                  },
                  "quality", CheckOutcome::kFailure}),
    [](const auto& info) { return std::to_string(info.index); });

TEST(AnalyzeTest, AllRequiredChecksPassingAdvancesWithoutLabels) {
  const Analysis a = Analyze(RolloutPolicy{}, RolloutState{}, Healthy(), 0);
  EXPECT_EQ(a.decision, Decision::kAdvance) << a.reason;
  EXPECT_EQ(a.reason, "all checks passed at 5%: advancing to 10%");
  EXPECT_FALSE(a.failed);
  EXPECT_EQ(Check(a, "quality").outcome, CheckOutcome::kInconclusive);
  ASSERT_EQ(a.checks.size(), 4u);
  EXPECT_EQ(Check(a, "error_rate").detail,
            "canary 0.60% errors (6/1000), stable 0.50% (5/1000): +0.10 points, limit +1.00");
  EXPECT_EQ(Check(a, "latency_p99").detail,
            "canary p99 11.000 ms, stable 10.000 ms: ratio 1.10, limit 1.20");
}

TEST(AnalyzeTest, PassingTheLastStepPromotes) {
  RolloutState state;
  state.step = 4;
  EXPECT_EQ(Analyze(RolloutPolicy{}, state, Healthy(), 0).decision, Decision::kPromote);
}

TEST(AnalyzeTest, FailuresWaitUntilTheLimitThenRollBack) {
  WindowFigures f = Healthy();
  f.canary.errors = 100;
  RolloutState state;
  Analysis first = Analyze(RolloutPolicy{}, state, f, 0);
  EXPECT_EQ(first.decision, Decision::kWait);
  EXPECT_TRUE(first.failed);
  EXPECT_TRUE(first.reason.starts_with("failed analysis 1 of 2 allowed at 5%: error_rate ("))
      << first.reason;
  state.failures = 1;
  Analysis second = Analyze(RolloutPolicy{}, state, f, 0);
  EXPECT_EQ(second.decision, Decision::kRollback);
  EXPECT_FALSE(second.deadline_exceeded);
}

TEST(AnalyzeTest, QualityFailureCountsOnceLabelsHaveArrived) {
  WindowFigures f = Healthy();
  f.stable.quality = 0.9, f.stable.labels = 1000;
  f.canary.quality = 0.8, f.canary.labels = 1000;
  RolloutPolicy policy;
  policy.failure_limit = 1;
  const Analysis a = Analyze(policy, RolloutState{}, f, 0);
  EXPECT_EQ(a.decision, Decision::kRollback) << a.reason;
}

TEST(AnalyzeTest, InconclusiveTrafficWaitsUntilTheProgressDeadline) {
  WindowFigures f = Healthy();
  f.canary.requests = 20;
  RolloutState state;
  state.step_started_at = 100 * kSecond;
  const Analysis early = Analyze(RolloutPolicy{}, state, f, 100 * kSecond + 599 * kSecond);
  EXPECT_EQ(early.decision, Decision::kWait);
  EXPECT_EQ(early.reason,
            "inconclusive at 5%: error_rate, latency_p99, prediction_shift (too few requests:"
            " canary 20, stable 1000 (need 200 each))")
      << early.reason;
  const Analysis late = Analyze(RolloutPolicy{}, state, f, 100 * kSecond + 600 * kSecond);
  EXPECT_EQ(late.decision, Decision::kRollback);
  EXPECT_TRUE(late.deadline_exceeded);
  EXPECT_TRUE(late.reason.starts_with("progress deadline: 5% has not passed an analysis in 10m"
                                      " (deadline 10m)"))
      << late.reason;
}

TEST(AnalyzeTest, AShadowNeverAdvancesButFailsToTheLimit) {
  RolloutState state;
  const Analysis pass = Analyze(RolloutPolicy{}, state, Healthy(), 0, RolloutKind::kShadow);
  EXPECT_EQ(pass.decision, Decision::kWait);
  EXPECT_EQ(pass.reason, "shadow: all checks passed; a shadow is promoted only by hand");
  WindowFigures shifted = Healthy();
  shifted.prediction_shift = 0.5;
  state.failures = 1;
  EXPECT_EQ(Analyze(RolloutPolicy{}, state, shifted, 0, RolloutKind::kShadow).decision,
            Decision::kRollback);
  WindowFigures idle = Healthy();
  idle.stable.requests = 0;
  EXPECT_EQ(Analyze(RolloutPolicy{}, RolloutState{}, idle, 1'000'000 * kSecond,
                    RolloutKind::kShadow)
                .decision,
            Decision::kWait)
      << "a shadow has no progress deadline";
}

}  // namespace
}  // namespace ferry::serving
