#include "tracking/run_record.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::tracking {
namespace {

using core::Cat;
using nlohmann::json;

constexpr size_t kMaxKeyLength = 250;
constexpr size_t kMaxNameLength = 250;

// Tables are described in docs/tracking-schema.md. Every index serves a query named
// beside it; none is there "just in case" (each costs every logged point).
constexpr store::Migration kMigrations[] = {
    {1, "create experiments, runs, params, metrics, tags, inputs, artifacts",
     "CREATE TABLE experiments ("
     " experiment_id BIGINT PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " description TEXT NOT NULL,"
     " created_at BIGINT NOT NULL);"
     "CREATE TABLE runs ("
     " run_id TEXT PRIMARY KEY,"
     " experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),"
     " name TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " start_time BIGINT NOT NULL,"
     " end_time BIGINT,"
     " source_name TEXT NOT NULL,"
     " source_sha256 TEXT NOT NULL,"
     " host TEXT NOT NULL,"
     " user_name TEXT NOT NULL);"
     // Search's default order and its keyset: newest first within experiments.
     "CREATE INDEX runs_by_start ON runs (start_time, run_id);"
     "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time, run_id);"
     "CREATE TABLE params ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (run_id, key));"
     // Filtering and ordering by a param.
     "CREATE INDEX params_by_key ON params (key, value, run_id);"
     "CREATE TABLE tags ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (run_id, key));"
     "CREATE INDEX tags_by_key ON tags (key, value, run_id);"
     // Every point; the key makes a point logged twice (a retried batch) one point.
     // NaN is value 0 with is_nan 1: SQLite stores a bound NaN as NULL.
     "CREATE TABLE metrics ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " key TEXT NOT NULL,"
     " step BIGINT NOT NULL,"
     " timestamp BIGINT NOT NULL,"
     " value DOUBLE PRECISION NOT NULL,"
     " is_nan BIGINT NOT NULL,"
     " PRIMARY KEY (run_id, key, step, timestamp, value, is_nan));"
     // The latest point of each (run, key): what search filters and orders by.
     "CREATE TABLE latest_metrics ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " key TEXT NOT NULL,"
     " step BIGINT NOT NULL,"
     " timestamp BIGINT NOT NULL,"
     " value DOUBLE PRECISION NOT NULL,"
     " is_nan BIGINT NOT NULL,"
     " PRIMARY KEY (run_id, key));"
     "CREATE INDEX latest_metrics_by_key ON latest_metrics (key, is_nan, value, run_id);"
     "CREATE TABLE run_inputs ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " dataset_version TEXT NOT NULL,"
     " role TEXT NOT NULL,"
     " PRIMARY KEY (run_id, dataset_version, role));"
     "CREATE TABLE run_artifacts ("
     " run_id TEXT NOT NULL REFERENCES runs (run_id),"
     " path TEXT NOT NULL,"
     " digest TEXT NOT NULL,"
     " size BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (run_id, path));"},
};

bool KeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '/' || c == ' ';
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "RUNNING";
    case RunStatus::kFinished:
      return "FINISHED";
    case RunStatus::kFailed:
      return "FAILED";
    case RunStatus::kKilled:
      return "KILLED";
  }
  return "UNKNOWN";
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed,
                      RunStatus::kKilled}) {
    if (upper == RunStatusName(s)) return s;
  }
  return std::nullopt;
}

std::string_view InputRoleName(InputRole role) {
  switch (role) {
    case InputRole::kTrain:
      return "train";
    case InputRole::kValidation:
      return "validation";
    case InputRole::kTest:
      return "test";
  }
  return "unknown";
}

std::optional<InputRole> ParseInputRole(std::string_view name) {
  for (InputRole r : {InputRole::kTrain, InputRole::kValidation, InputRole::kTest}) {
    if (name == InputRoleName(r)) return r;
  }
  return std::nullopt;
}

absl::Status ValidateKey(std::string_view what, std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError(Cat(what, " name is empty"));
  if (key.size() > kMaxKeyLength) {
    return absl::InvalidArgumentError(
        Cat(what, " name \"", key.substr(0, 40), "...\" is longer than ", kMaxKeyLength,
            " characters"));
  }
  for (char c : key) {
    if (!KeyChar(c)) {
      return absl::InvalidArgumentError(Cat(what, " name \"", key,
                                            "\" may only contain letters, digits, spaces and"
                                            " '_', '-', '.', '/'"));
    }
  }
  if (key.front() == '/' || key.find("..") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        Cat(what, " name \"", key, "\" must not start with '/' nor contain \"..\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateArtifactPath(std::string_view path) {
  RETURN_IF_ERROR(ValidateKey("artifact", path));
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == ".") {
      return absl::InvalidArgumentError(Cat("artifact path \"", path,
                                            "\" has an empty or \".\" part; name a file as"
                                            " DIR/NAME, relative to the run"));
    }
    if (slash == std::string_view::npos) return absl::OkStatus();
    start = slash + 1;
  }
}

absl::Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(Cat(what, " is empty"));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(Cat(what, " is longer than ", kMaxNameLength,
                                          " characters"));
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(Cat(what, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

json MetricValueToJson(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

absl::StatusOr<double> MetricValueFromJson(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "NaN") return std::nan("");
    if (text == "Infinity") return HUGE_VAL;
    if (text == "-Infinity") return -HUGE_VAL;
  }
  return absl::InvalidArgumentError(
      Cat("a metric value must be a number or \"NaN\", \"Infinity\", \"-Infinity\"; got ",
          value.dump()));
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", value);  // shortest round-trip form
}

absl::StatusOr<double> ParseMetricValue(std::string_view text) {
  std::string s(text);
  std::string lower = s;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan") return std::nan("");
  if (lower == "inf" || lower == "infinity" || lower == "+inf" || lower == "+infinity") {
    return HUGE_VAL;
  }
  if (lower == "-inf" || lower == "-infinity") return -HUGE_VAL;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || std::isnan(value) || std::isinf(value)) {
    return absl::InvalidArgumentError(
        Cat("\"", text, "\" is not a number (nor NaN, Infinity, -Infinity)"));
  }
  return value;
}

json ExperimentToJson(const Experiment& e) {
  return json{{"experiment_id", e.id},
              {"name", e.name},
              {"description", e.description},
              {"created_at", core::FormatTimestamp(e.created_at)},
              {"runs", e.runs}};
}

json RunInfoToJson(const RunInfo& r) {
  return json{{"run_id", r.run_id},
              {"experiment_id", r.experiment_id},
              {"experiment", r.experiment_name},
              {"name", r.name},
              {"status", RunStatusName(r.status)},
              {"start_time", core::FormatTimestamp(r.start_time)},
              {"end_time", r.end_time ? json(core::FormatTimestamp(*r.end_time)) : json(nullptr)},
              {"source_name", r.source_name},
              {"source_sha256", r.source_sha256.empty() ? json(nullptr) : json(r.source_sha256)},
              {"host", r.host},
              {"user", r.user}};
}

json RunToJson(const Run& run) {
  json params = json::object();
  for (const Param& p : run.params) params[p.key] = p.value;
  json tags = json::object();
  for (const Tag& t : run.tags) tags[t.key] = t.value;
  json metrics = json::object();
  for (const MetricPoint& m : run.metrics) {
    metrics[m.key] = {{"value", MetricValueToJson(m.value)},
                      {"step", m.step},
                      {"timestamp", m.timestamp}};
  }
  json out = {{"info", RunInfoToJson(run.info)},
              {"params", params},
              {"tags", tags},
              {"metrics", metrics}};
  if (!run.metric_points.empty()) out["metric_points"] = run.metric_points;
  if (!run.inputs.empty()) {
    json inputs = json::array();
    for (const RunInput& i : run.inputs) {
      inputs.push_back({{"dataset_version", i.dataset_version},
                        {"role", InputRoleName(i.role)},
                        {"content_sha256", i.content_sha256}});
    }
    out["inputs"] = inputs;
  }
  if (!run.artifacts.empty()) {
    json artifacts = json::array();
    for (const Artifact& a : run.artifacts) {
      artifacts.push_back({{"path", a.path},
                           {"digest", a.digest},
                           {"size", a.size},
                           {"created_at", core::FormatTimestamp(a.created_at)}});
    }
    out["artifacts"] = artifacts;
  }
  return out;
}

std::span<const store::Migration> TrackingMigrations() { return kMigrations; }

const char kRunColumns[] =
    "r.run_id, r.experiment_id, e.name, r.name, r.status, r.start_time, r.end_time,"
    " r.source_name, r.source_sha256, r.host, r.user_name";

RunInfo RunInfoFromRow(const store::Row& row) {
  RunInfo r;
  r.run_id = row.Text(0);
  r.experiment_id = row.Int(1);
  r.experiment_name = row.Text(2);
  r.name = row.Text(3);
  r.status = ParseRunStatus(row.Text(4)).value_or(RunStatus::kRunning);
  r.start_time = row.Int(5);
  r.end_time = row.OptionalInt(6);
  r.source_name = row.Text(7);
  r.source_sha256 = row.Text(8);
  r.host = row.Text(9);
  r.user = row.Text(10);
  return r;
}

}  // namespace ferry::tracking
