// The executor over a real temporary workspace, with command steps (shell and Python):
// the run cache's hits and misses, parallelism, retries, timeouts, cancellation, failure
// propagation, metrics, outputs and reproduce.

#include "pipeline/pipeline_executor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "pipeline/pipeline_services.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::pipeline {
namespace {

namespace fs = std::filesystem;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    services_ = std::move(PipelineServices::Open(*workspace_, temp_.path())).value();
  }

  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(core::WriteFileAtomically(temp_ / name, text).ok());
  }
  void AddDataset(const std::string& name, const std::string& csv) {
    Write(name + ".csv", csv);
    ASSERT_TRUE(services_->datasets->Add(name, temp_ / (name + ".csv"), {}).ok());
  }

  absl::StatusOr<ExecutionResult> Run(const std::string& yaml,
                                      std::map<std::string, std::string> params = {},
                                      bool force = false, ExecutorOptions options = {}) {
    RunInvocation inv;
    ASSIGN_OR_RETURN(inv.spec, ParsePipelineSpec(yaml, "p.yaml"));
    inv.spec_yaml = yaml;
    inv.source = "p.yaml";
    inv.spec_dir = temp_.path();
    inv.params = std::move(params);
    inv.force = force;
    options.retry_delay = std::chrono::milliseconds(10);
    options.poll = std::chrono::milliseconds(20);
    options.kill_grace = std::chrono::milliseconds(500);
    options.actor = "ada";
    PipelineExecutor executor(*services_->steps, *services_->runs, options);
    return executor.Execute(inv);
  }

  static const StepRecord& Step(const ExecutionResult& r, const std::string& id) {
    for (const StepRecord& s : r.run.steps) {
      if (s.step == id) return s;
    }
    ADD_FAILURE() << "no step " << id;
    static const StepRecord none;
    return none;
  }
  static StepState StateOf(const ExecutionResult& r, const std::string& id) {
    return Step(r, id).state;
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<PipelineServices> services_;
};

constexpr char kTwoSteps[] = R"(
name: p
params: {scale: 2, note: none}
steps:
  - id: prep
    run: python3 prep.py ${params.scale}
    inputs: {data: d@latest}
    outputs: [rows.csv]
  - id: count
    run: grep -c , $FERRY_INPUT_ROWS > $FERRY_OUTPUT_N
    inputs: {rows: steps.prep.rows.csv}
    outputs: [n]
)";

constexpr char kPrep[] = R"(import csv, json, os, sys
scale = int(sys.argv[1])
rows = list(csv.DictReader(open(os.environ["FERRY_INPUT_DATA"])))
with open(os.environ["FERRY_OUTPUT_ROWS_CSV"], "w") as out:
    out.write("a,y\n")
    for r in rows:
        out.write(f"{int(r['a']) * scale},{r['y']}\n")
json.dump({"rows": len(rows), "loss": [0.5, 0.25]}, open(os.environ["FERRY_METRICS_FILE"], "w"))
print("prepared", len(rows), "rows")
)";

TEST_F(ExecutorTest, APythonStepAndAShellStepRunAndTheirOutputsAndMetricsAreRecorded) {
  AddDataset("d", "a,y\n1,0\n2,1\n3,1\n");
  Write("prep.py", kPrep);
  auto r = Run(kTwoSteps);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run.state, RunState::kSucceeded) << r->run.error;
  EXPECT_EQ(r->run.inputs.at("d").ref, "d@1");
  const StepRecord& prep = Step(*r, "prep");
  ASSERT_EQ(prep.state, StepState::kSucceeded) << prep.error;
  const StepValue& rows = prep.outputs.at("rows.csv");
  EXPECT_EQ(rows.ref, "outputs/rows.csv");
  auto bytes = workspace_->objects().GetBytes(core::Digest::FromHex(rows.sha256).value(), 1 << 20);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "a,y\n2,0\n4,1\n6,1\n");
  auto tracked = services_->tracking->GetRun(prep.tracking_run);
  ASSERT_TRUE(tracked.ok());
  EXPECT_EQ(tracked->info.status, tracking::RunStatus::kFinished);
  auto loss = services_->tracking->MetricHistory(prep.tracking_run, "loss");
  ASSERT_TRUE(loss.ok()) << loss.status();
  ASSERT_EQ(loss->size(), 2u);
  EXPECT_EQ((*loss)[1].value, 0.25);
  bool has_stdout = false;
  for (const auto& a : tracked->artifacts) has_stdout |= a.path == "logs/stdout.1.txt";
  EXPECT_TRUE(has_stdout);
  ASSERT_EQ(tracked->inputs.size(), 1u);
  EXPECT_EQ(tracked->inputs[0].dataset_version, "d@1");
  // Each step's run hangs under the pipeline run's.
  bool tagged = false;
  for (const auto& t : tracked->tags)
    tagged |= t.key == "ferry.parent_run" && t.value == r->run.tracking_run;
  EXPECT_TRUE(tagged);
  EXPECT_EQ(StateOf(*r, "count"), StepState::kSucceeded);
}

TEST_F(ExecutorTest, TheRunCacheHitsUntilAParamTheDataTheCommandOrTheScriptChanges) {
  AddDataset("d", "a,y\n1,0\n2,1\n");
  Write("prep.py", kPrep);
  ASSERT_EQ(Run(kTwoSteps)->run.state, RunState::kSucceeded);

  auto again = Run(kTwoSteps);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(StateOf(*again, "prep"), StepState::kCached);
  EXPECT_EQ(StateOf(*again, "count"), StepState::kCached);

  // A param the command uses: prep reruns, and its new bytes (scaled values) rerun count.
  auto param = Run(kTwoSteps, {{"scale", "3"}});
  EXPECT_EQ(StateOf(*param, "prep"), StepState::kSucceeded);
  EXPECT_EQ(StateOf(*param, "count"), StepState::kSucceeded);
  EXPECT_EQ(StateOf(*Run(kTwoSteps, {{"scale", "3"}}), "prep"), StepState::kCached);
  // A run param no step uses changes nothing.
  auto unused = Run(kTwoSteps, {{"scale", "3"}, {"note", "other"}});
  EXPECT_EQ(StateOf(*unused, "prep"), StepState::kCached);
  EXPECT_EQ(StateOf(*unused, "count"), StepState::kCached);

  // New input data.
  AddDataset("d", "a,y\n1,0\n2,1\n5,0\n");
  auto data = Run(kTwoSteps);
  EXPECT_EQ(StateOf(*data, "prep"), StepState::kSucceeded);
  EXPECT_EQ(StateOf(*data, "count"), StepState::kSucceeded);

  // The script the command names.
  Write("prep.py", std::string(kPrep) + "# changed\n");
  auto script = Run(kTwoSteps);
  EXPECT_EQ(StateOf(*script, "prep"), StepState::kSucceeded);
  // prep made the same bytes again: count's inputs are unchanged.
  EXPECT_EQ(StateOf(*script, "count"), StepState::kCached);

  // The command itself.
  std::string changed = kTwoSteps;
  changed.replace(changed.find("grep -c ,"), 9, "grep -c y");
  auto command = Run(changed);
  EXPECT_EQ(StateOf(*command, "prep"), StepState::kCached);
  EXPECT_EQ(StateOf(*command, "count"), StepState::kSucceeded);

  // --force runs everything.
  auto forced = Run(kTwoSteps, {}, true);
  EXPECT_EQ(StateOf(*forced, "prep"), StepState::kSucceeded);
  EXPECT_EQ(StateOf(*forced, "count"), StepState::kSucceeded);
}

TEST_F(ExecutorTest, ADeclaredDepChangesTheKey) {
  Write("lib.txt", "v1");
  constexpr char kSpec[] = R"(
name: p
steps:
  - {id: a, run: "cat lib.txt > $FERRY_OUTPUT_OUT", outputs: [out], deps: [lib.txt]}
)";
  ASSERT_EQ(Run(kSpec)->run.state, RunState::kSucceeded);
  EXPECT_EQ(StateOf(*Run(kSpec), "a"), StepState::kCached);
  Write("lib.txt", "v2");
  EXPECT_EQ(StateOf(*Run(kSpec), "a"), StepState::kSucceeded);
}

TEST_F(ExecutorTest, StepsOfOneLevelRunAtTheSameTime) {
  // Each waits (up to 10 s) for the other to have started: only parallel steps finish.
  constexpr char kSpec[] = R"(
name: p
steps:
  - id: a
    run: "touch a.started; for i in $(seq 200); do [ -e b.started ] && break; sleep 0.05; done; [ -e b.started ] && echo a > $FERRY_OUTPUT_OUT"
    outputs: [out]
  - id: b
    run: "touch b.started; for i in $(seq 200); do [ -e a.started ] && break; sleep 0.05; done; [ -e a.started ] && echo b > $FERRY_OUTPUT_OUT"
    outputs: [out]
)";
  ExecutorOptions options;
  options.jobs = 2;
  auto r = Run(kSpec, {}, false, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->run.state, RunState::kSucceeded) << r->run.error;
}

TEST_F(ExecutorTest, ARetriedStepSucceedsOnItsSecondAttempt) {
  constexpr char kSpec[] = R"(
name: p
steps:
  - id: flaky
    run: "if [ -e tried ]; then echo ok > $FERRY_OUTPUT_OUT; else touch tried; echo boom >&2; exit 3; fi"
    outputs: [out]
    retries: 2
)";
  auto r = Run(kSpec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->run.state, RunState::kSucceeded);
  const StepRecord& step = Step(*r, "flaky");
  EXPECT_EQ(step.attempts, 2);
  auto tracked = services_->tracking->GetRun(step.tracking_run);
  std::set<std::string> logs;
  for (const auto& a : tracked->artifacts) logs.insert(a.path);
  EXPECT_TRUE(logs.contains("logs/stderr.1.txt"));
  EXPECT_TRUE(logs.contains("logs/stdout.2.txt"));
}

TEST_F(ExecutorTest, ATimedOutStepIsKilledAndFailsWithTheReason) {
  constexpr char kSpec[] = R"(
name: p
steps:
  - {id: slow, run: "sleep 30", outputs: [out], timeout: 1s}
)";
  const auto start = std::chrono::steady_clock::now();
  auto r = Run(kSpec);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r->run.state, RunState::kFailed);
  EXPECT_NE(Step(*r, "slow").error.find("timed out"), std::string::npos) << Step(*r, "slow").error;
}

TEST_F(ExecutorTest, AFailedStepFailsItsDependantsAndKeepsTheOthers) {
  constexpr char kSpec[] = R"(
name: p
steps:
  - {id: a, run: "echo a > $FERRY_OUTPUT_OUT", outputs: [out]}
  - {id: b, run: "echo broken >&2; exit 1", inputs: {x: steps.a.out}, outputs: [out]}
  - {id: c, run: "echo c > $FERRY_OUTPUT_OUT", inputs: {x: steps.b.out}, outputs: [out]}
  - {id: d, run: "echo d > $FERRY_OUTPUT_OUT", inputs: {x: steps.a.out}, outputs: [out]}
)";
  auto r = Run(kSpec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->run.state, RunState::kFailed);
  EXPECT_EQ(StateOf(*r, "a"), StepState::kSucceeded);
  EXPECT_EQ(StateOf(*r, "b"), StepState::kFailed);
  EXPECT_NE(Step(*r, "b").error.find("exited with status 1; the end of its stderr:\nbroken"),
            std::string::npos)
      << Step(*r, "b").error;
  EXPECT_EQ(StateOf(*r, "c"), StepState::kUpstreamFailed);
  EXPECT_EQ(StateOf(*r, "d"), StepState::kSucceeded);
  EXPECT_NE(r->run.error.find("step b"), std::string::npos);
  // The good steps' results are kept: the next run reuses them.
  auto again = Run(kSpec);
  EXPECT_EQ(StateOf(*again, "a"), StepState::kCached);
  EXPECT_EQ(StateOf(*again, "d"), StepState::kCached);
}

TEST_F(ExecutorTest, AMissingOutputOrBadMetricsFailTheStepClearly) {
  auto r = Run("name: p\nsteps:\n  - {id: a, run: \"true\", outputs: [model]}\n");
  EXPECT_EQ(StateOf(*r, "a"), StepState::kFailed);
  EXPECT_NE(Step(*r, "a").error.find("did not write its output model ($FERRY_OUTPUT_MODEL)"),
            std::string::npos)
      << Step(*r, "a").error;
  // An output that is a link to a file elsewhere is refused, not followed.
  Write("elsewhere.txt", "not the step's to hand back\n");
  const std::string link = "name: p\nsteps:\n  - {id: a, run: \"ln -s " +
                           (temp_ / "elsewhere.txt").string() +
                           " $FERRY_OUTPUT_OUT\", outputs: [out]}\n";
  auto l = Run(link);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(StateOf(*l, "a"), StepState::kFailed);
  EXPECT_NE(Step(*l, "a").error.find("output out is a symbolic link"), std::string::npos)
      << Step(*l, "a").error;
  auto m = Run("name: p\nsteps:\n  - {id: a, run: \"echo '[1]' > $FERRY_METRICS_FILE\"}\n");
  EXPECT_EQ(StateOf(*m, "a"), StepState::kFailed);
  EXPECT_NE(Step(*m, "a").error.find("metrics.json is not a JSON object"), std::string::npos);
}

TEST_F(ExecutorTest, BadParamsAndMissingInputsRefuseToStart) {
  auto r = Run(kTwoSteps, {{"rounds", "3"}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("declares no param \"rounds\" (its params: note, scale)"),
            std::string::npos)
      << r.status();
  auto missing = Run(kTwoSteps);  // dataset d does not exist
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
}

TEST_F(ExecutorTest, CancellingARunKillsTheStepsProcessGroupAndSkipsTheRest) {
  constexpr char kSpec[] = R"(
name: p
steps:
  - {id: slow, run: "sleep 60 & echo $! > child.pid; wait", outputs: [out]}
  - {id: after, run: "echo x > $FERRY_OUTPUT_OUT", inputs: {x: steps.slow.out}, outputs: [out]}
)";
  absl::StatusOr<ExecutionResult> result;
  std::thread runner([&] { result = Run(kSpec); });
  // Wait for the step's child to exist, then cancel the run through the store, as
  // `ferry pipeline cancel` does.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!fs::exists(temp_ / "child.pid") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto runs = services_->runs->ListRuns("p", 1);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  ASSERT_TRUE(services_->runs->RequestCancel((*runs)[0].id).ok());
  runner.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->run.state, RunState::kCancelled);
  EXPECT_EQ(StateOf(*result, "slow"), StepState::kCancelled);
  EXPECT_EQ(StateOf(*result, "after"), StepState::kCancelled);
  std::ifstream pid_file(temp_ / "child.pid");
  pid_t child = 0;
  pid_file >> child;
  ASSERT_GT(child, 0);
  // The background `sleep 60` was in the step's group: it is gone (or a zombie waiting
  // for its new parent to reap it) within moments.
  auto alive = [&] {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, name, state;
    if (!(stat >> pid >> name >> state)) return false;
    return state != "Z" && state != "X";
  };
  const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (alive() && std::chrono::steady_clock::now() < gone_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(alive());
}

TEST_F(ExecutorTest, ReproduceRerunsFromTheRecordedInputsAndComparesEveryOutput) {
  AddDataset("d", "a,y\n1,0\n2,1\n");
  Write("prep.py", kPrep);
  auto first = Run(kTwoSteps, {{"scale", "5"}});
  ASSERT_EQ(first->run.state, RunState::kSucceeded);
  // Newer data arrives; reproducing still reads d@1 and scale 5.
  AddDataset("d", "a,y\n7,0\n");
  RunInvocation inv;
  inv.spec = *ParsePipelineSpec(first->run.spec, "p.yaml");
  inv.spec_yaml = first->run.spec;
  inv.source = "p.yaml";
  inv.spec_dir = temp_.path();
  inv.force = true;
  inv.reproduce = *services_->runs->GetRun(first->run.id);
  PipelineExecutor executor(*services_->steps, *services_->runs, {});
  auto again = executor.Execute(inv);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->run.inputs.at("d").ref, "d@1");
  EXPECT_EQ(again->run.reproduce_of, first->run.id);
  ASSERT_EQ(again->comparisons.size(), 2u);
  for (const auto& c : again->comparisons) EXPECT_TRUE(c.matches()) << c.step << "." << c.output;
  // A script that changed behaviour shows as a difference.
  Write("prep.py",
        std::string(kPrep).replace(std::string(kPrep).find("* scale"), 7, "* scale + 1"));
  auto changed = executor.Execute(inv);
  ASSERT_TRUE(changed.ok());
  bool differs = false;
  for (const auto& c : changed->comparisons) differs |= c.step == "prep" && !c.matches();
  EXPECT_TRUE(differs);
}

TEST_F(ExecutorTest, AnAbandonedRunEndsWithEveryStepAndTrackingRunItBegan) {
  // What an executor that died (SIGKILL) leaves behind: a running run with a running
  // step and a pending one, their tracking runs RUNNING.
  NewRun request;
  request.pipeline = "p";
  request.spec = "name: p";
  auto run = services_->runs->CreateRun(request);
  ASSERT_TRUE(run.ok());
  tracking::CreateRunOptions options;
  options.experiment = "p";
  auto parent = services_->tracking->CreateRun(options);
  auto step_run = services_->tracking->CreateRun(options);
  ASSERT_TRUE(parent.ok() && step_run.ok());
  ASSERT_TRUE(services_->runs->StartRun(run->id, {}, parent->run_id, "h", 1).ok());
  StepRecord running;
  running.step = "train";
  running.state = StepState::kRunning;
  running.tracking_run = step_run->run_id;
  ASSERT_TRUE(services_->runs->PutStep(run->id, running).ok());
  StepRecord pending;
  pending.step = "evaluate";
  ASSERT_TRUE(services_->runs->PutStep(run->id, pending).ok());

  ASSERT_TRUE(EndAbandonedRun(*services_->runs, *services_->tracking, run->id, RunState::kFailed,
                              "its executor stopped")
                  .ok());
  auto ended = services_->runs->GetRun(run->id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state, RunState::kFailed);
  EXPECT_EQ(ended->error, "its executor stopped");
  ASSERT_EQ(ended->steps.size(), 2u);
  EXPECT_EQ(ended->steps[0].state, StepState::kFailed);
  EXPECT_EQ(ended->steps[0].error, "its executor stopped");
  EXPECT_EQ(ended->steps[1].state, StepState::kCancelled);
  EXPECT_EQ(services_->tracking->GetRunInfo(step_run->run_id)->status,
            tracking::RunStatus::kFailed);
  EXPECT_EQ(services_->tracking->GetRunInfo(parent->run_id)->status, tracking::RunStatus::kFailed);
}

}  // namespace
}  // namespace ferry::pipeline
