// TriggerRunner on a simulated clock with a launcher that counts launches instead of
// starting processes: each trigger kind fires exactly one run, triggers during a run are
// queued and coalesced, max_concurrent_runs is kept, and stale runs are ended.

#include "pipeline/trigger_runner.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "alerts/alert_evaluator.h"
#include "core/clock.h"
#include "dataset/dataset_store.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::pipeline {
namespace {

// 2026-11-26T12:00:30Z.
constexpr int64_t kStart = 1'795'694'430'000'000;
constexpr int64_t kSecond = 1'000'000;

std::string Host() {
  char name[256] = {};
  return ::gethostname(name, sizeof(name) - 1) == 0 ? name : "unknown";
}

// A pid that no process has: a child that exited and was reaped.
int64_t DeadPid() {
  pid_t pid = 0;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  EXPECT_EQ(posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, nullptr), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// Counts launches; the "executor" is this process (alive) unless told otherwise.
class CountingLauncher final : public RunLauncher {
 public:
  absl::StatusOr<int64_t> Launch(const RunRecord& run) override {
    if (!fail.ok()) return fail;
    launched.push_back(run.id);
    return next_pid != 0 ? next_pid : static_cast<int64_t>(::getpid());
  }
  std::vector<std::string> launched;
  int64_t next_pid = 0;
  absl::Status fail;
};

std::string Spec(const std::string& triggers, int max_concurrent_runs = 1) {
  return "name: retrain\n"
         "params: {reason: none, rounds: 10}\n"
         "max_concurrent_runs: " +
         std::to_string(max_concurrent_runs) +
         "\n"
         "triggers:\n" +
         triggers +
         "steps:\n"
         "  - id: hello\n"
         "    run: echo hi > $FERRY_OUTPUT_OUT\n"
         "    outputs: [out]\n";
}

class TriggerRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(kStart);
    auto workspace = testing::InitWorkspace(temp_.path() / "ws", clock_);
    ASSERT_TRUE(workspace.ok()) << workspace.status();
    workspace_ = *std::move(workspace);
    auto launcher = std::make_unique<CountingLauncher>();
    launcher_ = launcher.get();
    auto runner = TriggerRunner::Open(*workspace_, std::move(launcher));
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
  }

  void ApplySpec(const std::string& yaml) {
    AppliedPipeline applied;
    applied.name = "retrain";
    applied.source = "retrain.yaml";
    applied.spec = yaml;
    applied.spec_dir = temp_.path().string();
    applied.applied_by = "test";
    ASSERT_TRUE(runs().Apply(applied).ok());
  }
  void Tick() {
    absl::Status ticked = runner_->Tick();
    EXPECT_TRUE(ticked.ok()) << ticked;
  }
  void AdvanceTo(int hour, int minute, int second) {
    clock_->Set(kStart - 30 * kSecond + ((hour - 12) * 3600 + minute * 60 + second) * kSecond);
  }
  TriggerResult Manual(ManualTrigger manual = {}) {
    absl::StatusOr<TriggerResult> result = runner_->TriggerManually("retrain", manual);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : TriggerResult{};
  }
  // What the executor does: starts the run (heartbeat now), then ends it.
  void Execute(const std::string& run) {
    ASSERT_TRUE(runs().StartRun(run, {}, "tracking", Host(), ::getpid()).ok());
  }
  void Finish(const std::string& run) {
    ASSERT_TRUE(runs().EndRun(run, RunState::kSucceeded, "").ok());
  }
  RunRecord Run(const std::string& id) { return *runs().GetRun(id); }
  // Outcomes of the recorded trigger events, oldest first, as "kind outcome".
  std::vector<std::string> Events() {
    std::vector<std::string> out;
    const std::vector<TriggerEvent> events = *runs().TriggerEvents("retrain", 100);
    for (const TriggerEvent& e : events) {
      out.insert(out.begin(), e.kind + " " + e.outcome);
    }
    return out;
  }
  PipelineRunStore& runs() { return runner_->runs(); }
  size_t launches() const { return launcher_->launched.size(); }

  ferry::testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_;
  std::unique_ptr<store::Workspace> workspace_;
  CountingLauncher* launcher_ = nullptr;
  std::unique_ptr<TriggerRunner> runner_;
};

using Strings = std::vector<std::string>;

TEST_F(TriggerRunnerTest, AScheduleFiresOnceAtItsMinuteAndNotAgainUntilTheNext) {
  ApplySpec(Spec("  - schedule: \"*/10 * * * *\"\n"));
  Tick();
  AdvanceTo(12, 9, 59);
  Tick();
  EXPECT_EQ(launches(), 0u) << "first seen at 12:00:30: nothing before 12:10";
  AdvanceTo(12, 10, 0);
  Tick();
  ASSERT_EQ(launches(), 1u);
  const RunRecord run = Run(launcher_->launched[0]);
  EXPECT_EQ(run.trigger, "schedule");
  EXPECT_EQ(run.trigger_detail, "*/10 * * * * at 2026-11-26T12:10:00.000000Z");
  EXPECT_EQ(run.params, (std::map<std::string, std::string>{{"reason", "none"}, {"rounds", "10"}}));
  EXPECT_EQ(run.actor, "ferry-server");
  Execute(run.id);
  AdvanceTo(12, 10, 1);
  Tick();
  AdvanceTo(12, 10, 59);
  Tick();
  EXPECT_EQ(launches(), 1u);
  Finish(run.id);
  AdvanceTo(12, 19, 59);
  Tick();
  EXPECT_EQ(launches(), 1u);
  AdvanceTo(12, 20, 0);
  Tick();
  EXPECT_EQ(launches(), 2u);
  EXPECT_EQ(Events(), (Strings{"schedule started", "schedule started"}));
}

TEST_F(TriggerRunnerTest, AfterDowntimeAScheduleFiresOnceNotOncePerMissedMinute) {
  ApplySpec(Spec("  - schedule: \"* * * * *\"\n"));
  Tick();
  AdvanceTo(12, 1, 0);
  Tick();
  ASSERT_EQ(launches(), 1u);
  Finish(launcher_->launched[0]);
  AdvanceTo(15, 0, 30);  // three hours down
  Tick();
  Tick();
  EXPECT_EQ(launches(), 2u);
  Finish(launcher_->launched[1]);
  AdvanceTo(15, 0, 59);
  Tick();
  EXPECT_EQ(launches(), 2u);
  AdvanceTo(15, 1, 0);
  Tick();
  EXPECT_EQ(launches(), 3u);
}

TEST_F(TriggerRunnerTest, AScheduleSeenFirstLongAfterItsApplyFiresOnceForTheMinutesSince) {
  ApplySpec(Spec("  - schedule: \"0 * * * *\"\n"));  // applied 12:00:30
  AdvanceTo(14, 30, 0);  // the server starts: 13:00 and 14:00 passed since the apply
  Tick();
  Tick();
  EXPECT_EQ(launches(), 1u);
}

TEST_F(TriggerRunnerTest, ANewDatasetVersionFiresExactlyOneRun) {
  auto datasets = dataset::DatasetStore::Open(*workspace_);
  ASSERT_TRUE(datasets.ok());
  const auto add = [&](const std::string& rows) {
    std::ofstream(temp_.path() / "events.csv") << "a,b\n" << rows;
    ASSERT_TRUE((*datasets)->Add("events", temp_.path() / "events.csv", {}).ok());
  };
  add("1,2\n");
  ApplySpec(Spec("  - dataset: events\n"));
  Tick();
  EXPECT_EQ(launches(), 0u) << "first sight records events@1";
  add("1,2\n3,4\n");
  Tick();
  Tick();
  ASSERT_EQ(launches(), 1u);
  EXPECT_EQ(Run(launcher_->launched[0]).trigger, "dataset");
  EXPECT_EQ(Run(launcher_->launched[0]).trigger_detail, "events@2");
  EXPECT_EQ(Events(), (Strings{"dataset started"}));
}

TEST_F(TriggerRunnerTest, ADatasetWithNoVersionYetFiresOnItsFirst) {
  ApplySpec(Spec("  - dataset: events\n"));
  Tick();
  auto datasets = dataset::DatasetStore::Open(*workspace_);
  std::ofstream(temp_.path() / "events.csv") << "a\n1\n";
  ASSERT_TRUE((*datasets)->Add("events", temp_.path() / "events.csv", {}).ok());
  Tick();
  ASSERT_EQ(launches(), 1u);
  EXPECT_EQ(Run(launcher_->launched[0]).trigger_detail, "events@1");
}

class TriggerRunnerAlertTest : public TriggerRunnerTest {
 protected:
  void SetUp() override {
    TriggerRunnerTest::SetUp();
    auto store = alerts::AlertStore::Open(*workspace_);
    ASSERT_TRUE(store.ok());
    alerts_ = *std::move(store);
    ASSERT_TRUE(alerts_
                    ->Apply(R"(groups:
  - name: g
    rules:
      - alert: Drift
        expr: drift > 0.2
        actions:
          - pipeline: {name: retrain, params: {reason: drift, window: 7d}}
      - alert: Quality
        expr: accuracy < 0.8
      - alert: Other
        expr: other > 0
        actions:
          - pipeline: {name: retrain}
)",
                            "rules.yaml", "test")
                    .ok());
    auto evaluator = alerts::AlertEvaluator::Open(
        *workspace_, [this]() -> absl::StatusOr<std::string> { return metrics_; }, {});
    ASSERT_TRUE(evaluator.ok()) << evaluator.status();
    evaluator_ = *std::move(evaluator);
  }
  // Evaluates the rules over `metrics` 15 s later (the default group interval).
  void Evaluate(const std::string& metrics) {
    metrics_ = metrics;
    clock_->Advance(std::chrono::seconds(15));
    ASSERT_TRUE(evaluator_->Evaluate(clock_->NowMicros()).ok());
  }

  std::unique_ptr<alerts::AlertStore> alerts_;
  std::unique_ptr<alerts::AlertEvaluator> evaluator_;
  std::string metrics_ = "drift 0\naccuracy 1\nother 0\n";
};

TEST_F(TriggerRunnerAlertTest, AnAlertsPipelineActionFiresOneRunAndIsConsumed) {
  ApplySpec(Spec("  - alert: Drift\n"));
  Evaluate("drift{feature=\"amount\"} 0.1\naccuracy 1\nother 0\n");
  Tick();
  Evaluate("drift{feature=\"amount\"} 0.5\naccuracy 1\nother 0\n");
  Tick();
  Tick();
  ASSERT_EQ(launches(), 1u) << "the firing's history row and its pipeline action are one trigger";
  const RunRecord run = Run(launcher_->launched[0]);
  EXPECT_EQ(run.trigger, "alert");
  EXPECT_EQ(run.trigger_detail, "Drift {feature=\"amount\", severity=\"warning\"}");
  EXPECT_EQ(run.params, (std::map<std::string, std::string>{{"reason", "drift"}, {"rounds", "10"}}))
      << "declared params of the action override the defaults; `window` is not declared";
  absl::StatusOr<std::vector<alerts::PipelineTrigger>> rows = alerts_->PipelineTriggers(10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE(rows->front().consumed_at);
  EXPECT_EQ(Events(), (Strings{"alert started"}));
}

TEST_F(TriggerRunnerAlertTest, AnAlertWithoutAPipelineActionFiresThroughItsHistory) {
  ApplySpec(Spec("  - alert: Quality\n"));
  Tick();
  Evaluate("drift 0\naccuracy 0.5\nother 0\n");
  Tick();
  Tick();
  ASSERT_EQ(launches(), 1u);
  EXPECT_EQ(Run(launcher_->launched[0]).trigger_detail, "Quality {severity=\"warning\"}");
  EXPECT_EQ(Run(launcher_->launched[0]).params.at("reason"), "none");
}

TEST_F(TriggerRunnerAlertTest, FiringsBeforeThePipelineWasSeenDoNotFireThroughHistory) {
  Evaluate("drift 0\naccuracy 0.5\nother 0\n");
  ApplySpec(Spec("  - alert: Quality\n"));
  Tick();
  EXPECT_EQ(launches(), 0u);
}

TEST_F(TriggerRunnerAlertTest, AnActionThatFiredBeforeThePipelineWasAppliedIsRefused) {
  Evaluate("drift 0.5\naccuracy 1\nother 0\n");
  clock_->Advance(std::chrono::seconds(1));
  ApplySpec(Spec("  - alert: Drift\n"));
  Tick();
  EXPECT_EQ(launches(), 0u);
  EXPECT_EQ(Events(), (Strings{"alert refused"}));
  EXPECT_NE(runs()
                .TriggerEvents("retrain", 1)
                ->front()
                .detail.find(", before pipeline retrain was applied"),
            std::string::npos);
}

TEST_F(TriggerRunnerAlertTest, AnActionForAPipelineWithoutThatAlertTriggerIsConsumedAndRefused) {
  ApplySpec(Spec("  - alert: Drift\n"));
  Tick();
  Evaluate("drift 0\naccuracy 1\nother 1\n");
  Tick();
  EXPECT_EQ(launches(), 0u);
  EXPECT_EQ(Events(), (Strings{"alert refused"}));
  const TriggerEvent event = runs().TriggerEvents("retrain", 1)->front();
  EXPECT_EQ(event.detail,
            "Other {severity=\"warning\"}: pipeline retrain has no `alert: Other` trigger");
  EXPECT_TRUE(alerts_->PipelineTriggers(10)->front().consumed_at);
}

TEST_F(TriggerRunnerTest,
       ATriggerDuringARunIsQueuedAFurtherOneCoalescedAndTheQueuedRunStartsAfter) {
  ApplySpec(Spec("  - manual: {}\n"));
  const TriggerResult first = Manual({{{"rounds", "20"}}, false, "ada"});
  EXPECT_EQ(first.outcome, TriggerOutcome::kStarted);
  EXPECT_EQ(first.run.params.at("rounds"), "20");
  EXPECT_EQ(first.run.actor, "ada");
  EXPECT_EQ(first.run.trigger_detail, "by ada");
  EXPECT_EQ(Run(first.run.id).executor_pid, ::getpid()) << "marked launched";
  Execute(first.run.id);

  const TriggerResult second = Manual();
  EXPECT_EQ(second.outcome, TriggerOutcome::kQueued);
  EXPECT_EQ(Run(second.run.id).state, RunState::kQueued);
  const TriggerResult third = Manual();
  EXPECT_EQ(third.outcome, TriggerOutcome::kCoalesced);
  EXPECT_EQ(third.run.id, second.run.id);
  Tick();
  EXPECT_EQ(launches(), 1u);

  Finish(first.run.id);
  Tick();
  ASSERT_EQ(launches(), 2u);
  EXPECT_EQ(launcher_->launched[1], second.run.id);
  Tick();
  EXPECT_EQ(launches(), 2u);
  EXPECT_EQ(Events(), (Strings{"manual started", "manual queued", "manual coalesced"}));
  const std::vector<TriggerEvent> events = *runs().TriggerEvents("retrain", 1);
  EXPECT_EQ(events.front().run, second.run.id);

  // The queued run started: the next trigger queues a new one.
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kQueued);
}

TEST_F(TriggerRunnerTest, ALaunchedRunNotYetStartedCountsAsRunning) {
  ApplySpec(Spec("  - manual: {}\n"));
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kStarted);
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kQueued);
}

TEST_F(TriggerRunnerTest, ACancelledQueuedRunNoLongerTakesTriggers) {
  ApplySpec(Spec("  - manual: {}\n"));
  Manual();
  const TriggerResult queued = Manual();
  ASSERT_TRUE(runs().RequestCancel(queued.run.id).ok());
  const TriggerResult next = Manual();
  EXPECT_EQ(next.outcome, TriggerOutcome::kQueued);
  EXPECT_NE(next.run.id, queued.run.id);
}

TEST_F(TriggerRunnerTest, MaxConcurrentRunsTwoAllowsTwo) {
  ApplySpec(Spec("  - manual: {}\n", 2));
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kStarted);
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kStarted);
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kQueued);
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kCoalesced);
  EXPECT_EQ(launches(), 2u);
}

TEST_F(TriggerRunnerTest, ARunWhoseHeartbeatStoppedIsEndedAndFreesItsSlot) {
  ApplySpec(Spec("  - manual: {}\n"));
  const TriggerResult running = Manual();
  Execute(running.run.id);
  const TriggerResult queued = Manual();
  clock_->Advance(std::chrono::seconds(60));
  Tick();
  EXPECT_EQ(Run(running.run.id).state, RunState::kRunning) << "60 s is not yet stale";
  clock_->Advance(std::chrono::seconds(1));
  Tick();
  const RunRecord ended = Run(running.run.id);
  EXPECT_EQ(ended.state, RunState::kFailed);
  EXPECT_NE(ended.error.find("its executor stopped (no heartbeat for more than 60 s"),
            std::string::npos)
      << ended.error;
  EXPECT_TRUE(ended.cancel_requested) << "a silent executor that wakes up stops";
  ASSERT_EQ(launches(), 2u);
  EXPECT_EQ(launcher_->launched[1], queued.run.id);
}

TEST_F(TriggerRunnerTest, ARunWhoseExecutorProcessIsGoneIsEnded) {
  ApplySpec(Spec("  - manual: {}\n"));
  launcher_->next_pid = DeadPid();
  const TriggerResult launched = Manual();  // its executor died before starting the run
  Tick();
  const RunRecord ended = Run(launched.run.id);
  EXPECT_EQ(ended.state, RunState::kFailed);
  EXPECT_NE(ended.error.find("its executor stopped (pid "), std::string::npos) << ended.error;
  EXPECT_NE(ended.error.find(" is gone)"), std::string::npos) << ended.error;

  launcher_->next_pid = 0;
  const TriggerResult running = Manual();
  EXPECT_EQ(running.outcome, TriggerOutcome::kStarted);
  ASSERT_TRUE(runs().StartRun(running.run.id, {}, "t", Host(), DeadPid()).ok());
  Tick();
  EXPECT_EQ(Run(running.run.id).state, RunState::kFailed);
}

TEST_F(TriggerRunnerTest, ManualTriggersRefuseUnknownPipelinesAndParams) {
  ApplySpec(Spec("  - manual: {}\n"));
  absl::StatusOr<TriggerResult> unknown = runner_->TriggerManually("nightly", {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<TriggerResult> bad =
      runner_->TriggerManually("retrain", {{{"round", "3"}}, false, ""});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("declares no param \"round\""), std::string::npos)
      << bad.status();
  EXPECT_EQ(launches(), 0u);
  EXPECT_EQ(Events(), (Strings{"manual refused"}));
  EXPECT_TRUE(runs().ListRuns("retrain", 10)->empty());
}

TEST_F(TriggerRunnerTest, ARunWhoseExecutorCannotStartFailsAndTheTriggerIsRefused) {
  ApplySpec(Spec("  - manual: {}\n"));
  launcher_->fail = absl::ResourceExhaustedError("no more processes");
  absl::StatusOr<TriggerResult> result = runner_->TriggerManually("retrain", {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  const std::vector<RunRecord> listed = *runs().ListRuns("retrain", 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, RunState::kFailed);
  EXPECT_EQ(listed[0].error, "its executor could not start: no more processes");
  EXPECT_EQ(Events(), (Strings{"manual refused"}));
  launcher_->fail = absl::OkStatus();
  EXPECT_EQ(Manual().outcome, TriggerOutcome::kStarted) << "the failed run holds no slot";
}

}  // namespace
}  // namespace ferry::pipeline
