#pragma once

// InProcessRunLauncher: a RunLauncher that executes each queued run on a thread of this
// process, through the same PipelineExecutor `ferry pipeline run --queued` uses, over the
// caller's workspace -- and so on its clock. `ferry demo` runs its server this way: the
// simulated clock its world runs on is the pipeline's too (a process of its own would
// stamp its steps, rollouts and models with the real time). The run's executor pid is
// this process's, so the trigger runner sees it alive as long as this process lives.
//
// Destruction asks the runs still executing to stop (as Ctrl-C would: running steps end
// at their next check) and waits for them.
//
// Thread-safety: Launch and Reap may be called from any thread.

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "pipeline/pipeline_executor.h"
#include "pipeline/run_launcher.h"
#include "store/workspace.h"

namespace ferry::pipeline {

class InProcessRunLauncher final : public RunLauncher {
 public:
  // `workspace` must outlive the launcher. `options.interrupted` is the launcher's own.
  InProcessRunLauncher(store::Workspace& workspace, ExecutorOptions options);
  ~InProcessRunLauncher() override;
  InProcessRunLauncher(const InProcessRunLauncher&) = delete;
  InProcessRunLauncher& operator=(const InProcessRunLauncher&) = delete;

  // Starts the run's executor thread; returns this process's id. Errors: none once the
  // thread starts (what goes wrong in the run is recorded in the run, and logged).
  absl::StatusOr<int64_t> Launch(const RunRecord& run) override;
  // Joins the executor threads that have ended.
  void Reap() override;

 private:
  struct Executor {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void Execute(const std::string& run_id);

  store::Workspace& workspace_;
  ExecutorOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::list<Executor> executors_;  // guarded by mu_
};

}  // namespace ferry::pipeline
