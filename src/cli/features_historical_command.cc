// `ferry features historical`: a training set by point-in-time join.

#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli/features_commands.h"
#include "cli/output.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/historical_retrieval.h"

namespace ferry::cli {
namespace {

struct HistoricalArgs {
  std::string entities;
  std::string features;  // comma-separated view:feature
  std::string service;
  std::string out;
  std::string message;
  std::string tag;
  bool full_feature_names = false;
  bool json = false;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

absl::Status RunHistorical(CliContext& context, const HistoricalArgs& args) {
  if (args.features.empty() == args.service.empty()) {
    return absl::InvalidArgumentError("give either --features view:f,... or --service NAME");
  }
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  features::HistoricalOptions options;
  if (args.service.empty()) {
    ASSIGN_OR_RETURN(options.selection, opened.registry->Select(SplitCommas(args.features)));
  } else {
    ASSIGN_OR_RETURN(options.selection, opened.registry->SelectService(args.service));
  }
  // A relative file is relative to where the command runs.
  const std::filesystem::path as_file = context.env().current_dir / args.entities;
  std::error_code ec;
  options.entities =
      std::filesystem::is_regular_file(as_file, ec) ? as_file.string() : args.entities;
  options.entities_display = args.entities;
  options.output = args.out;
  options.full_feature_names = args.full_feature_names;
  options.message = args.message;
  if (!args.tag.empty()) options.tag = args.tag;
  ASSIGN_OR_RETURN(features::HistoricalResult result,
                   features::RetrieveHistorical(*opened.workspace, *opened.datasets, options));
  const dataset::VersionRecord& v = result.added.version;
  if (args.json) {
    context.out() << features::HistoricalResultToJson(result).dump() << "\n";
    return absl::OkStatus();
  }
  context.out() << (result.added.created ? "training set " : "unchanged: training set ")
                << v.Ref() << ": " << result.rows << " rows, " << result.columns.size()
                << " columns, sha256:" << v.content_sha256.substr(0, 12) << "\n";
  std::vector<std::vector<std::string>> rows = {{"VIEW", "SOURCE", "MATCHED", "EXPIRED (TTL)",
                                                 "JOIN TABLE"}};
  for (const auto& r : result.views) {
    rows.push_back({r.view, r.source, core::Cat(r.stats.matched), core::Cat(r.stats.expired),
                    r.table_built ? "built now" : "reused"});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

}  // namespace

void AddFeaturesHistoricalCommand(CLI::App& features, CliContext& context, absl::Status* result) {
  CLI::App* cmd = features.add_subcommand(
      "historical", "Build a training set by point-in-time join, stored as a dataset version");
  auto args = std::make_shared<HistoricalArgs>();
  cmd->add_option("--entities", args->entities,
                  "Entity table: a CSV/JSON Lines file or a dataset NAME@N (join keys and"
                  " event_timestamp)")
      ->required();
  cmd->add_option("--features", args->features, "Features: view:feature,... (view:* for all)");
  cmd->add_option("--service", args->service, "A feature service instead of --features");
  cmd->add_option("--out", args->out, "Dataset that gets the training set as a new version")
      ->required();
  cmd->add_flag("--full-feature-names", args->full_feature_names,
                "Name columns view__feature instead of feature");
  cmd->add_option("-m,--message", args->message, "Version message");
  cmd->add_option("--tag", args->tag, "Tag the new version");
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([&context, result, args] { *result = RunHistorical(context, *args); });
}

}  // namespace ferry::cli
