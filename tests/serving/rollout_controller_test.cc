// The rollout state machine driven by the controller with a simulated clock and a fake
// FigureSource: every way a rollout ends, pausing, and a restart mid-rollout.

#include "serving/rollout_controller.h"

#include <gtest/gtest.h>

#include "rollout_fixture.h"

namespace ferry::serving {
namespace {

using Types = std::vector<std::string>;

Types TypesOf(const std::vector<RolloutEvent>& events) {
  Types types;
  for (const RolloutEvent& e : events) types.push_back(e.type);
  return types;
}

class RolloutControllerTest : public RolloutFixture {
 protected:
  // Ticks `n` intervals and returns the types of every event.
  Types Run(int n) {
    Types types;
    for (int i = 0; i < n; ++i) {
      for (const RolloutEvent& e : TickAfter()) types.push_back(e.type);
    }
    return types;
  }
};

TEST_F(RolloutControllerTest, AGoodCanaryIsPromotedThroughEveryStep) {
  auto started = Start("fraud", "fraud-model@2");
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->state.weight, 5);
  EXPECT_EQ(AliasVersion("canary"), 2);

  EXPECT_TRUE(TickAfter(std::chrono::seconds(59)).empty()) << "the interval has not passed";
  std::vector<int> weights;
  for (int i = 0; i < 4; ++i) {
    for (const RolloutEvent& e : TickAfter(std::chrono::seconds(i == 0 ? 1 : 60))) {
      weights.push_back(e.weight);
    }
  }
  // Passing 50%, the last step that shares traffic with production, promotes (at 100%
  // production would get nothing to compare with).
  EXPECT_EQ(weights, (std::vector<int>{10, 25, 50, 100}));
  EXPECT_EQ(TypesOf(sunk_), (Types{"advanced", "advanced", "advanced", "promoted"}));
  EXPECT_EQ(sunk_.back().reason, "all checks passed at 50%: promoting");
  EXPECT_EQ(sunk_.back().figures["checks"].size(), 4u);

  auto rollout = rollouts_->Get("fraud");
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->state.phase, RolloutPhase::kPromoted);
  EXPECT_EQ(rollout->previous_version, 1);
  EXPECT_EQ(AliasVersion("production"), 2);
  EXPECT_EQ(AliasVersion("canary"), 0) << "the canary alias is removed";
  auto history = models_->AliasHistory("fraud-model", "production");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->back().reason.starts_with("rollout 1 on endpoint fraud promoted"
                                                 " fraud-model@2"))
      << history->back().reason;
  EXPECT_TRUE(rollouts_->Active()->empty());
  EXPECT_TRUE(TickAfter().empty()) << "a finished rollout is not analysed";
}

TEST_F(RolloutControllerTest, ACanaryWithMoreErrorsIsRolledBackAtTheFailureLimit) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.canary.errors = 80;
    return f;
  };
  EXPECT_EQ(Run(3), (Types{"analysis", "rolled_back"}));
  auto rollout = rollouts_->Get("fraud");
  EXPECT_EQ(rollout->state.phase, RolloutPhase::kRolledBack);
  EXPECT_EQ(rollout->state.weight, 0);
  EXPECT_EQ(rollout->state.failures, 2);
  EXPECT_EQ(AliasVersion("production"), 1);
  EXPECT_EQ(AliasVersion("canary"), 0);
  EXPECT_TRUE(models_->DeleteVersion(Ref("fraud-model@2")).ok()) << "the hold is released";
}

TEST_F(RolloutControllerTest, FailuresCountOverTheWholeRollout) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  int window = 0;
  window_ = [&window](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    if (++window % 2 == 1) f.canary.p99_seconds = 0.05;  // every other window is slow
    return f;
  };
  EXPECT_EQ(Run(4), (Types{"analysis", "advanced", "rolled_back"}));
}

TEST_F(RolloutControllerTest, ASlowerCanaryIsRolledBack) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.canary.p99_seconds = 0.030;
    return f;
  };
  EXPECT_EQ(Run(2), (Types{"analysis", "rolled_back"}));
  EXPECT_NE(sunk_.back().reason.find("latency_p99 (canary p99 30.000 ms, stable 10.000 ms"),
            std::string::npos)
      << sunk_.back().reason;
}

TEST_F(RolloutControllerTest, ACanaryWhosePredictionsDifferIsRolledBackBeforeAnyLabel) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.prediction_shift = 0.45;
    return f;
  };
  EXPECT_EQ(Run(2), (Types{"analysis", "rolled_back"}));
  const nlohmann::json& checks = sunk_.back().figures["checks"];
  EXPECT_EQ(checks[2]["name"], "prediction_shift");
  EXPECT_EQ(checks[2]["outcome"], "failure");
  EXPECT_EQ(checks[3]["outcome"], "inconclusive") << "no label has arrived";
}

TEST_F(RolloutControllerTest, ACanaryWorseOnLabelledFeedbackIsRolledBack) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.stable.quality = 0.92, f.stable.labels = 400;
    f.canary.quality = 0.81, f.canary.labels = 300;
    return f;
  };
  EXPECT_EQ(Run(2), (Types{"analysis", "rolled_back"}));
  EXPECT_NE(sunk_.back().reason.find("quality (auc"), std::string::npos) << sunk_.back().reason;
}

TEST_F(RolloutControllerTest, TooLittleTrafficWaitsThenTheDeadlineRollsBack) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.canary.requests = 12;
    return f;
  };
  Types expected(9, "analysis");
  expected.push_back("deadline");
  EXPECT_EQ(Run(11), expected);
  EXPECT_TRUE(sunk_.back().reason.starts_with("progress deadline: 5% has not passed an analysis"
                                              " in 10m (deadline 10m)"))
      << sunk_.back().reason;
  EXPECT_EQ(rollouts_->Get("fraud")->state.phase, RolloutPhase::kRolledBack);
}

TEST_F(RolloutControllerTest, AFigureSourceErrorSkipsTheRolloutUntilTheNextTick) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    return absl::UnavailableError("candidate still loading");
  };
  EXPECT_TRUE(Run(1).empty());
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> { return Healthy(); };
  EXPECT_EQ(Run(1), (Types{"advanced"}));
}

TEST_F(RolloutControllerTest, APausedRolloutIsNotAnalysedUntilResumed) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  auto paused = rollouts_->Pause("fraud", "bob", "investigating a ticket");
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->phase, RolloutPhase::kPaused);
  EXPECT_EQ(paused->weight, 5) << "the weight stays while paused";
  EXPECT_EQ(paused->reason, "investigating a ticket");
  EXPECT_TRUE(Run(20).empty()) << "no analysis, and no deadline, while paused";
  EXPECT_EQ(rollouts_->Pause("fraud", "bob").status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto resumed = rollouts_->Resume("fraud", "bob");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->reason, "resumed by hand at 5%");
  EXPECT_EQ(rollouts_->Resume("fraud", "bob").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Run(1), (Types{"advanced"}));
}

TEST_F(RolloutControllerTest, ARestartResumesTheRolloutWhereItWas) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  EXPECT_EQ(Run(2), (Types{"advanced", "advanced"}));
  // A new server process: new workspace, store and controller objects.
  controller_.reset();
  rollouts_.reset();
  auto reopened = store::Workspace::Open(workspace_->root(), clock_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  OpenRollouts(reopened->get());
  auto rollout = rollouts_->Get("fraud");
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->state.step, 2);
  EXPECT_EQ(rollout->state.weight, 25);
  EXPECT_EQ(Run(2), (Types{"advanced", "promoted"}));
  EXPECT_EQ(AliasVersion("production"), 2);
  controller_.reset();
  rollouts_.reset();  // before the workspace it refers to
}

TEST_F(RolloutControllerTest, AConcurrentManualActionAbortsTheAnalysisAndTheTickSkipsIt) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  // Another actor pauses the rollout between the controller's read and its write.
  window_ = [this](const Rollout& r) -> absl::StatusOr<WindowFigures> {
    EXPECT_TRUE(rollouts_->Pause(r.endpoint, "bob").ok());
    return Healthy();
  };
  clock_->Advance(std::chrono::seconds(60));
  auto events = controller_->Tick();
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->empty());
  auto rollout = rollouts_->Get("fraud");
  EXPECT_EQ(rollout->state.phase, RolloutPhase::kPaused);
  EXPECT_EQ(rollout->state.weight, 5);

  Analysis analysis;
  analysis.decision = Decision::kAdvance;
  EXPECT_EQ(rollouts_->ApplyAnalysis(rollout->id, rollout->generation - 1, analysis,
                                     clock_->NowMicros())
                .status()
                .code(),
            absl::StatusCode::kAborted);
}

TEST_F(RolloutControllerTest, AShadowKeepsItsStateWhilePassingAndIsRemovedOnFailures) {
  auto shadow = Start("fraud", "fraud-model@3", RolloutKind::kShadow);
  ASSERT_TRUE(shadow.ok()) << shadow.status();
  EXPECT_EQ(shadow->state.weight, 0);
  EXPECT_EQ(AliasVersion("shadow"), 3);
  EXPECT_EQ(Run(3), (Types{"analysis", "analysis", "analysis"}));
  EXPECT_EQ(rollouts_->Get("fraud")->state.phase, RolloutPhase::kProgressing);
  window_ = [](const Rollout&) -> absl::StatusOr<WindowFigures> {
    WindowFigures f = Healthy();
    f.canary.errors = 500;
    return f;
  };
  EXPECT_EQ(Run(2), (Types{"analysis", "rolled_back"}));
  EXPECT_EQ(AliasVersion("shadow"), 0);
  EXPECT_EQ(AliasVersion("production"), 1);
}

}  // namespace
}  // namespace ferry::serving
