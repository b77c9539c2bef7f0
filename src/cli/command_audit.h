#pragma once

// The audit log's record of commands that change a workspace (auth/audit_log.h): who
// ran them (cli:USER@HOST), what (the command and its arguments), and how they ended.
// Reading commands, `init`, `server` and `demo` are not recorded.
//
// Thread-safety: called once per process, after the command ran.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/cli.h"

namespace ferry::cli {

// The names of the subcommands that ran, outermost first ("models", "alias", "set").
std::vector<std::string> CommandPath(const CLI::App& app);

// Whether the command at `path` changes the workspace.
bool IsMutatingCommand(const std::vector<std::string>& path);

// Records the command in the workspace's audit log when it is a mutating one and the
// workspace can be opened; failures to record are logged, never change the outcome.
void AuditCommand(CliContext& context, const std::vector<std::string>& path, int argc,
                  const char* const* argv, const absl::Status& result);

}  // namespace ferry::cli
