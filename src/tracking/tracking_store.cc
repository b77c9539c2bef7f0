// TrackingStore: experiments, creating and reading runs, status changes. Logging
// (batches, artifacts) is in run_logging.cc.

#include "tracking/tracking_store.h"

#include <fmt/format.h>

#include <random>

#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "lineage/lineage_graph.h"
#include "store/migrations.h"

namespace ferry::tracking {
namespace {

using core::Cat;
using store::Row;
using store::Transaction;

std::string NewRunId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

absl::Status NoRun(std::string_view run_id) {
  return absl::NotFoundError(Cat("no run with id \"", run_id, "\"; see `ferry runs list`"));
}

// The experiment named `name`, created (with the next id) when missing.
absl::StatusOr<int64_t> EnsureExperiment(Transaction& tx, std::string_view name, int64_t now) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional(
                                 "SELECT experiment_id FROM experiments WHERE name = ?", {name}));
  if (row) return row->Int(0);
  ASSIGN_OR_RETURN(auto next, tx.QueryOptional(
                                  "SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments"));
  const int64_t id = next->Int(0);
  RETURN_IF_ERROR(tx.Execute("INSERT INTO experiments (experiment_id, name, description,"
                             " created_at) VALUES (?, ?, ?, ?)",
                             {id, name, "", now})
                      .status());
  return id;
}

// The run's attributes, or nullopt for an unknown id.
absl::StatusOr<std::optional<RunInfo>> LoadRunInfo(Transaction& tx, std::string_view run_id) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional(
                                 Cat("SELECT ", kRunColumns, " FROM runs r JOIN experiments e"
                                     " ON e.experiment_id = r.experiment_id WHERE r.run_id = ?"),
                                 {run_id}));
  if (!row) return std::optional<RunInfo>();
  return std::optional<RunInfo>(RunInfoFromRow(*row));
}

Experiment ExperimentFromRow(const Row& row) {
  return Experiment{row.Int(0), row.Text(1), row.Text(2), row.Int(3),
                    row.size() > 4 ? row.Int(4) : 0};
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrackingStore>> TrackingStore::Open(
    store::Workspace& workspace, const dataset::DatasetStore& datasets) {
  const int64_t now = workspace.clock().NowMicros();
  RETURN_IF_ERROR(lineage::Migrate(workspace.metadata(), now));
  RETURN_IF_ERROR(
      store::ApplyMigrations(workspace.metadata(), "tracking", TrackingMigrations(), now).status());
  return std::unique_ptr<TrackingStore>(new TrackingStore(workspace, datasets));
}

absl::StatusOr<Experiment> TrackingStore::CreateExperiment(std::string_view name,
                                                           std::string_view description) {
  RETURN_IF_ERROR(ValidateName("experiment name", name));
  const int64_t now = workspace_.clock().NowMicros();
  Experiment experiment;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing, tx.QueryOptional(
                                        "SELECT 1 FROM experiments WHERE name = ?", {name}));
    if (existing) {
      return absl::AlreadyExistsError(Cat("experiment \"", name, "\" already exists"));
    }
    ASSIGN_OR_RETURN(int64_t id, EnsureExperiment(tx, name, now));
    RETURN_IF_ERROR(tx.Execute("UPDATE experiments SET description = ? WHERE experiment_id = ?",
                               {description, id})
                        .status());
    experiment = Experiment{id, std::string(name), std::string(description), now, 0};
    return absl::OkStatus();
  }));
  return experiment;
}

absl::StatusOr<Experiment> TrackingStore::GetExperiment(std::string_view name) const {
  std::optional<Experiment> experiment;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional(
                                   "SELECT experiment_id, name, description, created_at,"
                                   " (SELECT COUNT(*) FROM runs r WHERE r.experiment_id ="
                                   " e.experiment_id) FROM experiments e WHERE name = ?",
                                   {name}));
    if (row) experiment = ExperimentFromRow(*row);
    return absl::OkStatus();
  }));
  if (!experiment) {
    return absl::NotFoundError(
        Cat("no experiment named \"", name, "\"; see `ferry experiments list`"));
  }
  return *experiment;
}

absl::StatusOr<std::vector<Experiment>> TrackingStore::ListExperiments() const {
  std::vector<Experiment> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT e.experiment_id, e.name, e.description,"
                                         " e.created_at, COUNT(r.run_id) FROM experiments e"
                                         " LEFT JOIN runs r ON r.experiment_id = e.experiment_id"
                                         " GROUP BY e.experiment_id, e.name, e.description,"
                                         " e.created_at ORDER BY e.experiment_id"));
    for (const Row& row : rows) out.push_back(ExperimentFromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<RunInfo> TrackingStore::CreateRun(const CreateRunOptions& options) {
  RETURN_IF_ERROR(ValidateName("experiment name", options.experiment));
  if (!options.name.empty()) RETURN_IF_ERROR(ValidateName("run name", options.name));
  if (!options.source_sha256.empty() && !IsSha256Hex(options.source_sha256)) {
    return absl::InvalidArgumentError(Cat("source hash \"", options.source_sha256,
                                          "\" is not a SHA-256 (64 lowercase hex digits)"));
  }
  RETURN_IF_ERROR(ValidateBatch(options.initial));
  ASSIGN_OR_RETURN(std::vector<RunInput> inputs, ResolveInputs(options.initial.inputs));
  const int64_t now = workspace_.clock().NowMicros();
  RunInfo info;
  info.run_id = NewRunId();
  info.experiment_name = options.experiment;
  info.name = options.name.empty() ? Cat("run-", info.run_id.substr(0, 8)) : options.name;
  info.start_time = options.start_time != 0 ? options.start_time : now;
  info.source_name = options.source_name;
  info.source_sha256 = options.source_sha256;
  info.host = options.host.empty() ? core::HostName() : options.host;
  info.user = options.user;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(info.experiment_id, EnsureExperiment(tx, options.experiment, now));
    RETURN_IF_ERROR(tx.Execute("INSERT INTO runs (run_id, experiment_id, name, status,"
                               " start_time, end_time, source_name, source_sha256, host,"
                               " user_name) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                               {info.run_id, info.experiment_id, info.name,
                                RunStatusName(RunStatus::kRunning), info.start_time,
                                info.source_name, info.source_sha256, info.host, info.user})
                        .status());
    if (!info.source_sha256.empty()) {
      // The code or pipeline spec the run came from, as the root of its lineage.
      const lineage::Edge edge{{std::string(lineage::kind::kSource), info.source_sha256},
                               {std::string(lineage::kind::kRun), info.run_id},
                               "source"};
      RETURN_IF_ERROR(lineage::Record(tx, std::span(&edge, 1), now));
    }
    return WriteBatch(tx, info.run_id, options.initial, inputs, now);
  }));
  return info;
}

absl::StatusOr<RunInfo> TrackingStore::SetStatus(std::string_view run_id, RunStatus status,
                                                 int64_t end_time) {
  const int64_t now = workspace_.clock().NowMicros();
  std::optional<RunInfo> info;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, LoadRunInfo(tx, run_id));
    if (!row) return NoRun(run_id);
    info = *row;
    if (info->status == status) return absl::OkStatus();  // a retried call
    if (IsTerminal(info->status)) {
      return absl::FailedPreconditionError(Cat("run ", run_id, " is already ",
                                               RunStatusName(info->status), "; it cannot become ",
                                               RunStatusName(status)));
    }
    info->status = status;
    info->end_time = end_time != 0 ? end_time : now;
    return tx.Execute("UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                      {RunStatusName(status), *info->end_time, run_id})
        .status();
  }));
  return *info;
}

absl::Status TrackingStore::DeleteTag(std::string_view run_id, std::string_view key) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t removed,
                     tx.Execute("DELETE FROM tags WHERE run_id = ? AND key = ?", {run_id, key}));
    if (removed == 0) {
      return absl::NotFoundError(Cat("run ", run_id, " has no tag \"", key, "\""));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<RunInfo> TrackingStore::GetRunInfo(std::string_view run_id) const {
  std::optional<RunInfo> info;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, LoadRunInfo(tx, run_id));
    info = std::move(row);
    return absl::OkStatus();
  }));
  if (!info) return NoRun(run_id);
  return *info;
}

absl::StatusOr<Run> TrackingStore::GetRun(std::string_view run_id) const {
  Run run;
  bool found = false;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, LoadRunInfo(tx, run_id));
    if (!row) return absl::OkStatus();
    found = true;
    run.info = *row;
    ASSIGN_OR_RETURN(auto params, tx.Query("SELECT key, value FROM params WHERE run_id = ?"
                                           " ORDER BY key",
                                           {run_id}));
    for (const Row& r : params) run.params.push_back({r.Text(0), r.Text(1)});
    ASSIGN_OR_RETURN(auto tags, tx.Query("SELECT key, value FROM tags WHERE run_id = ?"
                                         " ORDER BY key",
                                         {run_id}));
    for (const Row& r : tags) run.tags.push_back({r.Text(0), r.Text(1)});
    ASSIGN_OR_RETURN(auto latest, tx.Query("SELECT key, value, is_nan, step, timestamp FROM"
                                           " latest_metrics WHERE run_id = ? ORDER BY key",
                                           {run_id}));
    for (const Row& r : latest) {
      run.metrics.push_back({r.Text(0), r.Int(2) != 0 ? std::nan("") : r.Double(1), r.Int(3),
                             r.Int(4)});
    }
    ASSIGN_OR_RETURN(auto counts, tx.Query("SELECT key, COUNT(*) FROM metrics WHERE run_id = ?"
                                           " GROUP BY key ORDER BY key",
                                           {run_id}));
    for (const Row& r : counts) run.metric_points[r.Text(0)] = r.Int(1);
    ASSIGN_OR_RETURN(auto inputs, tx.Query("SELECT dataset_version, role FROM run_inputs"
                                           " WHERE run_id = ? ORDER BY role, dataset_version",
                                           {run_id}));
    for (const Row& r : inputs) {
      run.inputs.push_back(
          {r.Text(0), ParseInputRole(r.Text(1)).value_or(InputRole::kTrain), ""});
    }
    ASSIGN_OR_RETURN(auto artifacts, tx.Query("SELECT path, digest, size, created_at FROM"
                                              " run_artifacts WHERE run_id = ? ORDER BY path",
                                              {run_id}));
    for (const Row& r : artifacts) {
      run.artifacts.push_back({r.Text(0), r.Text(1), r.Int(2), r.Int(3)});
    }
    return absl::OkStatus();
  }));
  if (!found) return NoRun(run_id);
  for (RunInput& input : run.inputs) {
    absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(input.dataset_version);
    if (!ref.ok()) continue;
    absl::StatusOr<dataset::VersionRecord> version = datasets_.Resolve(*ref);
    if (version.ok()) input.content_sha256 = version->content_sha256;
  }
  return run;
}

absl::StatusOr<std::vector<MetricPoint>> TrackingStore::MetricHistory(std::string_view run_id,
                                                                      std::string_view key) const {
  std::vector<MetricPoint> points;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto run, tx.QueryOptional("SELECT 1 FROM runs WHERE run_id = ?", {run_id}));
    if (!run) return NoRun(run_id);
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT value, is_nan, step, timestamp FROM metrics"
                                         " WHERE run_id = ? AND key = ?"
                                         " ORDER BY step, timestamp, value",
                                         {run_id, key}));
    for (const Row& r : rows) {
      points.push_back({std::string(key), r.Int(1) != 0 ? std::nan("") : r.Double(0), r.Int(2),
                        r.Int(3)});
    }
    return absl::OkStatus();
  }));
  if (points.empty()) {
    return absl::NotFoundError(Cat("run ", run_id, " has no metric \"", key, "\""));
  }
  return points;
}

}  // namespace ferry::tracking
