// `ferry fsck [--json]`: checks that everything the workspace stores is intact: the
// metadata store's own structures, and every object's bytes against its SHA-256.

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "cli/commands.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"

namespace ferry::cli {
namespace {

struct FsckReport {
  std::string metadata = "ok";
  uint64_t objects_checked = 0;
  std::vector<std::pair<std::string, std::string>> damaged;  // digest, problem
  int64_t versions_checked = 0;
  std::vector<std::string> version_problems;  // dataset versions naming missing objects
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
  ASSIGN_OR_RETURN(auto datasets, dataset::DatasetStore::Open(*workspace));
  ASSIGN_OR_RETURN(dataset::VerifyReport references, datasets->CheckReferences());
  report.versions_checked = references.versions_checked;
  report.version_problems = std::move(references.problems);
  return report;
}

}  // namespace

void AddFsckCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "fsck", "Verify the workspace: metadata integrity, every object's SHA-256, every dataset version's chunks");
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
                                      {"damaged_objects", damaged},
                                      {"dataset_versions_checked", report->versions_checked},
                                      {"dataset_problems", report->version_problems}}
                           .dump()
                    << "\n";
    } else {
      context.out() << "metadata: " << report->metadata << "\n"
                    << "objects:  " << report->objects_checked << " checked, "
                    << report->damaged.size() << " damaged\n";
      for (const auto& [digest, problem] : report->damaged) {
        context.out() << "  damaged " << digest << ": " << problem << "\n";
      }
      context.out() << "datasets: " << report->versions_checked << " versions checked, "
                    << report->version_problems.size() << " with missing objects\n";
      for (const auto& problem : report->version_problems) context.out() << "  " << problem << "\n";
    }
    if (report->metadata != "ok" || !report->damaged.empty() ||
        !report->version_problems.empty()) {
      *result = absl::DataLossError(core::Cat(
          "the workspace is damaged (", report->damaged.size(), " objects, ",
          report->version_problems.size(), " dataset versions",
          report->metadata != "ok" ? ", metadata store" : "", ")"));
    }
  });
}

}  // namespace ferry::cli
