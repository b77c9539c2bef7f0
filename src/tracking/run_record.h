#pragma once

// The records of experiment tracking -- experiments, runs and what runs log -- and the
// "tracking" schema migrations that hold them (tables in docs/tracking-schema.md).
//
// A run belongs to one experiment and moves through a status lifecycle: it starts
// RUNNING and ends once, as FINISHED, FAILED or KILLED. While it runs it logs:
//   - params: key -> text, immutable once logged (the same value again is a no-op);
//   - metrics: series of (key, value, step, timestamp) points; values may be NaN or
//     +-infinity and are stored as such (NaN as an is_nan flag, since SQLite turns a
//     bound NaN into NULL);
//   - tags: key -> text, which may be overwritten (and set on finished runs too: they
//     annotate a run, they are not its results);
//   - inputs: dataset versions with a role (train, validation, test), also recorded
//     as lineage edges dataset_version -> run;
//   - artifacts: files stored in the object store, listed under the run.
// The latest value of each metric (highest step, then timestamp, then value, as
// MLflow's latest_metrics) is kept in its own table, so searching and ordering by a
// metric never reads a series.
//
// Thread-safety: value types and pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "store/metadata_store.h"
#include "store/migrations.h"

namespace ferry::tracking {

enum class RunStatus : uint8_t { kRunning, kFinished, kFailed, kKilled };
// "RUNNING", "FINISHED", "FAILED", "KILLED".
std::string_view RunStatusName(RunStatus status);
// Accepts the names in any case. nullopt for anything else.
std::optional<RunStatus> ParseRunStatus(std::string_view name);
inline bool IsTerminal(RunStatus status) { return status != RunStatus::kRunning; }

enum class InputRole : uint8_t { kTrain, kValidation, kTest };
// "train", "validation", "test".
std::string_view InputRoleName(InputRole role);
std::optional<InputRole> ParseInputRole(std::string_view name);

struct Experiment {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t created_at = 0;  // microseconds since the epoch
  int64_t runs = 0;        // filled by ListExperiments
};

struct Param {
  std::string key;
  std::string value;
  friend bool operator==(const Param&, const Param&) = default;
};

struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
};

struct MetricPoint {
  std::string key;
  double value = 0;        // may be NaN or +-infinity
  int64_t step = 0;
  int64_t timestamp = 0;   // microseconds since the epoch; 0: "now" when logged
};

struct RunInput {
  std::string dataset_version;  // "NAME@N", resolved when logged
  InputRole role = InputRole::kTrain;
  std::string content_sha256;   // of the version's bytes (filled by readers)
};

struct Artifact {
  std::string path;    // the name under the run, e.g. "model.json"
  std::string digest;  // object store digest (hex)
  int64_t size = 0;
  int64_t created_at = 0;
};

struct RunInfo {
  std::string run_id;  // 32 hex digits
  int64_t experiment_id = 0;
  std::string experiment_name;
  std::string name;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string source_name;    // what the source hash is of: a file name, "git:...", ...
  std::string source_sha256;  // the code or pipeline spec hash; empty when not given
  std::string host;
  std::string user;
};

// A run with what it logged, for `runs show` and search results. Search results carry
// the latest metric values only (`metrics`); `ferry runs show` adds series lengths.
struct Run {
  RunInfo info;
  std::vector<Param> params;                 // by key
  std::vector<Tag> tags;                     // by key
  std::vector<MetricPoint> metrics;          // latest point of each key, by key
  std::map<std::string, int64_t> metric_points;  // points per key (only for GetRun)
  std::vector<RunInput> inputs;              // (only for GetRun)
  std::vector<Artifact> artifacts;           // (only for GetRun)
};

// Key names of params, metrics and tags: 1-250 characters of letters, digits and
// "_-./ " (as MLflow allows), not starting with '/' nor holding "..". InvalidArgument
// naming `what` otherwise.
absl::Status ValidateKey(std::string_view what, std::string_view key);
// A run artifact's path ("model.json", "outputs/scores.csv"): a key (ValidateKey) whose
// '/'-separated parts are none of them empty or ".", so it reads as one relative path
// inside the run wherever it is written out. InvalidArgument otherwise.
absl::Status ValidateArtifactPath(std::string_view path);
// Experiment and run names: 1-250 printable characters without control characters.
absl::Status ValidateName(std::string_view what, std::string_view name);

// JSON shapes (the API's and `--json`'s; docs/tracking-schema.md):
//   metric value: a number, or the strings "NaN", "Infinity", "-Infinity" (JSON has
//     no number for them); timestamps of points as integer microseconds.
nlohmann::json MetricValueToJson(double value);
// Accepts a number or one of those three strings. InvalidArgument otherwise.
absl::StatusOr<double> MetricValueFromJson(const nlohmann::json& value);
// "NaN", "Infinity", "-Infinity" or the shortest text that reads back the same.
std::string FormatMetricValue(double value);
// Parses what FormatMetricValue writes, and "nan", "inf", "-inf" in any case.
absl::StatusOr<double> ParseMetricValue(std::string_view text);

nlohmann::json ExperimentToJson(const Experiment& experiment);
nlohmann::json RunInfoToJson(const RunInfo& info);
// {"info": ..., "params": {k: v}, "tags": {k: v}, "metrics": {k: {value, step,
// timestamp}}, and when present "metric_points", "inputs", "artifacts"}.
nlohmann::json RunToJson(const Run& run);

// The "tracking" component's migrations, applied by TrackingStore::Open.
std::span<const store::Migration> TrackingMigrations();

// The columns of runs joined with experiments, in the order RunInfoFromRow reads, for
// "SELECT <kRunColumns> FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id".
extern const char kRunColumns[];
RunInfo RunInfoFromRow(const store::Row& row);

}  // namespace ferry::tracking
