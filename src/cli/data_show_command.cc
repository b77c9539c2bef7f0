// `ferry data show REF` and `ferry data diff A B`.

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/data_commands.h"
#include "cli/output.h"
#include "cli/registry_commands.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_json.h"
#include "registry/lineage_view.h"

namespace ferry::cli {
namespace {

using dataset::VersionRecord;
using table::ColumnProfile;
using table::ColumnType;

std::string Number(double value, const ColumnProfile& column) {
  if (std::isnan(value)) return "-";
  if (column.type == ColumnType::kTimestamp) {
    return core::FormatTimestamp(static_cast<int64_t>(value)).substr(0, 19);
  }
  if (column.type == ColumnType::kInt64 && std::fabs(value - std::round(value)) < 1e-9) {
    return fmt::format("{}", static_cast<int64_t>(std::round(value)));
  }
  return fmt::format("{:.6g}", value);
}

std::vector<std::string> ColumnRow(const ColumnProfile& c) {
  std::string nulls = fmt::format("{:.1f}%", 100.0 * c.null_rate());
  std::string distinct = fmt::format("{}{:.0f}", c.distinct.exact() ? "" : "~", c.distinct.Estimate());
  if (c.numeric) {
    const auto& n = *c.numeric;
    return {c.name, std::string(table::ColumnTypeName(c.type)), nulls, distinct,
            Number(n.min, c), Number(n.max, c), Number(n.moments.mean, c),
            c.type == ColumnType::kTimestamp ? "-" : fmt::format("{:.4g}", n.moments.SampleStddev()),
            Number(n.quantiles.Quantile(0.5), c), Number(n.quantiles.Quantile(0.99), c), ""};
  }
  std::string top;
  if (c.type == ColumnType::kBool) {
    top = fmt::format("true ({}), false ({})", c.true_count, c.false_count);
  } else if (c.top_values) {
    // Only values whose count is known to stand out: a counter no larger than the
    // sketch's error bound may be noise (e.g. unique ids).
    const int64_t error = c.top_values->max_error();
    size_t shown = 0;
    for (const auto& item : c.top_values->Items()) {
      if (shown == 3 || item.count <= error || item.count <= 1) break;
      top += fmt::format("{}{} ({})", shown ? ", " : "", item.value, item.count);
      ++shown;
    }
  }
  return {c.name, std::string(table::ColumnTypeName(c.type)), nulls, distinct, "", "", "", "",
          "", "", top};
}

// Everything made from the version at any depth: training sets, runs, model versions.
absl::StatusOr<registry::LineageView> Downstream(CliContext& context, const VersionRecord& v) {
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  return registry::BuildLineageView(*opened.workspace, *opened.datasets, *opened.tracking,
                                    *opened.models,
                                    {std::string(lineage::kind::kDatasetVersion), v.Ref()},
                                    lineage::Direction::kDownstream);
}

absl::Status RunShow(CliContext& context, const std::string& ref_text, bool json, bool used_by) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(ref_text));
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(VersionRecord v, opened.datasets->Resolve(ref));
  std::optional<table::TableProfile> profile;
  if (v.profile) {
    ASSIGN_OR_RETURN(profile, opened.datasets->Profile(v));
  }
  ASSIGN_OR_RETURN(dataset::DatasetStore::VersionLineage links, opened.datasets->Lineage(v));
  std::optional<registry::LineageView> downstream;
  if (used_by) {
    ASSIGN_OR_RETURN(downstream, Downstream(context, v));
  }
  std::ostream& out = context.out();
  if (json) {
    nlohmann::json body = {{"version", dataset::VersionToJson(v)},
                           {"profile", nullptr},
                           {"made_from", dataset::LineageEdgesToJson(links.inputs, true)},
                           {"used_by", dataset::LineageEdgesToJson(links.consumers, false)}};
    if (profile) body["profile"] = dataset::ProfileToJson(*profile, /*with_sketches=*/true);
    if (downstream) body["downstream"] = registry::LineageViewToJson(*downstream);
    out << body.dump() << "\n";
    return absl::OkStatus();
  }
  if (downstream) {
    // Only the graph: what `--used-by` asks for.
    out << registry::LineageViewToText(*downstream);
    return absl::OkStatus();
  }
  out << v.Ref();
  if (!v.tags.empty()) {
    out << "  (tags:";
    for (const auto& t : v.tags) out << " " << t;
    out << ")";
  }
  out << "\n";
  out << "  sha256    " << v.content_sha256 << "\n";
  out << "  size      " << HumanBytes(v.size) << " (" << v.size << " bytes) in " << v.chunks
      << " chunks, " << HumanBytes(v.new_bytes) << " new in this version\n";
  out << "  manifest  " << v.manifest << "\n";
  if (profile) {
    out << "  format    " << table::FormatName(v.format) << ", " << profile->row_count << " rows, "
        << profile->columns.size() << " columns";
    if (profile->bad_row_count > 0) out << ", " << profile->bad_row_count << " bad rows skipped";
    out << "\n";
  } else {
    out << "  format    opaque bytes (no schema or statistics)\n";
  }
  if (v.parent) out << "  parent    " << v.dataset << "@" << *v.parent << "\n";
  out << "  source    " << v.source << "\n";
  out << "  added     " << core::FormatTimestamp(v.created_at) << "\n";
  if (!v.message.empty()) out << "  message   " << v.message << "\n";
  for (const lineage::Edge& e : links.inputs) {
    out << "  made from " << e.from.kind << " " << e.from.id << " (" << e.relation << ")\n";
  }
  for (const lineage::Edge& e : links.consumers) {
    out << "  used by   " << e.to.kind << " " << e.to.id << " (" << e.relation << ")\n";
  }
  if (profile) {
    out << "\n";
    std::vector<std::vector<std::string>> rows = {
        {"COLUMN", "TYPE", "NULLS", "DISTINCT", "MIN", "MAX", "MEAN", "STDDEV", "P50", "P99",
         "TOP VALUES"}};
    for (const ColumnProfile& c : profile->columns) rows.push_back(ColumnRow(c));
    PrintTable(out, rows);
  }
  return absl::OkStatus();
}

absl::Status RunDiff(CliContext& context, const std::string& a, const std::string& b, bool json) {
  ASSIGN_OR_RETURN(dataset::DatasetRef before, dataset::ParseDatasetRef(a));
  ASSIGN_OR_RETURN(dataset::DatasetRef after, dataset::ParseDatasetRef(b));
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(dataset::VersionDiff diff, opened.datasets->Diff(before, after));
  std::ostream& out = context.out();
  if (json) {
    out << dataset::VersionDiffToJson(diff).dump() << "\n";
    return absl::OkStatus();
  }
  out << diff.before.Ref() << " -> " << diff.after.Ref() << "\n";
  out << "bytes: " << HumanBytes(diff.shared_bytes) << " shared, " << HumanBytes(diff.new_bytes)
      << " new\n";
  if (diff.profile) {
    out << (diff.profile->empty() ? std::string("no change in schema or statistics\n")
                                  : diff.profile->ToText());
  } else {
    out << "(schema and statistics: not both versions are tabular)\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddDataShowCommand(CLI::App& data, CliContext& context, absl::Status* result) {
  CLI::App* show = data.add_subcommand("show", "Show a version: hash, size, schema, statistics");
  auto ref = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  show->add_option("REF", *ref, "NAME, NAME@N or NAME@TAG")->required();
  auto used_by = std::make_shared<bool>(false);
  show->add_flag("--json", *json, "Print JSON (the version and its full profile)");
  show->add_flag("--used-by", *used_by,
                 "Print everything made from this version, at any depth: training sets, runs,"
                 " model versions (with --json: as \"downstream\" nodes and edges)");
  show->callback([&context, result, ref, json, used_by] {
    *result = RunShow(context, *ref, *json, *used_by);
  });

  CLI::App* diff = data.add_subcommand(
      "diff", "Compare two versions: bytes shared and new, schema, rows, statistics");
  auto a = std::make_shared<std::string>();
  auto b = std::make_shared<std::string>();
  auto diff_json = std::make_shared<bool>(false);
  diff->add_option("BEFORE", *a, "NAME@N")->required();
  diff->add_option("AFTER", *b, "NAME@M")->required();
  diff->add_flag("--json", *diff_json, "Print JSON");
  diff->callback([&context, result, a, b, diff_json] {
    *result = RunDiff(context, *a, *b, *diff_json);
  });
}

}  // namespace ferry::cli
