#include "pipeline/run_store.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/clock.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/migrations.h"

namespace ferry::pipeline {
namespace {

using core::Cat;
using nlohmann::json;
using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create pipelines, runs, steps, the run cache and trigger records",
     "CREATE TABLE pipelines ("
     " name TEXT PRIMARY KEY,"
     " source TEXT NOT NULL,"
     " spec TEXT NOT NULL,"
     " spec_sha256 TEXT NOT NULL,"
     " spec_dir TEXT NOT NULL,"
     " applied_at BIGINT NOT NULL,"
     " applied_by TEXT NOT NULL);"
     "CREATE TABLE pipeline_runs ("
     " id TEXT PRIMARY KEY,"
     " pipeline TEXT NOT NULL,"
     " number BIGINT NOT NULL,"
     " spec TEXT NOT NULL,"
     " spec_sha256 TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " spec_dir TEXT NOT NULL,"
     " params TEXT NOT NULL,"
     " inputs TEXT NOT NULL,"
     " state TEXT NOT NULL,"
     " trigger_kind TEXT NOT NULL,"
     " trigger_detail TEXT NOT NULL,"
     " actor TEXT NOT NULL,"
     " tracking_run TEXT NOT NULL,"
     " reproduce_of TEXT NOT NULL,"
     " force BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " started_at BIGINT,"
     " ended_at BIGINT,"
     " heartbeat_at BIGINT,"
     " executor_host TEXT NOT NULL,"
     " executor_pid BIGINT NOT NULL,"
     " cancel_requested BIGINT NOT NULL,"
     " error TEXT NOT NULL);"
     "CREATE UNIQUE INDEX pipeline_runs_by_number ON pipeline_runs (pipeline, number);"
     "CREATE INDEX pipeline_runs_by_state ON pipeline_runs (state, pipeline);"
     "CREATE TABLE pipeline_steps ("
     " run TEXT NOT NULL,"
     " step TEXT NOT NULL,"
     " position BIGINT NOT NULL,"
     " state TEXT NOT NULL,"
     " attempts BIGINT NOT NULL,"
     " tracking_run TEXT NOT NULL,"
     " cache_key TEXT NOT NULL,"
     " cached_from TEXT NOT NULL,"
     " outputs TEXT NOT NULL,"
     " note TEXT NOT NULL,"
     " error TEXT NOT NULL,"
     " started_at BIGINT NOT NULL,"
     " ended_at BIGINT,"
     " PRIMARY KEY (run, step));"
     "CREATE TABLE pipeline_cache ("
     " cache_key TEXT PRIMARY KEY,"
     " pipeline TEXT NOT NULL,"
     " step TEXT NOT NULL,"
     " run TEXT NOT NULL,"
     " tracking_run TEXT NOT NULL,"
     " outputs TEXT NOT NULL,"
     " created_at BIGINT NOT NULL);"
     "CREATE TABLE pipeline_trigger_events ("
     " id BIGINT PRIMARY KEY,"
     " pipeline TEXT NOT NULL,"
     " kind TEXT NOT NULL,"
     " detail TEXT NOT NULL,"
     " at BIGINT NOT NULL,"
     " outcome TEXT NOT NULL,"
     " run TEXT NOT NULL);"
     "CREATE INDEX pipeline_trigger_events_by_pipeline ON pipeline_trigger_events (pipeline, id);"
     "CREATE TABLE pipeline_trigger_state ("
     " pipeline TEXT NOT NULL,"
     " trigger_key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " updated_at BIGINT NOT NULL,"
     " PRIMARY KEY (pipeline, trigger_key));"},
};

constexpr std::string_view kRunStates[] = {"queued", "running", "succeeded", "failed", "cancelled"};
constexpr std::string_view kStepStates[] = {"pending", "running", "succeeded",       "failed",
                                            "cached",  "skipped", "upstream_failed", "cancelled"};

constexpr char kRunColumns[] =
    "id, pipeline, number, spec, spec_sha256, source, spec_dir, params, inputs, state,"
    " trigger_kind, trigger_detail, actor, tracking_run, reproduce_of, force, created_at,"
    " started_at, ended_at, heartbeat_at, executor_host, executor_pid, cancel_requested, error";
constexpr char kStepColumns[] =
    "step, state, attempts, tracking_run, cache_key, cached_from, outputs, note, error,"
    " started_at, ended_at";

std::string NewRunId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string MapJson(const std::map<std::string, std::string>& map) { return json(map).dump(); }

std::map<std::string, std::string> MapOf(const std::string& text) {
  std::map<std::string, std::string> out;
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_object()) return out;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
  }
  return out;
}

absl::StatusOr<RunRecord> RunFromRow(const Row& row) {
  RunRecord r;
  r.id = row.Text(0);
  r.pipeline = row.Text(1);
  r.number = row.Int(2);
  r.spec = row.Text(3);
  r.spec_sha256 = row.Text(4);
  r.source = row.Text(5);
  r.spec_dir = row.Text(6);
  r.params = MapOf(row.Text(7));
  ASSIGN_OR_RETURN(r.inputs, StepValuesFromJson(row.Text(8)));
  ASSIGN_OR_RETURN(r.state, ParseRunState(row.Text(9)));
  r.trigger = row.Text(10);
  r.trigger_detail = row.Text(11);
  r.actor = row.Text(12);
  r.tracking_run = row.Text(13);
  r.reproduce_of = row.Text(14);
  r.force = row.Int(15) != 0;
  r.created_at = row.Int(16);
  r.started_at = row.OptionalInt(17);
  r.ended_at = row.OptionalInt(18);
  r.heartbeat_at = row.OptionalInt(19);
  r.executor_host = row.Text(20);
  r.executor_pid = row.Int(21);
  r.cancel_requested = row.Int(22) != 0;
  r.error = row.Text(23);
  return r;
}

absl::StatusOr<StepRecord> StepFromRow(const Row& row) {
  StepRecord s;
  s.step = row.Text(0);
  ASSIGN_OR_RETURN(s.state, ParseStepState(row.Text(1)));
  s.attempts = static_cast<int>(row.Int(2));
  s.tracking_run = row.Text(3);
  s.cache_key = row.Text(4);
  s.cached_from = row.Text(5);
  ASSIGN_OR_RETURN(s.outputs, StepValuesFromJson(row.Text(6)));
  s.note = row.Text(7);
  s.error = row.Text(8);
  s.started_at = row.Int(9);
  s.ended_at = row.OptionalInt(10);
  return s;
}

// The run `id` names: the whole id, or a unique prefix of at least 4 hex digits.
absl::StatusOr<std::string> ResolveRunId(Transaction& tx, std::string_view id) {
  const bool hex = !id.empty() && id.size() <= 32 &&
                   id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (!hex || id.size() < 4) {
    return absl::InvalidArgumentError(
        Cat("\"", id, "\" is not a pipeline run id (32 hex digits, or at least 4 of them)"));
  }
  // Prefix match with a range, not LIKE: ids are lowercase hex, so every id starting
  // with the prefix sorts in [prefix, prefix + "g").
  ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id FROM pipeline_runs WHERE id >= ? AND id < ?"
                                       " ORDER BY id LIMIT 2",
                                       {std::string(id), Cat(id, "g")}));
  if (rows.empty()) {
    return absl::NotFoundError(Cat("no pipeline run \"", id, "\"; see `ferry pipeline list`"));
  }
  if (rows.size() > 1) {
    return absl::InvalidArgumentError(
        Cat("\"", id, "\" names more than one pipeline run; give more of the id"));
  }
  return rows.front().Text(0);
}

}  // namespace

std::string_view RunStateName(RunState state) { return kRunStates[static_cast<size_t>(state)]; }

absl::StatusOr<RunState> ParseRunState(std::string_view text) {
  for (size_t i = 0; i < std::size(kRunStates); ++i) {
    if (kRunStates[i] == text) return static_cast<RunState>(i);
  }
  return absl::InvalidArgumentError(Cat("unknown pipeline run state \"", text,
                                        "\" (queued, running, succeeded, failed, cancelled)"));
}

std::string_view StepStateName(StepState state) { return kStepStates[static_cast<size_t>(state)]; }

absl::StatusOr<StepState> ParseStepState(std::string_view text) {
  for (size_t i = 0; i < std::size(kStepStates); ++i) {
    if (kStepStates[i] == text) return static_cast<StepState>(i);
  }
  return absl::DataLossError(Cat("unknown pipeline step state \"", text, "\""));
}

namespace {

json ValuesJson(const std::map<std::string, StepValue>& values) {
  json out = json::object();
  for (const auto& [name, v] : values) {
    out[name] = {
        {"kind", ValueKindName(v.kind)}, {"ref", v.ref}, {"sha256", v.sha256}, {"run", v.run_id}};
  }
  return out;
}

json TimeJson(std::optional<int64_t> micros) {
  return micros && *micros != 0 ? json(core::FormatTimestamp(*micros)) : json(nullptr);
}

}  // namespace

json RunToJson(const RunRecord& r) {
  json steps = json::array();
  for (const StepRecord& s : r.steps) {
    steps.push_back({{"step", s.step},
                     {"state", StepStateName(s.state)},
                     {"attempts", s.attempts},
                     {"tracking_run", s.tracking_run},
                     {"cached_from", s.cached_from},
                     {"outputs", ValuesJson(s.outputs)},
                     {"note", s.note},
                     {"error", s.error},
                     {"started_at", TimeJson(s.started_at)},
                     {"ended_at", TimeJson(s.ended_at)}});
  }
  return {{"id", r.id},
          {"pipeline", r.pipeline},
          {"number", r.number},
          {"state", RunStateName(r.state)},
          {"trigger", r.trigger},
          {"trigger_detail", r.trigger_detail},
          {"params", r.params},
          {"inputs", ValuesJson(r.inputs)},
          {"actor", r.actor},
          {"tracking_run", r.tracking_run},
          {"reproduce_of", r.reproduce_of},
          {"force", r.force},
          {"created_at", TimeJson(r.created_at)},
          {"started_at", TimeJson(r.started_at)},
          {"ended_at", TimeJson(r.ended_at)},
          {"cancel_requested", r.cancel_requested},
          {"error", r.error},
          {"source", r.source},
          {"spec_sha256", r.spec_sha256},
          {"steps", std::move(steps)}};
}

json TriggerEventToJson(const TriggerEvent& e) {
  return {{"id", e.id},           {"pipeline", e.pipeline}, {"kind", e.kind}, {"detail", e.detail},
          {"at", TimeJson(e.at)}, {"outcome", e.outcome},   {"run", e.run}};
}

std::string StepValuesToJson(const std::map<std::string, StepValue>& values) {
  return ValuesJson(values).dump();
}

absl::StatusOr<std::map<std::string, StepValue>> StepValuesFromJson(std::string_view text) {
  std::map<std::string, StepValue> out;
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_object()) return absl::DataLossError("a damaged pipeline value record");
  for (const auto& [name, v] : parsed.items()) {
    if (!v.is_object() || !v.contains("kind") || !v["kind"].is_string()) {
      return absl::DataLossError(Cat("a damaged pipeline value record for \"", name, "\""));
    }
    StepValue value;
    const std::string kind = v["kind"].get<std::string>();
    value.kind = kind == "dataset" ? ValueKind::kDataset
                 : kind == "model" ? ValueKind::kModel
                                   : ValueKind::kFile;
    value.ref = v.value("ref", "");
    value.sha256 = v.value("sha256", "");
    value.run_id = v.value("run", "");
    out[name] = std::move(value);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PipelineRunStore>> PipelineRunStore::Open(
    store::Workspace& workspace) {
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), "pipelines", kMigrations,
                                         workspace.clock().NowMicros())
                      .status());
  return std::unique_ptr<PipelineRunStore>(new PipelineRunStore(workspace));
}

absl::StatusOr<AppliedPipeline> PipelineRunStore::Apply(const AppliedPipeline& pipeline) {
  AppliedPipeline out = pipeline;
  out.spec_sha256 = core::Sha256::Of(pipeline.spec).ToHex();
  out.applied_at = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM pipelines WHERE name = ?", {out.name}).status());
    return tx
        .Execute(
            "INSERT INTO pipelines (name, source, spec, spec_sha256, spec_dir, applied_at,"
            " applied_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {out.name, out.source, out.spec, out.spec_sha256, out.spec_dir, out.applied_at,
             out.applied_by})
        .status();
  }));
  return out;
}

absl::StatusOr<std::vector<AppliedPipeline>> PipelineRunStore::Applied() const {
  std::vector<AppliedPipeline> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name, source, spec, spec_sha256, spec_dir,"
                                         " applied_at, applied_by FROM pipelines ORDER BY name"));
    for (const Row& row : rows) {
      out.push_back({row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Int(5),
                     row.Text(6)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<AppliedPipeline> PipelineRunStore::GetApplied(std::string_view name) const {
  ASSIGN_OR_RETURN(std::vector<AppliedPipeline> all, Applied());
  for (AppliedPipeline& p : all) {
    if (p.name == name) return std::move(p);
  }
  return absl::NotFoundError(
      Cat("no pipeline named \"", name, "\" is applied; see `ferry pipeline apply FILE`"));
}

absl::Status PipelineRunStore::Remove(std::string_view name) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t n, tx.Execute("DELETE FROM pipelines WHERE name = ?", {name}));
    if (n == 0) return absl::NotFoundError(Cat("no pipeline named \"", name, "\" is applied"));
    return tx.Execute("DELETE FROM pipeline_trigger_state WHERE pipeline = ?", {name}).status();
  });
}

absl::StatusOr<RunRecord> PipelineRunStore::CreateRun(const NewRun& run) {
  RunRecord r;
  r.id = NewRunId();
  r.pipeline = run.pipeline;
  r.spec = run.spec;
  r.spec_sha256 = core::Sha256::Of(run.spec).ToHex();
  r.source = run.source;
  r.spec_dir = run.spec_dir;
  r.params = run.params;
  r.state = run.state;
  r.trigger = run.trigger;
  r.trigger_detail = run.trigger_detail;
  r.actor = run.actor;
  r.reproduce_of = run.reproduce_of;
  r.force = run.force;
  r.created_at = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto next, tx.QueryOptional("SELECT COALESCE(MAX(number), 0) + 1 FROM"
                                                 " pipeline_runs WHERE pipeline = ?",
                                                 {r.pipeline}));
    r.number = next->Int(0);
    return tx
        .Execute(Cat("INSERT INTO pipeline_runs (", kRunColumns,
                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL,"
                     " NULL, '', 0, 0, '')"),
                 {r.id, r.pipeline, r.number, r.spec, r.spec_sha256, r.source, r.spec_dir,
                  MapJson(r.params), StepValuesToJson({}), RunStateName(r.state), r.trigger,
                  r.trigger_detail, r.actor, "", r.reproduce_of, r.force ? 1 : 0, r.created_at})
        .status();
  }));
  return r;
}

absl::Status PipelineRunStore::StartRun(std::string_view id,
                                        const std::map<std::string, StepValue>& inputs,
                                        std::string_view tracking_run, std::string_view host,
                                        int64_t pid) {
  const int64_t now = workspace_.clock().NowMicros();
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t n,
                     tx.Execute("UPDATE pipeline_runs SET state = 'running', inputs = ?,"
                                " tracking_run = ?, executor_host = ?, executor_pid = ?,"
                                " started_at = ?, heartbeat_at = ? WHERE id = ? AND"
                                " state = 'queued' AND cancel_requested = 0",
                                {StepValuesToJson(inputs), tracking_run, host, pid, now, now, id}));
    if (n == 0) {
      return absl::FailedPreconditionError(
          Cat("pipeline run ", id, " is no longer queued (taken or cancelled)"));
    }
    return absl::OkStatus();
  });
}

absl::Status PipelineRunStore::MarkLaunched(std::string_view id, std::string_view host,
                                            int64_t pid) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    return tx
        .Execute(
            "UPDATE pipeline_runs SET executor_host = ?, executor_pid = ? WHERE id = ? AND"
            " state = 'queued'",
            {host, pid, id})
        .status();
  });
}

absl::Status PipelineRunStore::Heartbeat(std::string_view id) {
  const int64_t now = workspace_.clock().NowMicros();
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    return tx.Execute("UPDATE pipeline_runs SET heartbeat_at = ? WHERE id = ?", {now, id}).status();
  });
}

absl::Status PipelineRunStore::EndRun(std::string_view id, RunState state, std::string_view error) {
  const int64_t now = workspace_.clock().NowMicros();
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    return tx
        .Execute(
            "UPDATE pipeline_runs SET state = ?, error = ?, ended_at = ? WHERE id = ? AND"
            " state IN ('queued', 'running')",
            {RunStateName(state), error, now, id})
        .status();
  });
}

absl::StatusOr<RunRecord> PipelineRunStore::RequestCancel(std::string_view id) {
  const int64_t now = workspace_.clock().NowMicros();
  RunRecord out;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(const std::string full, ResolveRunId(tx, id));
    ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOptional(Cat("SELECT ", kRunColumns, " FROM pipeline_runs WHERE id = ?"), {full}));
    ASSIGN_OR_RETURN(out, RunFromRow(*row));
    if (IsEnded(out.state)) {
      return absl::FailedPreconditionError(
          Cat("pipeline run ", full.substr(0, 8), " already ", RunStateName(out.state)));
    }
    if (out.state == RunState::kQueued) {
      out.state = RunState::kCancelled;
      out.ended_at = now;
      return tx
          .Execute(
              "UPDATE pipeline_runs SET state = 'cancelled', cancel_requested = 1,"
              " ended_at = ?, error = 'cancelled before it started' WHERE id = ?",
              {now, full})
          .status();
    }
    out.cancel_requested = true;
    return tx.Execute("UPDATE pipeline_runs SET cancel_requested = 1 WHERE id = ?", {full})
        .status();
  }));
  return out;
}

absl::StatusOr<RunRecord> PipelineRunStore::GetRun(std::string_view id) const {
  RunRecord out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(const std::string full, ResolveRunId(tx, id));
    ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOptional(Cat("SELECT ", kRunColumns, " FROM pipeline_runs WHERE id = ?"), {full}));
    ASSIGN_OR_RETURN(out, RunFromRow(*row));
    ASSIGN_OR_RETURN(auto steps, tx.Query(Cat("SELECT ", kStepColumns,
                                              " FROM pipeline_steps WHERE run = ?"
                                              " ORDER BY position"),
                                          {full}));
    for (const Row& step : steps) {
      ASSIGN_OR_RETURN(StepRecord s, StepFromRow(step));
      out.steps.push_back(std::move(s));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<RunRecord>> PipelineRunStore::ListRuns(std::string_view pipeline,
                                                                  int64_t limit) const {
  std::vector<RunRecord> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, pipeline.empty()
                                    ? tx.Query(Cat("SELECT ", kRunColumns,
                                                   " FROM pipeline_runs"
                                                   " ORDER BY created_at DESC, id"
                                                   " LIMIT ?"),
                                               {limit})
                                    : tx.Query(Cat("SELECT ", kRunColumns,
                                                   " FROM pipeline_runs WHERE pipeline = ?"
                                                   " ORDER BY number DESC LIMIT ?"),
                                               {pipeline, limit}));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(RunRecord r, RunFromRow(row));
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<RunRecord>> PipelineRunStore::RunsInState(std::string_view pipeline,
                                                                     RunState state) const {
  std::vector<RunRecord> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows,
                     pipeline.empty()
                         ? tx.Query(Cat("SELECT ", kRunColumns,
                                        " FROM pipeline_runs WHERE state = ? ORDER BY created_at"),
                                    {RunStateName(state)})
                         : tx.Query(Cat("SELECT ", kRunColumns,
                                        " FROM pipeline_runs WHERE state = ? AND pipeline = ?"
                                        " ORDER BY number"),
                                    {RunStateName(state), pipeline}));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(RunRecord r, RunFromRow(row));
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<bool> PipelineRunStore::CancelRequested(std::string_view id) const {
  bool requested = false;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT cancel_requested FROM pipeline_runs"
                                                " WHERE id = ?",
                                                {id}));
    requested = row && row->Int(0) != 0;
    return absl::OkStatus();
  }));
  return requested;
}

absl::Status PipelineRunStore::PutStep(std::string_view run, const StepRecord& s) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto existing,
                     tx.QueryOptional("SELECT position FROM pipeline_steps WHERE run = ? AND"
                                      " step = ?",
                                      {run, s.step}));
    int64_t position = 0;
    if (existing) {
      position = existing->Int(0);
      RETURN_IF_ERROR(
          tx.Execute("DELETE FROM pipeline_steps WHERE run = ? AND step = ?", {run, s.step})
              .status());
    } else {
      ASSIGN_OR_RETURN(auto next, tx.QueryOptional("SELECT COALESCE(MAX(position), 0) + 1 FROM"
                                                   " pipeline_steps WHERE run = ?",
                                                   {run}));
      position = next->Int(0);
    }
    return tx
        .Execute(
            Cat("INSERT INTO pipeline_steps (run, position, ", kStepColumns,
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            {run, position, s.step, StepStateName(s.state), s.attempts, s.tracking_run, s.cache_key,
             s.cached_from, StepValuesToJson(s.outputs), s.note, s.error, s.started_at, s.ended_at})
        .status();
  });
}

absl::StatusOr<std::optional<CacheEntry>> PipelineRunStore::FindCache(
    std::string_view cache_key) const {
  std::optional<CacheEntry> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row,
                     tx.QueryOptional("SELECT cache_key, pipeline, step, run, tracking_run,"
                                      " outputs, created_at FROM pipeline_cache"
                                      " WHERE cache_key = ?",
                                      {cache_key}));
    if (!row) return absl::OkStatus();
    CacheEntry e{row->Text(0), row->Text(1), row->Text(2), row->Text(3),
                 row->Text(4), {},           row->Int(6)};
    ASSIGN_OR_RETURN(e.outputs, StepValuesFromJson(row->Text(5)));
    out = std::move(e);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PipelineRunStore::PutCache(const CacheEntry& e) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM pipeline_cache WHERE cache_key = ?", {e.cache_key}).status());
    return tx
        .Execute(
            "INSERT INTO pipeline_cache (cache_key, pipeline, step, run, tracking_run,"
            " outputs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {e.cache_key, e.pipeline, e.step, e.run, e.tracking_run, StepValuesToJson(e.outputs),
             e.created_at})
        .status();
  });
}

absl::Status PipelineRunStore::DropCache(std::string_view cache_key) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    return tx.Execute("DELETE FROM pipeline_cache WHERE cache_key = ?", {cache_key}).status();
  });
}

absl::Status PipelineRunStore::RecordTrigger(const TriggerEvent& e) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto next, tx.QueryOptional("SELECT COALESCE(MAX(id), 0) + 1 FROM"
                                                 " pipeline_trigger_events"));
    return tx
        .Execute(
            "INSERT INTO pipeline_trigger_events (id, pipeline, kind, detail, at, outcome,"
            " run) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {next->Int(0), e.pipeline, e.kind, e.detail,
             e.at != 0 ? e.at : workspace_.clock().NowMicros(), e.outcome, e.run})
        .status();
  });
}

absl::StatusOr<std::vector<TriggerEvent>> PipelineRunStore::TriggerEvents(std::string_view pipeline,
                                                                          int64_t limit) const {
  std::vector<TriggerEvent> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    constexpr char kColumns[] = "id, pipeline, kind, detail, at, outcome, run";
    ASSIGN_OR_RETURN(auto rows,
                     pipeline.empty()
                         ? tx.Query(Cat("SELECT ", kColumns,
                                        " FROM pipeline_trigger_events"
                                        " ORDER BY id DESC LIMIT ?"),
                                    {limit})
                         : tx.Query(Cat("SELECT ", kColumns,
                                        " FROM pipeline_trigger_events WHERE pipeline = ?"
                                        " ORDER BY id DESC LIMIT ?"),
                                    {pipeline, limit}));
    for (const Row& row : rows) {
      out.push_back({row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4), row.Text(5),
                     row.Text(6)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<std::string>> PipelineRunStore::TriggerState(
    std::string_view pipeline, std::string_view trigger) const {
  std::optional<std::string> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT value FROM pipeline_trigger_state"
                                                " WHERE pipeline = ? AND trigger_key = ?",
                                                {pipeline, trigger}));
    if (row) out = row->Text(0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PipelineRunStore::SetTriggerState(std::string_view pipeline, std::string_view trigger,
                                               std::string_view value) {
  const int64_t now = workspace_.clock().NowMicros();
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM pipeline_trigger_state WHERE pipeline = ? AND"
                               " trigger_key = ?",
                               {pipeline, trigger})
                        .status());
    return tx
        .Execute(
            "INSERT INTO pipeline_trigger_state (pipeline, trigger_key, value, updated_at)"
            " VALUES (?, ?, ?, ?)",
            {pipeline, trigger, value, now})
        .status();
  });
}

}  // namespace ferry::pipeline
