#pragma once

// RunLauncher: how the trigger runner (trigger_runner.h) starts the executor of a queued
// pipeline run. The interface lets tests count launches without processes.
//
// ProcessRunLauncher starts `ferry --workspace ROOT pipeline run --queued RUN --actor
// ACTOR` from the server's own executable (/proc/self/exe), as a process of its own:
//   - in a new session, so a Ctrl-C in the server's terminal does not reach it, and it
//     outlives the server: stopping `ferry server` does not stop running pipeline runs
//     (they end and record their end on their own; a restarted server counts them);
//   - with default signal dispositions, stdin from /dev/null, no descriptor of the
//     server's but 0-2 (listening sockets stay with the server), and stdout and stderr
//     appended to `.ferry/pipelines/logs/RUN.log`.
// Reap() collects the exit status of the executors it started that have ended, so none
// stays a zombie; the runner calls it every tick (and the destructor once more).
//
// Thread-safety: Launch and Reap may be called from any thread.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/run_store.h"

namespace ferry::pipeline {

class RunLauncher {
 public:
  virtual ~RunLauncher() = default;
  // Starts the executor of the queued run `run`; returns its process id. Errors: the
  // system's when the process cannot be started.
  virtual absl::StatusOr<int64_t> Launch(const RunRecord& run) = 0;
  // Collects the executors that have ended.
  virtual void Reap() {}
};

class ProcessRunLauncher final : public RunLauncher {
 public:
  // `workspace_root`: the folder holding `.ferry/`.
  explicit ProcessRunLauncher(std::filesystem::path workspace_root);
  ~ProcessRunLauncher() override;
  ProcessRunLauncher(const ProcessRunLauncher&) = delete;
  ProcessRunLauncher& operator=(const ProcessRunLauncher&) = delete;

  absl::StatusOr<int64_t> Launch(const RunRecord& run) override;
  void Reap() override;

  // Where the executor of `run_id` writes its output.
  static std::filesystem::path LogPath(const std::filesystem::path& workspace_root,
                                       std::string_view run_id);

 private:
  const std::filesystem::path root_;
  std::mutex mu_;
  std::vector<pid_t> children_;  // started and not yet reaped; guarded by mu_
};

}  // namespace ferry::pipeline
