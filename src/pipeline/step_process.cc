#include "pipeline/step_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/strings.h"

extern char** environ;

namespace ferry::pipeline {
namespace {

using core::Cat;
using Clock = std::chrono::steady_clock;

bool GroupAlive(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

}  // namespace

SpawnSetup::SpawnSetup(short flags) {
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t all;
  sigfillset(&all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(
      &attr, static_cast<short>(flags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
}

SpawnSetup::~SpawnSetup() {
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
}

std::string ProcessResult::Describe() const {
  if (timed_out) return Cat("timed out after ", elapsed.count() / 1000.0, " s and was killed");
  if (stopped) return "was stopped (the run was cancelled)";
  if (signal) return Cat("was killed by signal ", *signal, " (", strsignal(*signal), ")");
  return Cat("exited with status ", exit_code);
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

absl::StatusOr<ProcessResult> RunStepProcess(const ProcessSpec& spec) {
  std::error_code ec;
  if (!std::filesystem::is_directory(spec.cwd, ec)) {
    return absl::NotFoundError(Cat("the step's folder ", spec.cwd.string(), " does not exist"));
  }
  // Its own process group (pgid = its pid), so a stop reaches everything it started.
  SpawnSetup setup(POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, spec.stdout_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&setup.actions, 2, spec.stderr_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // glibc 2.36 has posix_spawn_file_actions_addchdir_np: the child changes folder, not
  // this (multi-threaded) process.
  posix_spawn_file_actions_addchdir_np(&setup.actions, spec.cwd.c_str());

  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size());
  for (const auto& [key, value] : spec.env) env_strings.push_back(Cat(key, "=", value));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string command = spec.command;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};

  pid_t pid = 0;
  const auto start = Clock::now();
  const int rc = posix_spawn(&pid, shell.c_str(), &setup.actions, &setup.attr, argv, envp.data());
  if (rc != 0) return core::ErrnoToStatus(rc, "starting the step's command");

  ProcessResult result;
  std::optional<Clock::time_point> term_sent;
  int status = 0;
  auto delay = std::chrono::milliseconds(1);
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return core::ErrnoToStatus(errno, "waiting for the step");
    const auto now = Clock::now();
    if (!term_sent) {
      const bool timed_out = spec.timeout.count() > 0 && now - start >= spec.timeout;
      const bool stopped = !timed_out && spec.stop && spec.stop();
      if (timed_out || stopped) {
        result.timed_out = timed_out;
        result.stopped = stopped;
        ::kill(-pid, SIGTERM);
        term_sent = now;
      }
    } else if (now - *term_sent >= spec.grace) {
      ::kill(-pid, SIGKILL);
    }
    // Short waits at first so quick commands cost little; then every 20 ms.
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(20));
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  // What the command left behind in its group ends with it.
  if (GroupAlive(pid)) ::kill(-pid, SIGKILL);
  return result;
}

}  // namespace ferry::pipeline
