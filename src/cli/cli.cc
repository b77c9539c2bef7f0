#include "cli/cli.h"

#include <iostream>

#include "cli/alerts_commands.h"
#include "cli/command_audit.h"
#include "cli/commands.h"
#include "cli/registry_commands.h"
#include "core/error_mapping.h"
#include "core/log.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {

absl::StatusOr<std::unique_ptr<store::Workspace>> CliContext::OpenWorkspace() const {
  store::LocateOptions locate;
  if (workspace_flag) locate.workspace_flag = std::filesystem::path(*workspace_flag);
  if (env_.ferry_home && !env_.ferry_home->empty()) locate.ferry_home = *env_.ferry_home;
  locate.current_dir = env_.current_dir;
  ASSIGN_OR_RETURN(std::filesystem::path root, store::LocateWorkspace(locate));
  ASSIGN_OR_RETURN(auto workspace, store::Workspace::Open(root, env_.clock));
  RETURN_IF_ERROR(core::SetLogLevel(workspace->config().log_level));
  return workspace;
}

int Run(int argc, const char* const* argv, CliEnvironment env) {
  CliContext context(std::move(env));
  // Logs go to stderr; commands may raise the level from the workspace config.
  core::SetLogLevel("warn").IgnoreError();

  CLI::App app{"ferry: carries ML models from data to production, in one binary", "ferry"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option_function<std::string>(
         "--workspace,-C", [&](const std::string& dir) { context.workspace_flag = dir; },
         "Workspace folder (default: $FERRY_HOME, else the current folder or a parent)")
      ->type_name("DIR");

  absl::Status result = absl::OkStatus();
  AddInitCommand(app, context, &result);
  AddVersionCommand(app, context, &result);
  AddDataCommand(app, context, &result);
  AddFeaturesCommand(app, context, &result);
  AddExperimentsCommand(app, context, &result);
  AddRunsCommand(app, context, &result);
  AddModelsCommand(app, context, &result);
  AddDeployCommand(app, context, &result);
  AddMonitorCommand(app, context, &result);
  AddPipelineCommand(app, context, &result);
  AddServerCommand(app, context, &result);
  AddAlertsCommand(app, context, &result);
  AddTokenCommand(app, context, &result);
  AddFsckCommand(app, context, &result);
  AddDemoCommand(app, context, &result);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is an "error" with exit code 0 in CLI11; real usage errors exit 2
    // (CLI11's own codes, 100 and up, would collide with nothing useful).
    int code = app.exit(e, context.out(), context.err());
    return code == 0 ? 0 : 2;
  }
  AuditCommand(context, CommandPath(app), argc, argv, result);
  if (!result.ok()) {
    context.err() << "ferry: error: " << core::View(result.message()) << "\n";
    return core::MapStatusCode(result.code()).exit_code;
  }
  return 0;
}

}  // namespace ferry::cli
