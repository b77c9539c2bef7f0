// `ferry init [DIR] [--metadata STORE] [--online-store STORE]`: creates a workspace.

#include <nlohmann/json.hpp>

#include <ostream>

#include "cli/commands.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {

void AddInitCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "init", "Create a ferry workspace (.ferry/) in DIR, --workspace DIR or the current folder");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("DIR", *dir, "Folder to create the workspace in (created if missing)");
  auto metadata = std::make_shared<std::string>();
  auto online_store = std::make_shared<std::string>();
  cmd->add_option("--metadata", *metadata,
                  "Metadata store: sqlite (default) or postgresql://USER@HOST:PORT/DB (password"
                  " from PGPASSWORD or a pgpass file)")
      ->type_name("STORE");
  cmd->add_option("--online-store", *online_store,
                  "Online feature store: rocksdb (default) or redis://HOST:PORT")
      ->type_name("STORE");
  cmd->add_flag("--json", *json, "Print the result as JSON");
  cmd->callback([&context, result, dir, json, metadata, online_store] {
    core::WorkspaceConfig config;
    if (!metadata->empty()) config.metadata = *metadata;
    if (!online_store->empty()) config.online_store = *online_store;
    // The same checks as reading config.yaml, before anything is created.
    if (absl::Status valid = core::WorkspaceConfig::Parse(config.ToYaml()).status(); !valid.ok()) {
      // Name the flag, not the file that does not exist yet.
      std::string message(valid.message());
      if (message.starts_with("config.yaml: ")) message = message.substr(13);
      if (message.starts_with("online_store")) message.replace(0, 12, "online-store");
      *result = absl::InvalidArgumentError(core::Cat("--", message));
      return;
    }
    std::filesystem::path root = context.env().current_dir;
    if (!dir->empty()) {
      root = root / *dir;
    } else if (context.workspace_flag) {
      root = root / *context.workspace_flag;
    }
    auto workspace = store::Workspace::Init(root, context.env().clock, config);
    if (!workspace.ok()) {
      *result = workspace.status();
      return;
    }
    const store::Workspace& ws = **workspace;
    if (*json) {
      context.out() << nlohmann::json{{"root", ws.root().string()},
                                      {"ferry_dir", ws.ferry_dir().string()},
                                      {"workspace_id", ws.id()}}
                           .dump()
                    << "\n";
    } else {
      context.out() << "Initialized empty ferry workspace in " << ws.ferry_dir().string() << "\n";
    }
  });
}

}  // namespace ferry::cli
