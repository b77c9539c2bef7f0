#pragma once

// StepProcess: runs a command step's command -- `/bin/sh -c COMMAND` in its own process
// group, in a given folder, with a given environment, stdin from /dev/null and stdout
// and stderr to files -- and waits for it while watching a stop condition (the run's
// cancellation, the step's timeout). Stopping sends SIGTERM to the whole group, then
// SIGKILL after a grace period; whatever the command left running in its group when it
// exited is killed too, so a step's processes end with the step.
//
// Thread-safety: one StepProcess per thread; several may run at once.

#include <spawn.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::pipeline {

struct ProcessSpec {
  std::string command;  // run by /bin/sh -c
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;  // the whole environment
  std::filesystem::path stdout_file;
  std::filesystem::path stderr_file;
  std::chrono::milliseconds timeout{0};   // 0: none
  std::chrono::milliseconds grace{5000};  // between SIGTERM and SIGKILL
  // Polled every few milliseconds; true stops the process (as for a timeout).
  std::function<bool()> stop;
};

struct ProcessResult {
  int exit_code = -1;         // when it exited
  std::optional<int> signal;  // when a signal ended it
  bool timed_out = false;
  bool stopped = false;  // `stop` said so
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return exit_code == 0 && !signal && !timed_out && !stopped; }
  std::string Describe() const;  // "exited with status 3", "killed by SIGKILL after ..."
};

// Errors: the system's, when the process cannot be started (the folder is missing, no
// /bin/sh, the output files cannot be created).
absl::StatusOr<ProcessResult> RunStepProcess(const ProcessSpec& spec);

// The environment of this process as a map, for a child to extend.
std::map<std::string, std::string> CurrentEnvironment();

// posix_spawn's attributes and file actions, freed on every path. The child starts with
// default signal dispositions and an empty signal mask, whatever this process (a server,
// a CLI waiting on Ctrl-C) has set, plus `flags` (POSIX_SPAWN_SETPGROUP, ...).
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  explicit SpawnSetup(short flags);
  ~SpawnSetup();
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace ferry::pipeline
