// TriggerRunner: deciding what a trigger does (start, queue, coalesce), launching runs,
// ending stale ones, and the thread. The trigger kinds: trigger_runner_checks.cc.

#include "pipeline/trigger_runner.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_executor.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

// The trigger state naming a pipeline's waiting queued run ("" when none waits).
constexpr std::string_view kWaitingKey = "queued";

// kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists).
bool ProcessGone(int64_t pid) {
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string_view TriggerOutcomeName(TriggerOutcome outcome) {
  switch (outcome) {
    case TriggerOutcome::kStarted:
      return "started";
    case TriggerOutcome::kQueued:
      return "queued";
    case TriggerOutcome::kCoalesced:
      return "coalesced";
    case TriggerOutcome::kRefused:
      return "refused";
  }
  return "refused";
}

TriggerRunner::TriggerRunner(store::Workspace& workspace, std::unique_ptr<RunLauncher> launcher,
                             TriggerRunnerOptions options)
    : workspace_(workspace),
      options_(std::move(options)),
      host_(core::HostName()),
      launcher_(std::move(launcher)) {}

absl::StatusOr<std::unique_ptr<TriggerRunner>> TriggerRunner::Open(
    store::Workspace& workspace, std::unique_ptr<RunLauncher> launcher,
    TriggerRunnerOptions options) {
  std::unique_ptr<TriggerRunner> runner(
      new TriggerRunner(workspace, std::move(launcher), std::move(options)));
  ASSIGN_OR_RETURN(runner->runs_, PipelineRunStore::Open(workspace));
  ASSIGN_OR_RETURN(runner->alerts_, alerts::AlertStore::Open(workspace));
  ASSIGN_OR_RETURN(runner->datasets_, dataset::DatasetStore::Open(workspace));
  ASSIGN_OR_RETURN(runner->tracking_, tracking::TrackingStore::Open(workspace, *runner->datasets_));
  return runner;
}

TriggerRunner::~TriggerRunner() { Stop(); }

absl::Status TriggerRunner::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  launcher_->Reap();
  latest_versions_.reset();
  absl::Status first = EndStaleRuns();
  ASSIGN_OR_RETURN(std::vector<AppliedPipeline> applied, runs_->Applied());
  for (const AppliedPipeline& pipeline : applied) {
    absl::StatusOr<const PipelineSpec*> spec = SpecOf(pipeline);
    absl::Status checked = spec.ok() ? CheckPipeline(pipeline, **spec) : spec.status();
    if (first.ok() && !checked.ok()) first = checked;
  }
  return first;
}

absl::StatusOr<TriggerResult> TriggerRunner::TriggerManually(std::string_view pipeline,
                                                             const ManualTrigger& manual) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(AppliedPipeline applied, runs_->GetApplied(pipeline));
  ASSIGN_OR_RETURN(const PipelineSpec* spec, SpecOf(applied));
  const std::string actor = manual.actor.empty() ? "api" : manual.actor;
  Firing firing{"manual", Cat("by ", actor), {}, manual.force, actor};
  absl::StatusOr<std::map<std::string, std::string>> params = RunParams(*spec, manual.params);
  if (!params.ok()) {
    (void)Refuse(applied.name, firing.kind,
                 Cat(firing.detail, ": ", core::View(params.status().message())));
    return params.status();
  }
  firing.params = *std::move(params);
  return Fire(applied, *spec, firing);
}

absl::StatusOr<const PipelineSpec*> TriggerRunner::SpecOf(const AppliedPipeline& pipeline) {
  auto it = specs_.find(pipeline.name);
  if (it != specs_.end() && it->second.first == pipeline.spec_sha256) return &it->second.second;
  absl::StatusOr<PipelineSpec> spec = ParsePipelineSpec(pipeline.spec, pipeline.source);
  if (!spec.ok()) {
    return absl::FailedPreconditionError(
        Cat("applied pipeline ", pipeline.name,
            " no longer parses, its triggers wait: ", core::View(spec.status().message())));
  }
  auto& entry = specs_[pipeline.name];
  entry = {pipeline.spec_sha256, *std::move(spec)};
  return &entry.second;
}

bool TriggerRunner::IsStale(const RunRecord& run, int64_t now) const {
  if (run.executor_host == host_ && ProcessGone(run.executor_pid)) return true;
  const int64_t stale_micros = options_.stale_after.count() * 1'000'000;
  return run.state == RunState::kRunning && run.heartbeat_at &&
         now - *run.heartbeat_at > stale_micros;
}

absl::Status TriggerRunner::EndStaleRuns() {
  const int64_t now = workspace_.clock().NowMicros();
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs, runs_->RunsInState("", RunState::kRunning));
  ASSIGN_OR_RETURN(std::vector<RunRecord> queued, runs_->RunsInState("", RunState::kQueued));
  for (RunRecord& run : queued) {
    if (run.executor_pid != 0) runs.push_back(std::move(run));  // launched, not yet started
  }
  for (const RunRecord& run : runs) {
    if (!IsStale(run, now)) continue;
    const bool gone = run.executor_host == host_ && ProcessGone(run.executor_pid);
    const std::string why =
        gone
            ? Cat("its executor stopped (pid ", run.executor_pid, " on ", host_, " is gone)")
            : Cat("its executor stopped (no heartbeat for more than ", options_.stale_after.count(),
                  " s; pid ", run.executor_pid, " on ", run.executor_host, ")");
    // An executor that is alive but silent stops at its next look at the cancel flag.
    if (!gone && run.state == RunState::kRunning) (void)runs_->RequestCancel(run.id);
    RETURN_IF_ERROR(EndAbandonedRun(*runs_, *tracking_, run.id, RunState::kFailed, why));
    spdlog::warn("pipelines: {} run {} ({}) failed: {}", run.pipeline, run.number,
                 run.id.substr(0, 8), why);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TriggerRunner::ActiveRuns(std::string_view pipeline) const {
  ASSIGN_OR_RETURN(std::vector<RunRecord> running,
                   runs_->RunsInState(pipeline, RunState::kRunning));
  ASSIGN_OR_RETURN(std::vector<RunRecord> queued, runs_->RunsInState(pipeline, RunState::kQueued));
  int64_t active = static_cast<int64_t>(running.size());
  for (const RunRecord& run : queued) active += run.executor_pid != 0 ? 1 : 0;
  return active;
}

absl::StatusOr<std::optional<RunRecord>> TriggerRunner::WaitingRun(std::string_view pipeline) {
  ASSIGN_OR_RETURN(std::optional<std::string> id, runs_->TriggerState(pipeline, kWaitingKey));
  if (!id || id->empty()) return std::optional<RunRecord>();
  absl::StatusOr<RunRecord> run = runs_->GetRun(*id);
  if (run.ok() && run->state == RunState::kQueued && run->executor_pid == 0) {
    return std::optional<RunRecord>(*std::move(run));
  }
  if (!run.ok() && !absl::IsNotFound(run.status())) return run.status();
  // It started, or was cancelled meanwhile: none waits.
  RETURN_IF_ERROR(runs_->SetTriggerState(pipeline, kWaitingKey, ""));
  return std::optional<RunRecord>();
}

absl::Status TriggerRunner::StartWaitingRun(const PipelineSpec& spec) {
  ASSIGN_OR_RETURN(std::optional<RunRecord> waiting, WaitingRun(spec.name));
  if (!waiting) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t active, ActiveRuns(spec.name));
  if (active >= spec.max_concurrent_runs) return absl::OkStatus();
  RETURN_IF_ERROR(runs_->SetTriggerState(spec.name, kWaitingKey, ""));
  return Launch(*waiting);
}

absl::Status TriggerRunner::Launch(const RunRecord& run) {
  absl::StatusOr<int64_t> pid = launcher_->Launch(run);
  if (!pid.ok()) {
    (void)runs_->EndRun(run.id, RunState::kFailed,
                        Cat("its executor could not start: ", core::View(pid.status().message())));
    return pid.status();
  }
  spdlog::info("pipelines: {} run {} ({}) started by {} {} (pid {})", run.pipeline, run.number,
               run.id.substr(0, 8), run.trigger, run.trigger_detail, *pid);
  return runs_->MarkLaunched(run.id, host_, *pid);
}

absl::Status TriggerRunner::Refuse(std::string_view pipeline, std::string_view kind,
                                   std::string_view detail, std::string_view run) {
  spdlog::warn("pipelines: {}: {} trigger refused: {}", pipeline, kind, detail);
  return runs_->RecordTrigger({0, std::string(pipeline), std::string(kind), std::string(detail), 0,
                               std::string(TriggerOutcomeName(TriggerOutcome::kRefused)),
                               std::string(run)});
}

absl::StatusOr<TriggerResult> TriggerRunner::Fire(const AppliedPipeline& pipeline,
                                                  const PipelineSpec& spec, const Firing& firing) {
  std::string created;  // the run made, if it came to that
  auto decide = [&]() -> absl::StatusOr<TriggerResult> {
    RETURN_IF_ERROR(StartWaitingRun(spec));
    ASSIGN_OR_RETURN(std::optional<RunRecord> waiting, WaitingRun(spec.name));
    if (waiting) return TriggerResult{TriggerOutcome::kCoalesced, *std::move(waiting)};
    ASSIGN_OR_RETURN(int64_t active, ActiveRuns(spec.name));
    NewRun request;
    request.pipeline = spec.name;
    request.spec = pipeline.spec;
    request.source = pipeline.source;
    request.spec_dir = pipeline.spec_dir;
    request.params = firing.params;
    request.trigger = firing.kind;
    request.trigger_detail = firing.detail;
    request.actor = firing.actor;
    request.force = firing.force;
    ASSIGN_OR_RETURN(RunRecord run, runs_->CreateRun(request));
    created = run.id;
    if (active < spec.max_concurrent_runs) {
      RETURN_IF_ERROR(Launch(run));
      return TriggerResult{TriggerOutcome::kStarted, std::move(run)};
    }
    RETURN_IF_ERROR(runs_->SetTriggerState(spec.name, kWaitingKey, run.id));
    return TriggerResult{TriggerOutcome::kQueued, std::move(run)};
  };
  absl::StatusOr<TriggerResult> result = decide();
  if (!result.ok()) {
    (void)Refuse(spec.name, firing.kind,
                 Cat(firing.detail, ": ", core::View(result.status().message())), created);
    return result.status();
  }
  RETURN_IF_ERROR(
      runs_->RecordTrigger({0, spec.name, firing.kind, firing.detail, 0,
                            std::string(TriggerOutcomeName(result->outcome)), result->run.id}));
  return result;
}

void TriggerRunner::Start(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, interval] { Loop(interval); });
}

void TriggerRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  launcher_->Reap();
}

void TriggerRunner::Loop(std::chrono::milliseconds interval) {
  std::string last_error;  // logged once, not every tick
  std::unique_lock<std::mutex> lock(thread_mu_);
  // The first tick at once: triggers are seen (and their first sight recorded) as the
  // server starts, not an interval later.
  while (!stopping_) {
    lock.unlock();
    absl::Status ticked;
    store::RunIfLeading(options_.leadership.get(), [&] { ticked = Tick(); });
    const std::string error = ticked.ok() ? "" : std::string(ticked.message());
    if (!error.empty() && error != last_error) spdlog::warn("pipelines: triggers: {}", error);
    last_error = error;
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stopping_; });
  }
}

}  // namespace ferry::pipeline
