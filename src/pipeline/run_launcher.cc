#include "pipeline/run_launcher.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "core/file.h"
#include "core/strings.h"
#include "pipeline/step_process.h"

extern char** environ;

namespace ferry::pipeline {

namespace fs = std::filesystem;

ProcessRunLauncher::ProcessRunLauncher(fs::path workspace_root)
    : root_(std::move(workspace_root)) {}

// Executors still running are left to finish (see the header); only the ended ones are
// collected.
ProcessRunLauncher::~ProcessRunLauncher() { Reap(); }

fs::path ProcessRunLauncher::LogPath(const fs::path& workspace_root, std::string_view run_id) {
  return workspace_root / ".ferry" / "pipelines" / "logs" / core::Cat(run_id, ".log");
}

absl::StatusOr<int64_t> ProcessRunLauncher::Launch(const RunRecord& run) {
  const fs::path log = LogPath(root_, run.id);
  std::error_code ec;
  fs::create_directories(log.parent_path(), ec);
  if (ec)
    return core::ErrnoToStatus(ec.value(), core::Cat("creating ", log.parent_path().string()));

  // A new session: no terminal, no signal meant for the server's process group.
  SpawnSetup setup(POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  // The server's sockets and files are not the executor's.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);

  // /proc/self/exe is this very binary, even if its file was replaced since it started.
  std::string exe = "/proc/self/exe";
  std::vector<std::string> args = {
      "ferry",    "--workspace", root_.string(),
      "pipeline", "run",         "--queued",
      run.id,     "--actor",     run.actor.empty() ? std::string("ferry-server") : run.actor};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::lock_guard<std::mutex> lock(mu_);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &setup.actions, &setup.attr, argv.data(), environ);
  if (rc != 0) return core::ErrnoToStatus(rc, "starting a pipeline run's executor");
  children_.push_back(pid);
  return static_cast<int64_t>(pid);
}

void ProcessRunLauncher::Reap() {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(children_, [](pid_t pid) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    // Reaped, or not ours to wait for any more (ECHILD).
    return done == pid || (done < 0 && errno == ECHILD);
  });
}

}  // namespace ferry::pipeline
