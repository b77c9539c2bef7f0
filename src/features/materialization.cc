#include "features/materialization.h"

#include <chrono>
#include <climits>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "features/feature_table.h"
#include "features/materialization_log.h"
#include "features/online_value.h"

namespace ferry::features {
namespace {

using core::Cat;
using table::ColumnArray;

// Entries per WriteLatest call, and the bytes they may hold.
constexpr size_t kWriteBatchEntries = 4096;
constexpr size_t kWriteBatchBytes = size_t{16} << 20;

// Entries waiting to be written, keys and values back to back in one buffer.
class EntryBatch {
 public:
  void Add(std::string_view prefix, std::string_view key, std::string_view value) {
    bytes_.append(prefix);
    bytes_.append(key);
    ends_.push_back(bytes_.size());
    bytes_.append(value);
    ends_.push_back(bytes_.size());
  }
  bool Full() const {
    return ends_.size() / 2 >= kWriteBatchEntries || bytes_.size() >= kWriteBatchBytes;
  }
  bool Empty() const { return ends_.empty(); }

  absl::Status Flush(OnlineStore& online, const OnlineView& view, WriteCounts& counts) {
    if (ends_.empty()) return absl::OkStatus();
    entries_.clear();
    size_t begin = 0;
    for (size_t i = 0; i < ends_.size(); i += 2) {
      const std::string_view all(bytes_);
      entries_.push_back({all.substr(begin, ends_[i] - begin),
                          all.substr(ends_[i], ends_[i + 1] - ends_[i])});
      begin = ends_[i + 1];
    }
    ASSIGN_OR_RETURN(WriteCounts c, online.WriteLatest(view, entries_));
    counts.written += c.written;
    counts.kept += c.kept;
    bytes_.clear();
    ends_.clear();
    return absl::OkStatus();
  }

 private:
  std::string bytes_;
  std::vector<size_t> ends_;  // key end, value end, key end, ...
  std::vector<OnlineEntry> entries_;
};

struct ViewTable {
  dataset::VersionRecord version;
  FeatureTableLayout layout;
  FeatureTableInfo info;
};

absl::StatusOr<ViewTable> OpenViewTable(store::Workspace& workspace,
                                        const dataset::DatasetStore& datasets,
                                        const FeatureView& view, std::vector<JoinKey> keys) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(view.source));
  absl::StatusOr<dataset::VersionRecord> version = datasets.Resolve(ref);
  if (!version.ok()) {
    return absl::Status(version.status().code(), Cat("feature view \"", view.name, "\": ",
                                                     core::View(version.status().message())));
  }
  FeatureTableLayout layout = FeatureTableLayout::Of(view, std::move(keys));
  if (version->profile) {
    ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(*version));
    RETURN_IF_ERROR(ValidateViewSchema(view, layout.join_keys, profile.schema(), version->Ref()));
  }
  ASSIGN_OR_RETURN(FeatureTableInfo info,
                   FeatureTables(workspace, datasets).Ensure(*version, layout));
  return ViewTable{*std::move(version), std::move(layout), std::move(info)};
}

std::string ViewRecordJson(const FeatureView& view, const ViewTable& table, int64_t end,
                           int64_t now) {
  nlohmann::json features = nlohmann::json::array();
  for (const Feature& f : table.layout.features) {
    features.push_back({{"name", f.name}, {"type", table::ColumnTypeName(f.type)}});
  }
  nlohmann::json keys = nlohmann::json::array();
  for (const JoinKey& k : table.layout.join_keys) {
    keys.push_back({{"name", k.name}, {"type", table::ColumnTypeName(k.type)}});
  }
  return nlohmann::json{{"view", view.name},
                        {"layout_sha256", table.info.layout_hash},
                        {"join_keys", keys},
                        {"features", features},
                        {"source", table.version.Ref()},
                        {"window_end", end},
                        {"materialized_at", now}}
      .dump();
}

// Streams the view's table and writes each key's latest row in [start, end].
absl::Status WriteWindow(store::Workspace& workspace, OnlineStore& online,
                         const FeatureView& view, const ViewTable& table, int64_t start,
                         int64_t end, const MaterializeOptions& options,
                         ViewMaterialization& report, WriteCounts& counts) {
  ASSIGN_OR_RETURN(FeatureTableReader reader,
                   FeatureTableReader::Open(workspace.objects(), table.info.manifest));
  const uint64_t tag = LayoutTag(table.info.layout_hash);
  std::string prefix;
  AppendOnlineKeyPrefix(prefix, view.name);
  const OnlineView target{view.name, view.ttl_seconds};
  EntryBatch batch;
  std::string key;           // the key of the run being walked
  std::string winner;        // its latest row in the window so far, encoded
  bool has_winner = false;
  std::string value;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<RowGroup> group, reader.Next());
    if (!group) break;
    const std::span<const ColumnArray> features(group->features);
    for (size_t run = 0; run < group->runs(); ++run) {
      // A key's rows may continue from the previous group as a new run.
      const std::string_view k = group->run_keys.StringAt(run);
      if (k != key) {
        if (has_winner) batch.Add(prefix, key, winner);
        if (batch.Full()) RETURN_IF_ERROR(batch.Flush(online, target, counts));
        key.assign(k);
        has_winner = false;
      }
      for (size_t row = group->run_starts[run]; row < group->run_starts[run + 1]; ++row) {
        const int64_t ts = group->times[row];
        if (ts < start || ts > end) continue;
        ++report.rows_in_window;
        // Rows of a key come in (time, created, source row) order: the last one wins.
        EncodeOnlineValue(tag, ts,
                          group->created.IsNull(row) ? kNoCreatedTime
                                                     : group->created.int64_values[row],
                          features, row, value);
        winner.swap(value);
        has_winner = true;
      }
    }
    report.rows_read += static_cast<int64_t>(group->rows());
    if (options.progress) options.progress(view.name, report.rows_read, reader.rows());
  }
  if (has_winner) batch.Add(prefix, key, winner);
  return batch.Flush(online, target, counts);
}

absl::StatusOr<ViewMaterialization> MaterializeView(store::Workspace& workspace,
                                                    const dataset::DatasetStore& datasets,
                                                    const FeatureRegistry& registry,
                                                    OnlineStore& online, const FeatureView& view,
                                                    const MaterializeOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_at = workspace.clock().NowMicros();
  ASSIGN_OR_RETURN(std::vector<JoinKey> keys, registry.JoinKeysOf(view));
  ASSIGN_OR_RETURN(ViewTable table, OpenViewTable(workspace, datasets, view, std::move(keys)));

  ViewMaterialization report;
  report.view = view.name;
  report.source = table.version.Ref();
  report.table_built = table.info.built;
  report.end = options.end;
  report.start = options.start;
  if (options.incremental) {
    ASSIGN_OR_RETURN(std::optional<MaterializationRecord> last,
                     LastMaterialization(workspace.metadata(), view.name, online.id()));
    report.start = std::nullopt;
    if (last && last->layout_sha256 == table.info.layout_hash) report.start = last->window_end;
    if (report.start && *report.start >= options.end) {
      report.up_to_date = true;
      return report;
    }
  }

  WriteCounts counts;
  RETURN_IF_ERROR(WriteWindow(workspace, online, view, table, report.start.value_or(INT64_MIN),
                              options.end, options, report, counts));
  report.keys_written = counts.written;
  report.keys_kept = counts.kept;
  RETURN_IF_ERROR(online.Sync());
  const int64_t now = workspace.clock().NowMicros();
  RETURN_IF_ERROR(
      online.PutRecord(ViewRecordName(view.name), ViewRecordJson(view, table, options.end, now)));
  RETURN_IF_ERROR(online.Sync());
  RETURN_IF_ERROR(PrepareMaterializationLog(workspace.metadata(), now));
  RETURN_IF_ERROR(AppendMaterialization(
                      workspace.metadata(),
                      {view.name, 0, online.id(), table.info.layout_hash, report.source,
                       report.start, options.end, report.rows_in_window, report.keys_written,
                       report.keys_kept, started_at, now})
                      .status());
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace

std::string ViewRecordName(std::string_view view) { return Cat("view/", view); }

absl::StatusOr<std::vector<ViewMaterialization>> Materialize(
    store::Workspace& workspace, const dataset::DatasetStore& datasets,
    const FeatureRegistry& registry, OnlineStore& online, const MaterializeOptions& options) {
  if (!options.incremental && options.start && *options.start > options.end) {
    return absl::InvalidArgumentError("the window's start is after its end");
  }
  std::vector<FeatureView> views;
  if (options.views.empty()) {
    ASSIGN_OR_RETURN(FeatureDefinitions defs, registry.Current());
    for (FeatureView& v : defs.views) {
      if (v.online) views.push_back(std::move(v));
    }
  } else {
    for (const std::string& name : options.views) {
      ASSIGN_OR_RETURN(FeatureView v, registry.GetView(name));
      if (!v.online) {
        return absl::InvalidArgumentError(
            Cat("feature view \"", name,
                "\" has online: false; only online views are materialized"));
      }
      views.push_back(std::move(v));
    }
  }
  std::vector<ViewMaterialization> reports;
  for (const FeatureView& view : views) {
    ASSIGN_OR_RETURN(ViewMaterialization r,
                     MaterializeView(workspace, datasets, registry, online, view, options));
    reports.push_back(std::move(r));
  }
  return reports;
}

}  // namespace ferry::features
