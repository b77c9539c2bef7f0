// `ferry fsck [--json]`: checks that everything the workspace stores is intact: the
// metadata store's own structures, every object's bytes against its SHA-256, that every
// object a dataset version, model, run or feature table relies on exists, and the
// embedded online store (features/online_store_check.h).

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "cli/commands.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "features/online_store_check.h"
#include "store/object_roots.h"

namespace ferry::cli {
namespace {

struct FsckReport {
  std::string metadata = "ok";
  uint64_t objects_checked = 0;
  std::vector<std::pair<std::string, std::string>> damaged_objects;  // digest, problem
  int64_t versions_checked = 0;
  std::vector<std::string> version_problems;  // dataset versions naming missing objects
  store::ObjectRootsCheck roots;
  features::OnlineStoreCheck online;

  bool damaged() const {
    return metadata != "ok" || !damaged_objects.empty() || !version_problems.empty() ||
           !roots.problems.empty() || !online.problems.empty();
  }
};

absl::StatusOr<FsckReport> Check(CliContext& context, bool show_progress) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  FsckReport report;
  absl::Status integrity = workspace->metadata().CheckIntegrity();
  if (!integrity.ok()) report.metadata = std::string(integrity.message());
  RETURN_IF_ERROR(workspace->objects().ForEachObject([&](const core::Digest& digest) {
    absl::Status status = workspace->objects().Verify(digest);
    ++report.objects_checked;
    if (!status.ok())
      report.damaged_objects.emplace_back(digest.ToHex(), std::string(status.message()));
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
  ASSIGN_OR_RETURN(report.roots, store::CheckObjectRoots(*workspace));
  ASSIGN_OR_RETURN(report.online, features::CheckOnlineStore(*workspace));
  return report;
}

nlohmann::json ReportToJson(const FsckReport& report) {
  nlohmann::json damaged = nlohmann::json::array();
  for (const auto& [digest, problem] : report.damaged_objects) {
    damaged.push_back({{"object", digest}, {"problem", problem}});
  }
  const features::OnlineStoreCheck& online = report.online;
  return nlohmann::json{{"metadata", report.metadata},
                        {"objects_checked", report.objects_checked},
                        {"damaged_objects", damaged},
                        {"dataset_versions_checked", report.versions_checked},
                        {"dataset_problems", report.version_problems},
                        {"object_roots_checked", report.roots.checked},
                        {"object_root_problems", report.roots.problems},
                        {"online",
                         {{"store", online.store},
                          {"checked", online.checked},
                          {"views", online.views},
                          {"values_checked", online.values_checked},
                          {"problems", online.problems}}}};
}

void PrintText(std::ostream& out, const FsckReport& report) {
  out << "metadata: " << report.metadata << "\n"
      << "objects:  " << report.objects_checked << " checked, " << report.damaged_objects.size()
      << " damaged\n";
  for (const auto& [digest, problem] : report.damaged_objects) {
    out << "  damaged " << digest << ": " << problem << "\n";
  }
  out << "datasets: " << report.versions_checked << " versions checked, "
      << report.version_problems.size() << " with missing objects\n";
  for (const auto& problem : report.version_problems) out << "  " << problem << "\n";
  out << "kept:     " << report.roots.checked
      << " objects kept by models, runs and feature tables, " << report.roots.problems.size()
      << " missing\n";
  for (const auto& problem : report.roots.problems) out << "  " << problem << "\n";
  const features::OnlineStoreCheck& online = report.online;
  out << "online:   ";
  if (online.checked) {
    out << online.store << ", " << online.values_checked << " values of " << online.views
        << " views checked, " << online.problems.size() << " problems\n";
  } else if (online.store == "rocksdb") {
    out << "nothing materialized yet\n";
  } else {
    out << "not checked (" << online.store << ")\n";
  }
  for (const auto& problem : online.problems) out << "  " << problem << "\n";
}

}  // namespace

void AddFsckCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "fsck",
      "Verify the workspace: metadata integrity, every object's SHA-256, that every object"
      " versions, models, runs and feature tables name exists, the online store");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->callback([&context, result, json] {
    auto report = Check(context, !*json && ::isatty(2));
    if (!report.ok()) {
      *result = report.status();
      return;
    }
    if (*json) {
      context.out() << ReportToJson(*report).dump() << "\n";
    } else {
      PrintText(context.out(), *report);
    }
    if (report->damaged()) {
      *result = absl::DataLossError(core::Cat(
          "the workspace is damaged (", report->damaged_objects.size(), " objects, ",
          report->version_problems.size(), " dataset versions, ", report->roots.problems.size(),
          " kept objects missing, ", report->online.problems.size(), " online store problems",
          report->metadata != "ok" ? ", metadata store" : "", ")"));
    }
  });
}

}  // namespace ferry::cli
