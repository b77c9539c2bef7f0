#pragma once

// TriggerRunner: runs the triggers of the pipelines applied to a workspace (`ferry pipeline
// apply`), inside `ferry server`. Each Tick() -- the server's thread calls it every
// pipelines.trigger_interval_ms; tests call it on a ManualClock -- does, in order:
//
//   1. Stale runs: reaps executors that ended, then ends as failed ("its executor stopped")
//      every run that is running, or queued with an executor launched, whose executor
//      process is gone (same host: kill(pid, 0) fails with ESRCH) or whose heartbeat is
//      older than `stale_after`, so that it holds no slot.
//   2. Per applied pipeline: starts its waiting queued run if a slot is free, then checks
//      its triggers, each with a state kept in the run store (TriggerState):
//      - `schedule: CRON` ("schedule:CRON" = when it last fired): fires once the next
//        minute of the schedule after that time has come. Seen for the first time, it
//        counts from when the pipeline was applied, so it never fires for minutes before
//        that. After downtime it fires once, not once per missed minute, and counts on
//        from the time it fired.
//      - `dataset: NAME` ("dataset:NAME" = the latest version seen): fires when NAME's
//        latest version differs from the one last seen (detail "NAME@N"). Seen for the
//        first time it only records the version (0 when NAME has none yet, so the first
//        version then fires).
//      - `alert: RULE`: takes the pipeline's unconsumed `pipeline_triggers` rows (what
//        alert rules' `pipeline` actions naming it recorded), and RULE's firing
//        transitions in alert history after the last one seen ("alert:RULE" = a history
//        id; first sight records the newest, so past firings never fire). A firing that
//        also wrote a row for this pipeline is taken through its row only, so each firing
//        makes one trigger whichever way it arrives. A row whose rule the spec names in
//        no `alert:` trigger, or that fired before the pipeline was first applied
//        ("alert-actions" = that time), is consumed and refused. Params of a row that the
//        spec declares override the defaults; the others are ignored.
//   Manual triggers come through TriggerManually() (POST /api/v1/pipelines/{name}/runs); any
//   applied pipeline may be started that way, as with `ferry pipeline run NAME`.
//
// Every trigger is decided the same way: with fewer than the spec's max_concurrent_runs
// runs running (or launched), it creates a run and launches its executor ("started");
// otherwise it creates one queued run that waits ("queued") and starts when a running one
// ends; while that one waits, further triggers join it ("coalesced": it keeps its own
// params, trigger and force). Every trigger is recorded (RecordTrigger) with its outcome:
// started, queued, coalesced or refused (with the reason in its detail).
//
// Launching = PipelineRunStore::CreateRun (queued, the trigger's kind and detail), then
// RunLauncher::Launch (`ferry pipeline run --queued RUN`, run_launcher.h), then
// MarkLaunched with the executor's pid. The waiting queued run of a pipeline is named by
// its trigger state "queued", so runs that `ferry pipeline run` creates in this workspace
// are never taken for it.
//
// Stopping the runner (and the server) leaves running executors running: see
// run_launcher.h.
//
// Thread-safety: Tick and TriggerManually may be called from any thread; they are serialised.
// One runner per workspace: two would each start the same triggers' runs.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "alerts/alert_store.h"
#include "dataset/dataset_store.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_launcher.h"
#include "pipeline/run_store.h"
#include "store/leadership.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace ferry::pipeline {

struct TriggerRunnerOptions {
  // A running run whose heartbeat (every 5 s) is older than this has lost its executor.
  std::chrono::seconds stale_after{60};
  // The actor recorded on runs that schedules, datasets and alerts start.
  std::string actor = "ferry-server";
  // Among several servers on one workspace, only the leader's thread looks at triggers
  // and stale runs (fenced by its term); null: this one always does. Manual triggers
  // (the HTTP API) run on whichever server takes the request.
  std::shared_ptr<const store::Leadership> leadership;
};

enum class TriggerOutcome : uint8_t { kStarted, kQueued, kCoalesced, kRefused };
std::string_view TriggerOutcomeName(TriggerOutcome outcome);  // "started", ...

// A manual trigger's request.
struct ManualTrigger {
  std::map<std::string, std::string> params;  // overrides of the spec's defaults
  bool force = false;                         // ignore the run cache
  std::string actor;
};

struct TriggerResult {
  TriggerOutcome outcome = TriggerOutcome::kStarted;
  RunRecord run;  // the run started, queued, or coalesced into
};

class TriggerRunner {
 public:
  // Opens the stores it reads over `workspace`, which must outlive the runner.
  static absl::StatusOr<std::unique_ptr<TriggerRunner>> Open(store::Workspace& workspace,
                                                             std::unique_ptr<RunLauncher> launcher,
                                                             TriggerRunnerOptions options = {});
  ~TriggerRunner();

  // One round (see the top of this file). A pipeline whose stored spec no longer parses,
  // or whose trigger fails on a store error, is skipped (and logged) and the others go
  // on; the first such error is returned. Failed triggers are tried again next tick.
  absl::Status Tick();

  // A manual trigger. Errors: NotFound when no pipeline of that name is applied;
  // InvalidArgument for a param the spec does not declare (recorded as refused); the
  // launcher's error when the executor cannot start (the run ends failed, recorded as
  // refused); the store's.
  absl::StatusOr<TriggerResult> TriggerManually(std::string_view pipeline,
                                                const ManualTrigger& manual);

  // Ticks every `interval` (real time) on a thread of its own until Stop.
  void Start(std::chrono::milliseconds interval);
  void Stop();

  PipelineRunStore& runs() { return *runs_; }

 private:
  // What fired: a trigger's kind ("schedule", ...), detail, and run settings.
  struct Firing {
    std::string kind;
    std::string detail;
    std::map<std::string, std::string> params;
    bool force = false;
    std::string actor;
  };

  TriggerRunner(store::Workspace& workspace, std::unique_ptr<RunLauncher> launcher,
                TriggerRunnerOptions options);

  // trigger_runner.cc: deciding and launching.
  absl::StatusOr<const PipelineSpec*> SpecOf(const AppliedPipeline& pipeline);
  absl::Status EndStaleRuns();
  bool IsStale(const RunRecord& run, int64_t now) const;
  absl::StatusOr<int64_t> ActiveRuns(std::string_view pipeline) const;
  // The pipeline's waiting queued run, if it still waits.
  absl::StatusOr<std::optional<RunRecord>> WaitingRun(std::string_view pipeline);
  absl::Status StartWaitingRun(const PipelineSpec& spec);
  absl::StatusOr<TriggerResult> Fire(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                                     const Firing& firing);
  absl::Status Launch(const RunRecord& run);
  absl::Status Refuse(std::string_view pipeline, std::string_view kind, std::string_view detail,
                      std::string_view run = "");

  // trigger_runner_checks.cc: the trigger kinds.
  absl::Status CheckPipeline(const AppliedPipeline& pipeline, const PipelineSpec& spec);
  absl::Status CheckSchedule(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                             const Trigger& trigger, int64_t now);
  absl::Status CheckDataset(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                            const Trigger& trigger);
  absl::Status CheckAlertRows(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                              int64_t now);
  absl::Status CheckAlertHistory(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                                 const Trigger& trigger);
  // The latest version of every dataset, read once per tick.
  absl::StatusOr<const std::map<std::string, int64_t>*> LatestVersions();

  void Loop(std::chrono::milliseconds interval);

  store::Workspace& workspace_;
  const TriggerRunnerOptions options_;
  const std::string host_;
  std::unique_ptr<RunLauncher> launcher_;
  std::unique_ptr<PipelineRunStore> runs_;
  std::unique_ptr<alerts::AlertStore> alerts_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<tracking::TrackingStore> tracking_;  // to end abandoned runs' runs

  std::mutex mu_;  // serialises Tick and TriggerManually; guards the members below
  std::map<std::string, std::pair<std::string, PipelineSpec>> specs_;  // name -> (sha, spec)
  std::map<std::string, std::string> spec_errors_;  // name -> the sha that failed to parse
  std::optional<std::map<std::string, int64_t>> latest_versions_;  // this tick's

  std::mutex thread_mu_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::pipeline
