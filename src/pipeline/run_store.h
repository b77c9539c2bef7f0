#pragma once

// PipelineRunStore: pipelines applied to the workspace, their runs and steps, the run
// cache, and what triggers did, in the "pipelines" component of the metadata store.
//
// Tables (portable SQL, src/store/README.md):
//   pipelines(name, source, spec, spec_sha256, applied_at, applied_by)
//   pipeline_runs(id, pipeline, number, spec, spec_sha256, source, spec_dir, params,
//                 inputs, state, trigger, trigger_detail, actor, tracking_run,
//                 reproduce_of, force, created_at, started_at, ended_at, heartbeat_at,
//                 executor_host, executor_pid, cancel_requested, error)
//   pipeline_steps(run, step, state, attempts, tracking_run, cache_key, cached_from,
//                  outputs, note, error, started_at, ended_at)
//   pipeline_cache(cache_key, pipeline, step, run, tracking_run, outputs, created_at)
//   pipeline_trigger_events(id, pipeline, kind, detail, at, outcome, run)
//   pipeline_trigger_state(pipeline, trigger, value, updated_at)
//
// A run moves queued -> running -> succeeded | failed | cancelled; a step pending ->
// running -> succeeded | failed | cached | skipped | upstream_failed | cancelled. Every
// change is one transaction.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_context.h"
#include "store/workspace.h"

namespace ferry::pipeline {

enum class RunState : uint8_t { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
std::string_view RunStateName(RunState state);
absl::StatusOr<RunState> ParseRunState(std::string_view text);
inline bool IsEnded(RunState s) {
  return s == RunState::kSucceeded || s == RunState::kFailed || s == RunState::kCancelled;
}

enum class StepState : uint8_t {
  kPending,
  kRunning,
  kSucceeded,
  kFailed,
  kCached,
  kSkipped,
  kUpstreamFailed,
  kCancelled,
};
std::string_view StepStateName(StepState state);
absl::StatusOr<StepState> ParseStepState(std::string_view text);

// A pipeline applied with `ferry pipeline apply`: the server runs its triggers.
struct AppliedPipeline {
  std::string name;
  std::string source;  // the file it was applied from, as given
  std::string spec;    // the YAML text
  std::string spec_sha256;
  std::string spec_dir;  // where its relative paths (commands, deps, policies) resolve
  int64_t applied_at = 0;
  std::string applied_by;
};

struct StepRecord {
  std::string step;
  StepState state = StepState::kPending;
  int attempts = 0;
  std::string tracking_run;  // empty when cached or never started
  std::string cache_key;
  std::string cached_from;  // the run whose outputs a cached step reused
  std::map<std::string, StepValue> outputs;
  std::string note;
  std::string error;
  int64_t started_at = 0;
  std::optional<int64_t> ended_at;
};

struct RunRecord {
  std::string id;  // 32 hex digits
  std::string pipeline;
  int64_t number = 0;  // 1, 2, ... per pipeline
  std::string spec;
  std::string spec_sha256;
  std::string source;
  std::string spec_dir;
  std::map<std::string, std::string> params;  // the run's values, defaults included
  // The pipeline's dataset inputs as written ("transactions@latest") -> the version the
  // run read, pinned when it started.
  std::map<std::string, StepValue> inputs;
  RunState state = RunState::kQueued;
  std::string trigger;         // manual, schedule, dataset, alert, reproduce
  std::string trigger_detail;  // "0 3 * * *", "transactions@7", "FraudDrift {...}"
  std::string actor;
  std::string tracking_run;  // the parent run of the steps' runs
  std::string reproduce_of;
  bool force = false;
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> ended_at;
  std::optional<int64_t> heartbeat_at;
  std::string executor_host;
  int64_t executor_pid = 0;
  bool cancel_requested = false;
  std::string error;
  std::vector<StepRecord> steps;  // filled by GetRun, in the spec's order
};

struct CacheEntry {
  std::string cache_key;
  std::string pipeline;
  std::string step;
  std::string run;
  std::string tracking_run;
  std::map<std::string, StepValue> outputs;
  int64_t created_at = 0;
};

struct TriggerEvent {
  int64_t id = 0;
  std::string pipeline;
  std::string kind;    // schedule, dataset, alert, manual
  std::string detail;  // what fired
  int64_t at = 0;
  std::string outcome;  // started, queued, coalesced, refused
  std::string run;      // the run it started or was coalesced into
};

struct NewRun {
  std::string pipeline;
  std::string spec;
  std::string source;
  std::string spec_dir;
  std::map<std::string, std::string> params;
  RunState state = RunState::kQueued;
  std::string trigger = "manual";
  std::string trigger_detail;
  std::string actor;
  std::string reproduce_of;
  bool force = false;
};

class PipelineRunStore {
 public:
  static constexpr int64_t kMaxListedRuns = 1000;

  // Applies the "pipelines" migrations. The workspace must outlive the store.
  static absl::StatusOr<std::unique_ptr<PipelineRunStore>> Open(store::Workspace& workspace);

  // --- Applied pipelines --------------------------------------------------------
  // Stores (or replaces) a pipeline by its spec's name. The caller validated it.
  absl::StatusOr<AppliedPipeline> Apply(const AppliedPipeline& pipeline);
  absl::StatusOr<std::vector<AppliedPipeline>> Applied() const;
  // NotFound ("no pipeline named ... is applied").
  absl::StatusOr<AppliedPipeline> GetApplied(std::string_view name) const;
  absl::Status Remove(std::string_view name);

  // --- Runs -----------------------------------------------------------------------
  absl::StatusOr<RunRecord> CreateRun(const NewRun& run);
  // Moves a queued run to running, recording who executes it, its pinned inputs and
  // its parent tracking run. FailedPrecondition if it is not queued (another executor
  // took it, or it was cancelled).
  absl::Status StartRun(std::string_view id, const std::map<std::string, StepValue>& inputs,
                        std::string_view tracking_run, std::string_view host, int64_t pid);
  // Records the process a trigger runner started to execute a queued run (it stays
  // queued until that process calls StartRun), so the runner counts it as running and
  // notices if the process dies first. Does nothing once the run is no longer queued.
  absl::Status MarkLaunched(std::string_view id, std::string_view host, int64_t pid);
  absl::Status Heartbeat(std::string_view id);
  absl::Status EndRun(std::string_view id, RunState state, std::string_view error);
  // Asks the run to stop: a queued run is cancelled at once; a running one is flagged
  // for its executor. Returns the run. NotFound; FailedPrecondition when it has ended.
  absl::StatusOr<RunRecord> RequestCancel(std::string_view id);
  // The run with its steps. `id` may be a unique prefix of at least 4 hex digits.
  // NotFound; InvalidArgument for an ambiguous prefix.
  absl::StatusOr<RunRecord> GetRun(std::string_view id) const;
  // Runs newest first, of one pipeline when `pipeline` is not empty (without steps).
  absl::StatusOr<std::vector<RunRecord>> ListRuns(std::string_view pipeline, int64_t limit) const;
  // Runs in `state` of `pipeline` (all pipelines when empty), oldest first.
  absl::StatusOr<std::vector<RunRecord>> RunsInState(std::string_view pipeline,
                                                     RunState state) const;
  absl::StatusOr<bool> CancelRequested(std::string_view id) const;

  // --- Steps ----------------------------------------------------------------------
  absl::Status PutStep(std::string_view run, const StepRecord& step);

  // --- Run cache -------------------------------------------------------------------
  absl::StatusOr<std::optional<CacheEntry>> FindCache(std::string_view cache_key) const;
  absl::Status PutCache(const CacheEntry& entry);
  absl::Status DropCache(std::string_view cache_key);

  // --- Triggers ----------------------------------------------------------------------
  absl::Status RecordTrigger(const TriggerEvent& event);
  absl::StatusOr<std::vector<TriggerEvent>> TriggerEvents(std::string_view pipeline,
                                                          int64_t limit) const;
  absl::StatusOr<std::optional<std::string>> TriggerState(std::string_view pipeline,
                                                          std::string_view trigger) const;
  absl::Status SetTriggerState(std::string_view pipeline, std::string_view trigger,
                               std::string_view value);

  store::Workspace& workspace() const { return workspace_; }

 private:
  explicit PipelineRunStore(store::Workspace& workspace) : workspace_(workspace) {}
  store::Workspace& workspace_;
};

// The JSON shape of a run in `--json` output and the HTTP API: {"id", "pipeline",
// "number", "state", "trigger", "trigger_detail", "params", "inputs", "actor",
// "tracking_run", "reproduce_of", "force", "created_at", "started_at", "ended_at"
// (RFC 3339 or null), "cancel_requested", "error", "source", "spec_sha256", "steps": [{"step",
// "state", "attempts", "tracking_run", "cached_from", "outputs", "note", "error",
// "started_at", "ended_at"}]}.
nlohmann::json RunToJson(const RunRecord& run);
nlohmann::json TriggerEventToJson(const TriggerEvent& event);

// {"name": {"kind", "ref", "sha256", "run"}, ...} and back.
std::string StepValuesToJson(const std::map<std::string, StepValue>& values);
absl::StatusOr<std::map<std::string, StepValue>> StepValuesFromJson(std::string_view json);

}  // namespace ferry::pipeline
