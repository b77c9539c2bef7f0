// TrackingStore: logging into runs -- batches of params, metrics, tags and inputs,
// and artifacts.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "lineage/lineage_graph.h"
#include "store/store_lock.h"
#include "tracking/tracking_store.h"

namespace ferry::tracking {
namespace {

// Stores metric points with few statements: up to kPointsPerStatement rows each, in
// statements of a handful of fixed sizes (so each engine prepares only those). On
// PostgreSQL every statement is a round trip to the server; a batch's points go in one.
constexpr size_t kPointsPerStatement = 64;

const std::string& InsertPointsSql(size_t rows) {
  static const auto* sql = [] {
    auto* texts = new std::map<size_t, std::string>();
    for (size_t n : {size_t{1}, size_t{4}, size_t{16}, kPointsPerStatement}) {
      std::string text =
          "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES ";
      for (size_t i = 0; i < n; ++i) text += i == 0 ? "(?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?)";
      text += " ON CONFLICT DO NOTHING";
      texts->emplace(n, std::move(text));
    }
    return texts;
  }();
  return sql->at(rows);
}

absl::Status InsertPoints(store::Transaction& tx, const std::string& run_id,
                          std::span<const MetricPoint> points) {
  std::vector<store::Value> params;
  params.reserve(std::min(points.size(), kPointsPerStatement) * 6);
  while (!points.empty()) {
    size_t rows = kPointsPerStatement;
    while (rows > points.size()) rows /= 4;
    params.clear();
    for (const MetricPoint& m : points.first(rows)) {
      const bool nan = std::isnan(m.value);
      params.insert(params.end(), {run_id, m.key, m.step, m.timestamp, nan ? 0.0 : m.value, nan});
    }
    RETURN_IF_ERROR(tx.Execute(InsertPointsSql(rows), params).status());
    points = points.subspan(rows);
  }
  return absl::OkStatus();
}

using core::Cat;
using store::Transaction;

constexpr std::chrono::seconds kLockTimeout{60};

// Orders points as MLflow picks a series' latest value: step, then timestamp, then
// value (NaN below every number).
bool Later(const MetricPoint& a, const MetricPoint& b) {
  if (a.step != b.step) return a.step > b.step;
  if (a.timestamp != b.timestamp) return a.timestamp > b.timestamp;
  if (std::isnan(b.value)) return !std::isnan(a.value);
  return !std::isnan(a.value) && a.value > b.value;
}

absl::Status CheckValue(std::string_view what, std::string_view key, std::string_view value) {
  if (value.size() > RunBatch::kMaxValueBytes) {
    return absl::InvalidArgumentError(
        Cat(what, " \"", key, "\": value is longer than ", RunBatch::kMaxValueBytes, " bytes"));
  }
  return absl::OkStatus();
}

// The run's status, checked for a batch. NotFound, or FailedPrecondition when it has
// ended and the batch logs more than tags.
absl::Status CheckRunAcceptsBatch(Transaction& tx, std::string_view run_id, bool only_tags) {
  ASSIGN_OR_RETURN(auto row,
                   tx.QueryOptional("SELECT status FROM runs WHERE run_id = ?", {run_id}));
  if (!row) {
    return absl::NotFoundError(Cat("no run with id \"", run_id, "\"; see `ferry runs list`"));
  }
  std::optional<RunStatus> status = ParseRunStatus(row->Text(0));
  if (status && IsTerminal(*status) && !only_tags) {
    return absl::FailedPreconditionError(
        Cat("run ", run_id, " is ", RunStatusName(*status),
            "; a run that has ended takes no more params, metrics, inputs or artifacts"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBatch(const RunBatch& batch) {
  if (batch.metrics.size() > RunBatch::kMaxBatchMetrics) {
    return absl::InvalidArgumentError(Cat("a batch holds at most ", RunBatch::kMaxBatchMetrics,
                                          " metric points, got ", batch.metrics.size()));
  }
  if (batch.params.size() > RunBatch::kMaxBatchParams) {
    return absl::InvalidArgumentError(Cat("a batch holds at most ", RunBatch::kMaxBatchParams,
                                          " params, got ", batch.params.size()));
  }
  if (batch.tags.size() > RunBatch::kMaxBatchTags) {
    return absl::InvalidArgumentError(
        Cat("a batch holds at most ", RunBatch::kMaxBatchTags, " tags, got ", batch.tags.size()));
  }
  std::map<std::string_view, std::string_view> params;
  for (const Param& p : batch.params) {
    RETURN_IF_ERROR(ValidateKey("param", p.key));
    RETURN_IF_ERROR(CheckValue("param", p.key, p.value));
    auto [it, inserted] = params.emplace(p.key, p.value);
    if (!inserted && it->second != p.value) {
      return absl::InvalidArgumentError(Cat("param \"", p.key,
                                            "\" appears twice in one batch,"
                                            " as \"",
                                            it->second, "\" and \"", p.value, "\""));
    }
  }
  for (const MetricPoint& m : batch.metrics) RETURN_IF_ERROR(ValidateKey("metric", m.key));
  for (const Tag& t : batch.tags) {
    RETURN_IF_ERROR(ValidateKey("tag", t.key));
    RETURN_IF_ERROR(CheckValue("tag", t.key, t.value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RunInput>> TrackingStore::ResolveInputs(
    const std::vector<InputSpec>& specs) const {
  std::vector<RunInput> inputs;
  for (const InputSpec& spec : specs) {
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(spec.dataset));
    ASSIGN_OR_RETURN(dataset::VersionRecord version, datasets_.Resolve(ref));
    inputs.push_back({version.Ref(), spec.role, version.content_sha256});
  }
  return inputs;
}

absl::Status TrackingStore::LogBatch(std::string_view run_id, const RunBatch& batch) {
  RETURN_IF_ERROR(ValidateBatch(batch));
  if (batch.empty()) return GetRunInfo(run_id).status();  // nothing to log, but a known run
  ASSIGN_OR_RETURN(std::vector<RunInput> inputs, ResolveInputs(batch.inputs));
  const int64_t now = workspace_.clock().NowMicros();
  const std::string id(run_id);
  const bool only_tags = batch.params.empty() && batch.metrics.empty() && batch.inputs.empty();
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckRunAcceptsBatch(tx, id, only_tags));
    return WriteBatch(tx, id, batch, inputs, now);
  });
}

absl::Status TrackingStore::WriteBatch(Transaction& tx, const std::string& run_id,
                                       const RunBatch& batch, const std::vector<RunInput>& inputs,
                                       int64_t now) const {
  for (const Param& p : batch.params) {
    ASSIGN_OR_RETURN(int64_t added, tx.Execute("INSERT INTO params (run_id, key, value)"
                                               " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                               {run_id, p.key, p.value}));
    if (added == 1) continue;
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT value FROM params WHERE run_id = ?"
                                                " AND key = ?",
                                                {run_id, p.key}));
    if (row && row->Text(0) != p.value) {
      return absl::AlreadyExistsError(Cat("param \"", p.key, "\" of run ", run_id, " is already \"",
                                          row->Text(0), "\"; params cannot change (tried \"",
                                          p.value, "\")"));
    }
  }
  // Every point, and per key the batch's latest one, which replaces the stored latest
  // value only if it is later still.
  std::map<std::string_view, const MetricPoint*> latest;
  std::vector<MetricPoint> stamped;
  stamped.reserve(batch.metrics.size());
  for (const MetricPoint& m : batch.metrics) {
    MetricPoint& point = stamped.emplace_back(m);
    if (point.timestamp == 0) point.timestamp = now;
  }
  RETURN_IF_ERROR(InsertPoints(tx, run_id, stamped));
  for (const MetricPoint& m : stamped) {
    auto [it, inserted] = latest.emplace(m.key, &m);
    if (!inserted && Later(m, *it->second)) it->second = &m;
  }
  for (const auto& [key, m] : latest) {
    const bool nan = std::isnan(m->value);
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan)"
                   " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET"
                   " step = excluded.step, timestamp = excluded.timestamp,"
                   " value = excluded.value, is_nan = excluded.is_nan"
                   " WHERE excluded.step > latest_metrics.step"
                   " OR (excluded.step = latest_metrics.step"
                   " AND (excluded.timestamp > latest_metrics.timestamp"
                   " OR (excluded.timestamp = latest_metrics.timestamp"
                   " AND excluded.is_nan = 0 AND (latest_metrics.is_nan = 1"
                   " OR excluded.value > latest_metrics.value))))",
                   {run_id, m->key, m->step, m->timestamp, nan ? 0.0 : m->value, nan})
            .status());
  }
  for (const Tag& t : batch.tags) {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"
                               " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                               {run_id, t.key, t.value})
                        .status());
  }
  std::vector<lineage::Edge> edges;
  for (const RunInput& input : inputs) {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO run_inputs (run_id, dataset_version, role)"
                               " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               {run_id, input.dataset_version, InputRoleName(input.role)})
                        .status());
    edges.push_back({{std::string(lineage::kind::kDatasetVersion), input.dataset_version},
                     {std::string(lineage::kind::kRun), run_id},
                     std::string(InputRoleName(input.role))});
  }
  return lineage::Record(tx, edges, now);
}

absl::StatusOr<Artifact> TrackingStore::LogArtifact(std::string_view run_id,
                                                    const std::filesystem::path& file,
                                                    std::string_view path) {
  const std::string name = path.empty() ? file.filename().string() : std::string(path);
  RETURN_IF_ERROR(ValidateArtifactPath(name));
  RETURN_IF_ERROR(GetRunInfo(run_id).status());
  // The object is written under the shared store lock and listed in object_roots
  // before the lock is released, so a concurrent gc cannot take it.
  ASSIGN_OR_RETURN(store::StoreLock lock,
                   store::StoreLock::Acquire(workspace_.ferry_dir() / "store.lock",
                                             store::StoreLock::Mode::kShared, kLockTimeout));
  ASSIGN_OR_RETURN(store::PutResult put, workspace_.objects().PutFile(file));
  const int64_t now = workspace_.clock().NowMicros();
  Artifact artifact{name, put.digest.ToHex(), static_cast<int64_t>(put.size), now};
  const std::string id(run_id);
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckRunAcceptsBatch(tx, id, /*only_tags=*/false));
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT digest, size, created_at FROM"
                                                " run_artifacts WHERE run_id = ? AND path = ?",
                                                {id, name}));
    if (row) {
      if (row->Text(0) != artifact.digest) {
        return absl::AlreadyExistsError(
            Cat("run ", id, " already has a different artifact \"", name, "\""));
      }
      artifact = Artifact{name, row->Text(0), row->Int(1), row->Int(2)};
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(tx.Execute("INSERT INTO run_artifacts (run_id, path, digest, size,"
                               " created_at) VALUES (?, ?, ?, ?, ?)",
                               {id, name, artifact.digest, artifact.size, now})
                        .status());
    return tx
        .Execute(
            "INSERT INTO object_roots (owner, digest) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            {Cat("run:", id), artifact.digest})
        .status();
  }));
  return artifact;
}

}  // namespace ferry::tracking
