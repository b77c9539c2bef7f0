#pragma once

// PipelineExecutor: runs one pipeline run to its end.
//
//   - The run's params are the spec's defaults overridden by the caller's; its dataset
//     inputs are pinned (NAME@latest resolved once) when it starts, so every step reads
//     the same versions and `reproduce` can read them again.
//   - A step starts when every step it reads has succeeded (or was cached), up to `jobs`
//     at once. A failed step fails its dependants (upstream_failed) and leaves the
//     others running; a skipped step (a gate said no) skips its dependants.
//   - Run cache (as DVC's run cache): a cacheable step whose definition (the built-in or
//     the command after param substitution, env, outputs), params, input content hashes
//     and dependency files' hashes (the files its command names and its `deps`) equal a
//     recorded success reuses that success's outputs, if they are all still there. `force`
//     runs everything.
//   - Each executed step is a tracking run (experiment: the pipeline's name) tagged with
//     the pipeline run and the parent run, holding its params, its dataset inputs,
//     metrics, stdout/stderr (command steps) and its outputs as artifacts.
//   - Retries wait retry_delay, doubling per attempt (at most a minute); a timeout or
//     cancellation stops a command's process group (SIGTERM, then SIGKILL after
//     kill_grace) and makes built-in steps return at their next check.
//   - Cancellation comes from the run's record (`ferry pipeline cancel`, polled) or from
//     Cancel() (Ctrl-C in the terminal).
//
// Command steps see (docs/pipelines.md): the folder of the pipeline file as the current
// folder; FERRY_INPUT_<NAME> (a file with the input's bytes), FERRY_OUTPUT_<NAME> (where
// to write each declared output), FERRY_PARAM_<NAME> and FERRY_PARAMS_FILE (a JSON
// object) of the step's own `params` (after `${params.X}` substitution), FERRY_METRICS_FILE (write
// {"name": number | [numbers]} to log metrics), FERRY_RUN_ID, FERRY_PIPELINE, FERRY_PIPELINE_RUN,
// FERRY_STEP, FERRY_ATTEMPT, FERRY_THREADS (the step's share of the cores: all of them over the
// widest level's steps); the step's `env` on top of ferry's own environment.
//
// Thread-safety: one Execute at a time per executor; Cancel from any thread.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_store.h"
#include "pipeline/step_context.h"

namespace ferry::pipeline {

struct ExecutorOptions {
  int jobs = 0;  // steps at once; 0: the number of cores
  std::chrono::milliseconds retry_delay{2000};
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds poll{200};  // how often the cancel flag is read
  std::string actor;
  // Set from a signal handler (Ctrl-C): read like the run's cancel flag.
  const std::atomic<bool>* interrupted = nullptr;
};

// What happened, for the terminal.
struct ProgressEvent {
  enum class Kind : uint8_t { kRunStarted, kStepStarted, kStepRetrying, kStepEnded, kRunEnded };
  Kind kind = Kind::kStepEnded;
  std::string step;
  StepState state = StepState::kPending;
  int attempt = 0;
  std::string note;                // the step's note, the cached run, the error
  double seconds = 0;              // of the step or the run
  const RunRecord* run = nullptr;  // kRunStarted and kRunEnded
};
using ProgressSink = std::function<void(const ProgressEvent&)>;

struct RunInvocation {
  PipelineSpec spec;
  std::string spec_yaml;
  std::string source;                         // the file name, as given
  std::filesystem::path spec_dir;             // absolute
  std::map<std::string, std::string> params;  // overrides of the spec's defaults
  bool force = false;
  std::string trigger = "manual";
  std::string trigger_detail;
  // Execute this queued run (made by a trigger) instead of creating one.
  std::string queued_run;
  // Reproduce this run: its params, pinned inputs and spec; every step re-executed with
  // its recorded outputs to compare; side effects (register, deploy) not repeated.
  std::optional<RunRecord> reproduce;
};

// One output of a reproduced step compared with what the original run recorded.
struct OutputComparison {
  std::string step;
  std::string output;
  std::string recorded_sha256;
  std::string reproduced_sha256;  // empty: not re-made (the step was skipped or failed)
  bool matches() const {
    return !reproduced_sha256.empty() && recorded_sha256 == reproduced_sha256;
  }
};

struct ExecutionResult {
  RunRecord run;                              // as it ended, with its steps
  std::vector<OutputComparison> comparisons;  // for a reproduction
};

class PipelineExecutor {
 public:
  PipelineExecutor(StepServices& services, PipelineRunStore& runs, ExecutorOptions options,
                   ProgressSink progress = {});

  // Runs to the end. Errors only when the run cannot start (bad params, an input
  // dataset that does not exist, the store); step failures are in the result.
  absl::StatusOr<ExecutionResult> Execute(const RunInvocation& invocation);

  // Stops the run in progress as `ferry pipeline cancel` would.
  void Cancel() { cancel_.store(true); }

 private:
  struct StepJob;
  class Run;

  StepServices& services_;
  PipelineRunStore& runs_;
  ExecutorOptions options_;
  ProgressSink progress_;
  std::atomic<bool> cancel_{false};
};

// A run of the spec `yaml` read from `source` (a file name, for messages), its relative
// paths resolved in `dir`. Errors: the spec's (ParsePipelineSpec).
absl::StatusOr<RunInvocation> InvocationOf(const std::string& yaml, const std::string& source,
                                           const std::filesystem::path& dir);

// The invocation that executes `queued`, a run a trigger created: its recorded spec, the
// params the trigger chose (the defaults with its overrides) and its force flag.
absl::StatusOr<RunInvocation> QueuedInvocation(const RunRecord& queued);

// The run's params: the spec's defaults overridden by `overrides`. InvalidArgument naming
// a param the spec does not declare.
absl::StatusOr<std::map<std::string, std::string>> RunParams(
    const PipelineSpec& spec, const std::map<std::string, std::string>& overrides);

// Ends a run whose executor is gone (killed, crashed, silent): the run as `state` with
// `error`; its running steps as failed and its pending ones as cancelled, naming why; and
// the tracking runs of those steps and of the run itself as FAILED (KILLED for a
// cancellation), so nothing it began stays "running". Errors: the stores'.
absl::Status EndAbandonedRun(PipelineRunStore& runs, tracking::TrackingStore& tracking,
                             std::string_view id, RunState state, std::string_view error);

// "FERRY_INPUT_" + the name upper-cased, '.' and '-' as '_'.
std::string StepVariable(std::string_view prefix, std::string_view name);

}  // namespace ferry::pipeline
