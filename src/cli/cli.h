#pragma once

// The `ferry` command line: parses arguments with CLI11 and dispatches to one
// command. Every command's errors come back as an absl::Status, printed once to
// stderr as "ferry: error: <message>", with the exit code from
// core::MapStatusCode (usage errors exit 2). Read commands take `--json`.
//
// Thread-safety: Run is called once per process.

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "store/workspace.h"

namespace ferry::cli {

// What a command needs from the process, injectable for tests.
struct CliEnvironment {
  std::ostream* out;
  std::ostream* err;
  std::filesystem::path current_dir;
  std::optional<std::string> ferry_home;  // $FERRY_HOME
  std::optional<std::string> user;        // $USER: who acts, for records such as alias moves
  // $FERRY_TOKEN: the API token commands send to a `ferry server` (--server) that
  // requires one. Never printed.
  std::optional<std::string> token;
  core::ClockPtr clock;
};

// Shared state of one invocation: global flags and the environment.
class CliContext {
 public:
  explicit CliContext(CliEnvironment env) : env_(std::move(env)) {}

  std::ostream& out() { return *env_.out; }
  std::ostream& err() { return *env_.err; }
  const CliEnvironment& env() const { return env_; }

  // Set by `--workspace DIR` before any command runs.
  std::optional<std::string> workspace_flag;

  // Locates and opens the workspace (flag, then FERRY_HOME, then upward from the
  // current folder). NotFound with a hint to run `ferry init` when there is none.
  absl::StatusOr<std::unique_ptr<store::Workspace>> OpenWorkspace() const;

 private:
  CliEnvironment env_;
};

// Runs the command line; returns the process exit code.
int Run(int argc, const char* const* argv, CliEnvironment env);

}  // namespace ferry::cli
