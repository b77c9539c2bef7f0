// `ferry pipeline run FILE|NAME [--param k=v]... [--force] [--jobs N] [--json]`: runs a
// pipeline to its end in this process, printing each step as it starts and ends.
// `ferry pipeline reproduce RUN [--json]`: runs a recorded run again from its exact
// inputs and params and reports whether every output's hash matches.
// `ferry pipeline cancel RUN`: asks a run to stop (its executor kills the running
// steps' process groups) and waits until it has.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/pipeline_commands.h"
#include "cli/registry_commands.h"
#include "core/file.h"
#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_executor.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxSpecBytes = 1 << 20;

std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

// SIGINT and SIGTERM cancel the run while it executes; the previous handlers come back
// after.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted.store(false);
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string Seconds(double s) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << " s";
  return out.str();
}

std::string FirstLine(const std::string& text) {
  const size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl) + " ...";
}

// Prints the run's progress, a line per event.
pipeline::ProgressSink TerminalProgress(std::ostream& out) {
  return [&out](const pipeline::ProgressEvent& e) {
    using Kind = pipeline::ProgressEvent::Kind;
    switch (e.kind) {
      case Kind::kRunStarted: {
        out << "pipeline " << e.run->pipeline << " run " << e.run->number << " ("
            << e.run->id.substr(0, 8) << ")";
        if (!e.run->reproduce_of.empty())
          out << " reproducing " << e.run->reproduce_of.substr(0, 8);
        out << "\n";
        for (const auto& [ref, value] : e.run->inputs) {
          out << "  input " << ref << " = " << value.ref << " (sha256 "
              << value.sha256.substr(0, 12) << ")\n";
        }
        break;
      }
      case Kind::kStepStarted:
        out << "  " << std::left << std::setw(18) << e.step << " running\n";
        break;
      case Kind::kStepRetrying:
        out << "  " << std::left << std::setw(18) << e.step << " retry " << e.attempt << " in "
            << Seconds(e.seconds) << " after: " << FirstLine(e.note) << "\n";
        break;
      case Kind::kStepEnded: {
        out << "  " << std::left << std::setw(18) << e.step << " " << std::setw(16)
            << pipeline::StepStateName(e.state);
        const bool executed = e.state == pipeline::StepState::kSucceeded ||
                              e.state == pipeline::StepState::kFailed ||
                              e.state == pipeline::StepState::kCancelled ||
                              (e.state == pipeline::StepState::kSkipped && e.seconds > 0);
        out << " " << std::setw(8) << (executed ? Seconds(e.seconds) : "");
        if (!e.note.empty()) {
          out << "  " << (e.state == pipeline::StepState::kFailed ? e.note : FirstLine(e.note));
        }
        out << "\n";
        break;
      }
      case Kind::kRunEnded: {
        std::map<std::string, int> counts;
        for (const auto& s : e.run->steps) counts[std::string(pipeline::StepStateName(s.state))]++;
        std::string summary;
        for (const auto& [state, n] : counts)
          summary += Cat(summary.empty() ? "" : ", ", n, " ", state);
        out << "run " << e.run->number << " (" << e.run->id.substr(0, 8) << ") "
            << pipeline::RunStateName(e.run->state) << " in " << Seconds(e.seconds) << ": "
            << summary << "\n";
        break;
      }
    }
    out.flush();
  };
}

absl::Status RunOutcome(const pipeline::RunRecord& run) {
  if (run.state == pipeline::RunState::kSucceeded) return absl::OkStatus();
  if (run.state == pipeline::RunState::kCancelled) {
    return absl::CancelledError(Cat("pipeline run ", run.id.substr(0, 8), " was cancelled"));
  }
  return absl::AbortedError(Cat("pipeline run ", run.id.substr(0, 8), " failed",
                                run.error.empty() ? "" : Cat(": ", run.error)));
}

struct RunFlags {
  std::string what;
  std::vector<std::string> params;
  bool force = false;
  int jobs = 0;
  bool json = false;
  std::string queued;  // internal: the server runs a queued run through this
  std::string actor;
};

// The workspace with every store a run needs (their steps resolve paths in `spec_dir`,
// set once the spec is known).
struct Workspaces {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<pipeline::PipelineServices> services;
};
absl::StatusOr<Workspaces> OpenForRun(CliContext& context) {
  Workspaces w;
  ASSIGN_OR_RETURN(w.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(w.services, pipeline::PipelineServices::Open(*w.workspace, {}));
  return w;
}

// Executes `invocation` with Ctrl-C as cancellation and progress on the terminal (none
// when `quiet`).
absl::StatusOr<pipeline::ExecutionResult> Execute(CliContext& context,
                                                  pipeline::PipelineServices& services,
                                                  const pipeline::RunInvocation& invocation,
                                                  int jobs, const std::string& actor, bool quiet) {
  services.steps->spec_dir = invocation.spec_dir;
  InterruptGuard guard;
  pipeline::ExecutorOptions options;
  options.jobs = jobs;
  options.actor = Actor(context, actor);
  options.interrupted = &g_interrupted;
  pipeline::PipelineExecutor executor(
      *services.steps, *services.runs, options,
      quiet ? pipeline::ProgressSink() : TerminalProgress(context.out()));
  return executor.Execute(invocation);
}

absl::Status RunPipeline(CliContext& context, const RunFlags& flags) {
  pipeline::RunInvocation invocation;
  Workspaces w;
  if (!flags.queued.empty()) {
    ASSIGN_OR_RETURN(w, OpenForRun(context));
    ASSIGN_OR_RETURN(pipeline::RunRecord queued, w.services->runs->GetRun(flags.queued));
    ASSIGN_OR_RETURN(invocation, pipeline::QueuedInvocation(queued));
  } else {
    std::error_code ec;
    const fs::path as_file = context.env().current_dir / flags.what;
    if (fs::is_regular_file(as_file, ec)) {
      ASSIGN_OR_RETURN(LoadedSpec loaded, LoadSpecFile(context, flags.what));
      ASSIGN_OR_RETURN(w, OpenForRun(context));
      invocation.spec = std::move(loaded.spec);
      invocation.spec_yaml = std::move(loaded.yaml);
      invocation.source = std::move(loaded.source);
      invocation.spec_dir = std::move(loaded.dir);
    } else {
      ASSIGN_OR_RETURN(w, OpenForRun(context));
      absl::StatusOr<pipeline::AppliedPipeline> applied = w.services->runs->GetApplied(flags.what);
      if (!applied.ok()) {
        return absl::NotFoundError(Cat("\"", flags.what,
                                       "\" is neither a pipeline file nor a pipeline applied to "
                                       "this workspace (see `ferry pipeline list`)"));
      }
      ASSIGN_OR_RETURN(invocation, pipeline::InvocationOf(applied->spec, applied->source, applied->spec_dir));
    }
    for (const std::string& text : flags.params) {
      ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--param"));
      invocation.params[kv.first] = kv.second;
    }
    invocation.force = flags.force;
  }
  ASSIGN_OR_RETURN(pipeline::ExecutionResult result,
                   Execute(context, *w.services, invocation, flags.jobs, flags.actor, flags.json));
  if (flags.json) context.out() << pipeline::RunToJson(result.run).dump() << "\n";
  return RunOutcome(result.run);
}

absl::Status Reproduce(CliContext& context, const std::string& id, bool as_json, int jobs,
                       const std::string& actor) {
  ASSIGN_OR_RETURN(Workspaces w, OpenForRun(context));
  ASSIGN_OR_RETURN(pipeline::RunRecord original, w.services->runs->GetRun(id));
  if (!pipeline::IsEnded(original.state)) {
    return absl::FailedPreconditionError(Cat("pipeline run ", original.id.substr(0, 8), " is ",
                                             pipeline::RunStateName(original.state),
                                             "; reproduce a run that has ended"));
  }
  ASSIGN_OR_RETURN(pipeline::RunInvocation invocation,
                   pipeline::InvocationOf(original.spec, original.source, original.spec_dir));
  invocation.force = true;
  invocation.reproduce = original;
  ASSIGN_OR_RETURN(pipeline::ExecutionResult result,
                   Execute(context, *w.services, invocation, jobs, actor, as_json));
  int matched = 0;
  int differed = 0;
  int not_remade = 0;
  json comparisons = json::array();
  for (const pipeline::OutputComparison& c : result.comparisons) {
    const std::string verdict = c.reproduced_sha256.empty() ? "not re-made"
                                : c.matches()               ? "matches"
                                                            : "DIFFERS";
    (c.reproduced_sha256.empty() ? not_remade : c.matches() ? matched : differed)++;
    comparisons.push_back({{"step", c.step},
                           {"output", c.output},
                           {"recorded_sha256", c.recorded_sha256},
                           {"reproduced_sha256", c.reproduced_sha256},
                           {"verdict", verdict}});
    if (!as_json) {
      context.out() << "  " << std::left << std::setw(18) << c.step << std::setw(16) << c.output
                    << verdict << "  " << c.recorded_sha256.substr(0, 12);
      if (!c.reproduced_sha256.empty() && !c.matches()) {
        context.out() << " -> " << c.reproduced_sha256.substr(0, 12);
      }
      context.out() << "\n";
    }
  }
  if (as_json) {
    json out = pipeline::RunToJson(result.run);
    out["comparisons"] = std::move(comparisons);
    context.out() << out.dump() << "\n";
  } else {
    context.out() << "reproduced run " << original.number << " (" << original.id.substr(0, 8)
                  << "): " << matched << " outputs match, " << differed << " differ, " << not_remade
                  << " not re-made\n";
  }
  if (differed > 0) {
    return absl::DataLossError(
        Cat(differed, " output(s) of run ", original.id.substr(0, 8), " came out different"));
  }
  return RunOutcome(result.run);
}

absl::Status Cancel(CliContext& context, const std::string& id, int wait_seconds) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(auto runs, pipeline::PipelineRunStore::Open(*workspace));
  ASSIGN_OR_RETURN(pipeline::RunRecord run, runs->RequestCancel(id));
  if (run.state == pipeline::RunState::kCancelled) {
    context.out() << "pipeline run " << run.id.substr(0, 8) << " cancelled (it had not started)\n";
    return absl::OkStatus();
  }
  // An executor on this machine that is gone (killed, crashed) cannot stop the run: end
  // it here rather than wait for a flag nobody reads.
  if (run.executor_pid > 0 && run.executor_host == core::HostName() &&
      ::kill(static_cast<pid_t>(run.executor_pid), 0) != 0 && errno == ESRCH) {
    ASSIGN_OR_RETURN(auto datasets, dataset::DatasetStore::Open(*workspace));
    ASSIGN_OR_RETURN(auto tracking, tracking::TrackingStore::Open(*workspace, *datasets));
    RETURN_IF_ERROR(pipeline::EndAbandonedRun(*runs, *tracking, run.id,
                                              pipeline::RunState::kCancelled,
                                              "cancelled; its executor had already stopped"));
    context.out() << "pipeline run " << run.id.substr(0, 8) << " cancelled (its executor, pid "
                  << run.executor_pid << ", had already stopped)\n";
    return absl::OkStatus();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSIGN_OR_RETURN(run, runs->GetRun(run.id));
    if (pipeline::IsEnded(run.state)) {
      context.out() << "pipeline run " << run.id.substr(0, 8) << " "
                    << pipeline::RunStateName(run.state) << "\n";
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      Cat("pipeline run ", run.id.substr(0, 8), " was asked to stop but is still ",
          pipeline::RunStateName(run.state), " after ", wait_seconds, " s (its executor, pid ",
          run.executor_pid, " on ", run.executor_host, ", stops it at its next check)"));
}

}  // namespace

void AddPipelineRunVerbs(CLI::App& pipeline, CliContext& context, absl::Status* result) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = pipeline.add_subcommand("run", "Run a pipeline to its end");
  run->add_option("PIPELINE", flags->what, "A pipeline file, or the name of an applied pipeline");
  run->add_option("--param", flags->params, "Override a param: KEY=VALUE (repeatable)");
  run->add_flag("--force", flags->force, "Run every step, ignoring the run cache");
  run->add_option("--jobs", flags->jobs, "Steps at once (default: one per core)")
      ->check(CLI::Range(1, 64));
  run->add_option("--actor", flags->actor, "Who runs it (default: $USER)");
  run->add_flag("--json", flags->json, "Print the finished run as JSON instead of progress");
  run->add_option("--queued", flags->queued, "Execute a queued run (used by ferry server)")
      ->group("");
  run->callback([&context, result, flags] {
    if (flags->what.empty() && flags->queued.empty()) {
      *result = absl::InvalidArgumentError("give a pipeline file or name");
      return;
    }
    *result = RunPipeline(context, *flags);
  });

  auto id = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto jobs = std::make_shared<int>(0);
  auto actor = std::make_shared<std::string>();
  CLI::App* reproduce = pipeline.add_subcommand(
      "reproduce", "Run a recorded run again from its exact inputs and compare every output");
  reproduce->add_option("RUN", *id, "Pipeline run id (or a unique prefix)")->required();
  reproduce->add_option("--jobs", *jobs, "Steps at once (default: one per core)")
      ->check(CLI::Range(1, 64));
  reproduce->add_option("--actor", *actor, "Who runs it (default: $USER)");
  reproduce->add_flag("--json", *as_json, "Print JSON");
  reproduce->callback([&context, result, id, as_json, jobs, actor] {
    *result = Reproduce(context, *id, *as_json, *jobs, *actor);
  });

  auto cancel_id = std::make_shared<std::string>();
  auto wait = std::make_shared<int>(30);
  CLI::App* cancel = pipeline.add_subcommand(
      "cancel", "Stop a run: its running steps' processes are killed, the rest not started");
  cancel->add_option("RUN", *cancel_id, "Pipeline run id (or a unique prefix)")->required();
  cancel->add_option("--wait", *wait, "Seconds to wait for it to stop (default 30)")
      ->check(CLI::Range(0, 3600));
  cancel->callback(
      [&context, result, cancel_id, wait] { *result = Cancel(context, *cancel_id, *wait); });
}

}  // namespace ferry::cli
