// `ferry data ...`: dataset versions. Reading commands (list, log, show) and tag.
// Writing and checking commands live in data_add_command.cc.

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/data_commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"

namespace ferry::cli {
namespace {

using dataset::DatasetStore;
using dataset::VersionRecord;

std::string ShortHash(const std::string& hex) { return hex.substr(0, 12); }

std::string RowsText(const VersionRecord& v) {
  return v.rows ? core::Cat(*v.rows) : std::string("-");
}

absl::Status RunList(CliContext& context, bool json) {
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(auto datasets, opened.datasets->List());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : datasets) {
      out.push_back({{"name", d.name},
                     {"versions", d.versions},
                     {"latest", dataset::VersionToJson(d.latest)}});
    }
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  if (datasets.empty()) {
    context.out() << "no datasets yet; add one with `ferry data add NAME FILE`\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSIONS", "LATEST", "FORMAT", "SIZE", "ROWS", "ADDED"}};
  for (const auto& d : datasets) {
    rows.push_back({d.name, core::Cat(d.versions), core::Cat("@", d.latest.version),
                    std::string(table::FormatName(d.latest.format)), HumanBytes(d.latest.size),
                    RowsText(d.latest), core::FormatTimestamp(d.latest.created_at).substr(0, 19)});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

absl::Status RunLog(CliContext& context, const std::string& name, bool json) {
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(auto versions, opened.datasets->Log(name));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : versions) out.push_back(dataset::VersionToJson(v));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  for (const auto& v : versions) {
    context.out() << v.Ref() << "  " << core::FormatTimestamp(v.created_at).substr(0, 19)
                  << "  sha256:" << ShortHash(v.content_sha256) << "  " << HumanBytes(v.size)
                  << "  " << RowsText(v) << " rows";
    if (!v.tags.empty()) {
      context.out() << "  [";
      for (size_t i = 0; i < v.tags.size(); ++i) context.out() << (i ? ", " : "") << v.tags[i];
      context.out() << "]";
    }
    if (!v.message.empty()) context.out() << "  " << v.message;
    context.out() << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunTag(CliContext& context, const std::string& ref_text, const std::string& tag,
                    bool move) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(ref_text));
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(VersionRecord v, opened.datasets->Tag(ref, tag, move));
  context.out() << "tagged " << v.Ref() << " as " << v.dataset << "@" << tag << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenedDatasets> OpenDatasets(CliContext& context) {
  OpenedDatasets opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.datasets, DatasetStore::Open(*opened.workspace));
  return opened;
}

void AddDataCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* data = app.add_subcommand("data", "Versioned datasets: add, list, log, show, diff, "
                                              "tag, export, gc, verify");
  data->require_subcommand(1);

  CLI::App* list = data->add_subcommand("list", "List datasets with their latest version");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, list_json] { *result = RunList(context, *list_json); });

  CLI::App* log = data->add_subcommand("log", "List the versions of a dataset, newest first");
  auto log_name = std::make_shared<std::string>();
  auto log_json = std::make_shared<bool>(false);
  log->add_option("NAME", *log_name, "Dataset name")->required();
  log->add_flag("--json", *log_json, "Print JSON");
  log->callback([&context, result, log_name, log_json] {
    *result = RunLog(context, *log_name, *log_json);
  });

  CLI::App* tag = data->add_subcommand("tag", "Name a version: NAME@TAG then resolves to it");
  auto tag_ref = std::make_shared<std::string>();
  auto tag_name = std::make_shared<std::string>();
  auto tag_move = std::make_shared<bool>(false);
  tag->add_option("REF", *tag_ref, "Version to tag (NAME@N, NAME@TAG or NAME)")->required();
  tag->add_option("TAG", *tag_name, "Tag name")->required();
  tag->add_flag("--move", *tag_move, "Move the tag if it names another version");
  tag->callback([&context, result, tag_ref, tag_name, tag_move] {
    *result = RunTag(context, *tag_ref, *tag_name, *tag_move);
  });

  AddDataShowCommand(*data, context, result);
  AddDataWriteCommands(*data, context, result);
}

}  // namespace ferry::cli
