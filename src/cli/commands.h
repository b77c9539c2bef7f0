#pragma once

// Each command adds itself to the CLI11 app. Its callback runs the command and
// stores the outcome in `*result`; the dispatcher reports it.

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "cli/cli.h"

namespace ferry::cli {

void AddInitCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddVersionCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddServerCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddFsckCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddDataCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddDemoCommand(CLI::App& app, CliContext& context, absl::Status* result);
// demo_generate_command.cc: `generate` under `demo` (the synthetic world as CSV files).
void AddDemoGenerateCommand(CLI::App& demo, CliContext& context, absl::Status* result);
void AddFeaturesCommand(CLI::App& app, CliContext& context, absl::Status* result);
// deploy_command.cc: deploy ENDPOINT --model REF, deploy list|status|delete.
void AddDeployCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddMonitorCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddPipelineCommand(CLI::App& app, CliContext& context, absl::Status* result);
// token_command.cc: token create|list|revoke, audit list.
void AddTokenCommand(CLI::App& app, CliContext& context, absl::Status* result);

}  // namespace ferry::cli
