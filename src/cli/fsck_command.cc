// `ferry fsck [--json]`: checks that everything the workspace stores is intact: the
// metadata store's own structures, and every object's bytes against its SHA-256.

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "cli/commands.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

struct FsckReport {
  std::string metadata = "ok";
  uint64_t objects_checked = 0;
  std::vector<std::pair<std::string, std::string>> damaged;  // digest, problem
};

absl::StatusOr<FsckReport> Check(CliContext& context, bool show_progress) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  FsckReport report;
  absl::Status integrity = workspace->metadata().CheckIntegrity();
  if (!integrity.ok()) report.metadata = std::string(integrity.message());
  RETURN_IF_ERROR(workspace->objects().ForEachObject([&](const core::Digest& digest) {
    absl::Status status = workspace->objects().Verify(digest);
    ++report.objects_checked;
    if (!status.ok()) report.damaged.emplace_back(digest.ToHex(), std::string(status.message()));
    if (show_progress && report.objects_checked % 256 == 0) {
      context.err() << "\rverified " << report.objects_checked << " objects" << std::flush;
    }
    return absl::OkStatus();
  }));
  if (show_progress && report.objects_checked >= 256) context.err() << "\n";
  return report;
}

}  // namespace

void AddFsckCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "fsck", "Verify the workspace: metadata store integrity and every object's SHA-256");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->callback([&context, result, json] {
    auto report = Check(context, !*json && ::isatty(2));
    if (!report.ok()) {
      *result = report.status();
      return;
    }
    if (*json) {
      nlohmann::json damaged = nlohmann::json::array();
      for (const auto& [digest, problem] : report->damaged) {
        damaged.push_back({{"object", digest}, {"problem", problem}});
      }
      context.out() << nlohmann::json{{"metadata", report->metadata},
                                      {"objects_checked", report->objects_checked},
                                      {"damaged_objects", damaged}}
                           .dump()
                    << "\n";
    } else {
      context.out() << "metadata: " << report->metadata << "\n"
                    << "objects:  " << report->objects_checked << " checked, "
                    << report->damaged.size() << " damaged\n";
      for (const auto& [digest, problem] : report->damaged) {
        context.out() << "  damaged " << digest << ": " << problem << "\n";
      }
    }
    if (report->metadata != "ok" || !report->damaged.empty()) {
      *result = absl::DataLossError(core::Cat(
          "the workspace is damaged (", report->damaged.size(), " objects",
          report->metadata != "ok" ? ", metadata store" : "", ")"));
    }
  });
}

}  // namespace ferry::cli
