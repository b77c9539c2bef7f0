// `ferry version`: the version of ferry and of the engines it is built on.

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <zstd.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "core/build_info.h"

namespace ferry::cli {

void AddVersionCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand("version", "Print ferry's version and its engines' versions");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the result as JSON");
  cmd->callback([&context, result, json] {
    nlohmann::json info = {
        {"version", core::kFerryVersion},
        {"build_type", core::kBuildType},
        {"sqlite", sqlite3_libversion()},
        {"zstd", ZSTD_versionString()},
        {"openssl", OpenSSL_version(OPENSSL_VERSION)},
    };
    if (*json) {
      context.out() << info.dump() << "\n";
    } else {
      context.out() << "ferry " << core::kFerryVersion << " (" << core::kBuildType << ")\n"
                    << "  sqlite " << sqlite3_libversion() << ", zstd " << ZSTD_versionString()
                    << ", " << OpenSSL_version(OPENSSL_VERSION) << "\n";
    }
    *result = absl::OkStatus();
  });
}

}  // namespace ferry::cli
