#include "pipeline/in_process_launcher.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_services.h"

namespace ferry::pipeline {

InProcessRunLauncher::InProcessRunLauncher(store::Workspace& workspace, ExecutorOptions options)
    : workspace_(workspace), options_(std::move(options)) {
  options_.interrupted = &stopping_;
}

InProcessRunLauncher::~InProcessRunLauncher() {
  stopping_.store(true);
  std::lock_guard lock(mu_);
  for (Executor& e : executors_) e.thread.join();
}

absl::StatusOr<int64_t> InProcessRunLauncher::Launch(const RunRecord& run) {
  std::lock_guard lock(mu_);
  Executor& e = executors_.emplace_back();
  e.thread = std::thread([this, &e, id = run.id] {
    Execute(id);
    e.done.store(true);
  });
  return static_cast<int64_t>(::getpid());
}

void InProcessRunLauncher::Reap() {
  std::lock_guard lock(mu_);
  for (auto it = executors_.begin(); it != executors_.end();) {
    if (!it->done.load()) {
      ++it;
      continue;
    }
    it->thread.join();
    it = executors_.erase(it);
  }
}

void InProcessRunLauncher::Execute(const std::string& run_id) {
  absl::StatusOr<std::unique_ptr<PipelineServices>> services =
      PipelineServices::Open(workspace_, {});
  if (!services.ok()) {
    spdlog::error("pipelines: run {} could not start: {}", run_id,
                  core::View(services.status().message()));
    return;
  }
  PipelineServices& s = **services;
  absl::StatusOr<ExecutionResult> result = [&]() -> absl::StatusOr<ExecutionResult> {
    ASSIGN_OR_RETURN(RunRecord queued, s.runs->GetRun(run_id));
    ASSIGN_OR_RETURN(RunInvocation invocation, QueuedInvocation(queued));
    s.steps->spec_dir = invocation.spec_dir;
    PipelineExecutor executor(*s.steps, *s.runs, options_);
    return executor.Execute(invocation);
  }();
  if (!result.ok()) {
    // It could not start: end it, so that it holds no slot of its pipeline.
    const std::string why = core::Cat("could not start: ", core::View(result.status().message()));
    spdlog::error("pipelines: run {} {}", run_id, why);
    (void)EndAbandonedRun(*s.runs, *s.tracking, run_id, RunState::kFailed, why);
    return;
  }
  spdlog::info("pipelines: {} run {} {}{}", result->run.pipeline, result->run.number,
               RunStateName(result->run.state),
               result->run.error.empty() ? "" : core::Cat(": ", result->run.error));
}

}  // namespace ferry::pipeline
