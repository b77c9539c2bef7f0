// RolloutStore: the tables, reads and Start. Transitions: rollout_transitions.cc.

#include "serving/rollout_store.h"

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "registry/model_aliases.h"
#include "registry/model_holds.h"
#include "serving/deployment_store.h"
#include "serving/rollout_store_internal.h"
#include "store/change_feed.h"
#include "store/migrations.h"

namespace ferry::serving {
namespace {

using core::Cat;
using nlohmann::json;
using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create rollouts and rollout_events",
     "CREATE TABLE rollouts ("
     " id BIGINT PRIMARY KEY,"
     " endpoint TEXT NOT NULL,"
     " kind TEXT NOT NULL,"
     " model_name TEXT NOT NULL,"
     " stable_version BIGINT NOT NULL,"
     " candidate_version BIGINT NOT NULL,"
     " policy TEXT NOT NULL,"
     " phase TEXT NOT NULL,"
     " step BIGINT NOT NULL,"
     " weight BIGINT NOT NULL,"
     " failures BIGINT NOT NULL,"
     " step_started_at BIGINT NOT NULL,"
     " last_analysis_at BIGINT NOT NULL,"
     " previous_version BIGINT,"
     " created_at BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL,"
     " created_by TEXT NOT NULL,"
     " generation BIGINT NOT NULL);"
     "CREATE INDEX rollouts_by_endpoint ON rollouts (endpoint, id);"
     "CREATE INDEX rollouts_by_phase ON rollouts (phase);"
     "CREATE TABLE rollout_events ("
     " rollout_id BIGINT NOT NULL,"
     " seq BIGINT NOT NULL,"
     " at BIGINT NOT NULL,"
     " endpoint TEXT NOT NULL,"
     " type TEXT NOT NULL,"
     " phase TEXT NOT NULL,"
     " weight BIGINT NOT NULL,"
     " reason TEXT NOT NULL,"
     " figures TEXT NOT NULL,"
     " actor TEXT NOT NULL,"
     " PRIMARY KEY (rollout_id, seq));"
     "CREATE INDEX rollout_events_by_endpoint ON rollout_events (endpoint, rollout_id, seq);"},
    // What each server recorded of an active rollout since the controller last took its
    // window (shared_figures.h).
    {2, "create rollout_figures",
     "CREATE TABLE rollout_figures ("
     " rollout_id BIGINT NOT NULL,"
     " side TEXT NOT NULL,"
     " server_id TEXT NOT NULL,"
     " flushed_at BIGINT NOT NULL,"
     " requests BIGINT NOT NULL,"
     " errors BIGINT NOT NULL,"
     " latency_sketch TEXT NOT NULL,"
     " scores TEXT NOT NULL,"
     " scores_seen BIGINT NOT NULL,"
     " PRIMARY KEY (rollout_id, side, server_id));"},
};

constexpr char kRolloutColumns[] =
    "id, endpoint, kind, model_name, stable_version, candidate_version, policy, phase, step,"
    " weight, failures, step_started_at, last_analysis_at, previous_version, created_at,"
    " updated_at, created_by, generation";
constexpr char kActivePhases[] = "('progressing', 'paused')";

absl::StatusOr<Rollout> RolloutFromRow(const Row& row) {
  Rollout r;
  r.id = row.Int(0);
  r.endpoint = row.Text(1);
  const auto damaged = [&r](std::string_view what, absl::Status status) {
    return absl::DataLossError(Cat("rollout ", r.id, " on endpoint ", r.endpoint, ": stored ",
                                   what, " unreadable: ", core::View(status.message())));
  };
  absl::StatusOr<RolloutKind> kind = ParseRolloutKind(row.Text(2));
  if (!kind.ok()) return damaged("kind", kind.status());
  r.kind = *kind;
  r.model_name = row.Text(3);
  r.stable_version = row.Int(4);
  r.candidate_version = row.Int(5);
  json policy_json = json::parse(row.Text(6), nullptr, /*allow_exceptions=*/false);
  absl::StatusOr<RolloutPolicy> policy = RolloutPolicyFromJson(policy_json);
  if (!policy.ok()) return damaged("policy", policy.status());
  r.policy = *std::move(policy);
  absl::StatusOr<RolloutPhase> phase = ParseRolloutPhase(row.Text(7));
  if (!phase.ok()) return damaged("phase", phase.status());
  r.state.phase = *phase;
  r.state.step = static_cast<int>(row.Int(8));
  r.state.weight = static_cast<int>(row.Int(9));
  r.state.failures = static_cast<int>(row.Int(10));
  r.state.step_started_at = row.Int(11);
  r.state.last_analysis_at = row.Int(12);
  r.previous_version = row.OptionalInt(13);
  r.created_at = row.Int(14);
  r.updated_at = row.Int(15);
  r.created_by = row.Text(16);
  r.generation = row.Int(17);
  if (r.state.step < 0 || static_cast<size_t>(r.state.step) >= r.policy.steps.size()) {
    return damaged("step", absl::OutOfRangeError(Cat("step ", r.state.step, " of ",
                                                     r.policy.steps.size())));
  }
  return r;
}

absl::StatusOr<std::optional<Rollout>> LoadOne(Transaction& tx, std::string_view where,
                                               store::Params params) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional(Cat("SELECT ", kRolloutColumns, " FROM rollouts ",
                                                  where, " ORDER BY id DESC LIMIT 1"),
                                              params));
  if (!row) return std::optional<Rollout>();
  ASSIGN_OR_RETURN(Rollout r, RolloutFromRow(*row));
  return std::optional<Rollout>(std::move(r));
}

RolloutEvent EventFromRow(const Row& row) {
  RolloutEvent e;
  e.rollout_id = row.Int(0);
  e.seq = row.Int(1);
  e.at = row.Int(2);
  e.endpoint = row.Text(3);
  e.type = row.Text(4);
  e.phase = ParseRolloutPhase(row.Text(5)).value_or(RolloutPhase::kProgressing);
  e.weight = static_cast<int>(row.Int(6));
  e.reason = row.Text(7);
  e.figures = json::parse(row.Text(8), nullptr, /*allow_exceptions=*/false);
  if (e.figures.is_discarded()) e.figures = json::object();
  e.actor = row.Text(9);
  return e;
}

// The version the deployment serves now. FailedPrecondition when it resolves to none.
absl::StatusOr<int64_t> ServedVersion(Transaction& tx, const Deployment& d) {
  if (d.model.version) return *d.model.version;
  ASSIGN_OR_RETURN(std::optional<int64_t> target,
                   registry::AliasTarget(tx, d.model.name, *d.model.alias));
  if (!target) {
    return absl::FailedPreconditionError(Cat("endpoint ", d.endpoint, " follows ",
                                             d.model.ToString(), ", which points at no version"));
  }
  return *target;
}

absl::Status CheckStartable(Transaction& tx, const StartRolloutOptions& options,
                            const Deployment& deployment, int64_t stable) {
  const registry::ModelRef& candidate = options.candidate;
  if (deployment.model.name != candidate.name) {
    return absl::FailedPreconditionError(
        Cat("endpoint ", options.endpoint, " serves model ", deployment.model.name, "; ",
            candidate.ToString(), " is a version of another model"));
  }
  if (*candidate.version == stable) {
    return absl::FailedPreconditionError(Cat(candidate.ToString(), " is what endpoint ",
                                             options.endpoint,
                                             " serves now; a rollout needs another version"));
  }
  ASSIGN_OR_RETURN(auto active, LoadOne(tx, Cat("WHERE endpoint = ? AND phase IN ", kActivePhases),
                                        {options.endpoint}));
  if (active) {
    return absl::FailedPreconditionError(
        Cat("endpoint ", options.endpoint, " already has a ", RolloutKindName(active->kind),
            " rollout of ", active->CandidateRef(), " (", RolloutPhaseName(active->state.phase),
            "); promote it, roll it back or wait for it to finish first"));
  }
  ASSIGN_OR_RETURN(auto sharing,
                   LoadOne(tx, Cat("WHERE model_name = ? AND kind = ? AND phase IN ", kActivePhases),
                           {candidate.name, RolloutKindName(options.kind)}));
  if (sharing) {
    return absl::FailedPreconditionError(
        Cat(candidate.name, "@", RolloutKindName(options.kind), " belongs to the rollout on endpoint ",
            sharing->endpoint, "; a model has one ", RolloutKindName(options.kind),
            " rollout at a time"));
  }
  return absl::OkStatus();
}

}  // namespace

namespace rollout_internal {

registry::ModelHolder HolderOf(std::string_view endpoint) {
  return {Cat("rollout on endpoint ", endpoint), "the candidate of",
          Cat("run `ferry deploy promote ", endpoint, "` or `ferry deploy rollback ", endpoint,
              "` first")};
}

absl::StatusOr<Rollout> LoadById(Transaction& tx, int64_t id) {
  ASSIGN_OR_RETURN(auto found, LoadOne(tx, "WHERE id = ?", {id}));
  if (!found) return absl::NotFoundError(Cat("no rollout with id ", id));
  return *std::move(found);
}

absl::StatusOr<Rollout> LoadLatest(Transaction& tx, std::string_view endpoint) {
  ASSIGN_OR_RETURN(auto found, LoadOne(tx, "WHERE endpoint = ?", {endpoint}));
  if (!found) {
    return absl::NotFoundError(Cat("endpoint \"", endpoint, "\" has no rollout; start one with"
                                   " `ferry deploy ", endpoint, " --canary NAME@V`"));
  }
  return *std::move(found);
}

absl::Status SaveState(Transaction& tx, Rollout& r, int64_t now) {
  r.updated_at = now;
  r.generation += 1;
  // A finished rollout is analysed no more: its servers' figures go (and SharedFigures
  // publishes none for it from now on).
  if (!IsActive(r.state.phase)) {
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM rollout_figures WHERE rollout_id = ?", {r.id}).status());
  }
  // New weights, a promotion or a rollback: every server routes by them.
  RETURN_IF_ERROR(store::NotifyChange(tx, store::kServingChannel));
  return tx
      .Execute("UPDATE rollouts SET phase = ?, step = ?, weight = ?, failures = ?,"
               " step_started_at = ?, last_analysis_at = ?, previous_version = ?,"
               " updated_at = ?, generation = ? WHERE id = ?",
               {RolloutPhaseName(r.state.phase), r.state.step, r.state.weight, r.state.failures,
                r.state.step_started_at, r.state.last_analysis_at, r.previous_version,
                r.updated_at, r.generation, r.id})
      .status();
}

absl::StatusOr<RolloutEvent> AppendEvent(Transaction& tx, const Rollout& r, std::string_view type,
                                         std::string_view reason, json figures,
                                         std::string_view actor, int64_t now) {
  ASSIGN_OR_RETURN(auto next, tx.QueryOptional("SELECT COALESCE(MAX(seq), 0) + 1 FROM"
                                               " rollout_events WHERE rollout_id = ?",
                                               {r.id}));
  RolloutEvent e{r.id,          next->Int(0), now,    r.endpoint, std::string(type),
                 r.state.phase, r.state.weight, std::string(reason), std::move(figures),
                 std::string(actor)};
  RETURN_IF_ERROR(tx.Execute("INSERT INTO rollout_events (rollout_id, seq, at, endpoint, type,"
                             " phase, weight, reason, figures, actor)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             {e.rollout_id, e.seq, e.at, e.endpoint, e.type,
                              RolloutPhaseName(e.phase), e.weight, e.reason, e.figures.dump(),
                              e.actor})
                      .status());
  return e;
}

}  // namespace rollout_internal

using rollout_internal::AppendEvent;
using rollout_internal::HolderOf;

std::string Rollout::CandidateRef() const { return Cat(model_name, "@", candidate_version); }

absl::StatusOr<std::unique_ptr<RolloutStore>> RolloutStore::Open(store::Workspace& workspace) {
  // Applies "registry" and "serving" too: a rollout refers to their tables.
  RETURN_IF_ERROR(DeploymentStore::Open(workspace).status());
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), "rollouts", kMigrations,
                                         workspace.clock().NowMicros())
                      .status());
  return std::unique_ptr<RolloutStore>(new RolloutStore(workspace));
}

absl::StatusOr<Rollout> RolloutStore::Start(const StartRolloutOptions& options) {
  RETURN_IF_ERROR(ValidateEndpointName(options.endpoint));
  RETURN_IF_ERROR(registry::ValidateModelName(options.candidate.name));
  if (!options.candidate.version || options.candidate.alias) {
    return absl::InvalidArgumentError(Cat("a rollout's candidate is a version, NAME@V (e.g. ",
                                          options.candidate.name, "@2), not \"",
                                          options.candidate.ToString(), "\""));
  }
  RETURN_IF_ERROR(ValidateRolloutPolicy(options.policy));
  const int64_t now = workspace_.clock().NowMicros();
  Rollout r;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Deployment> deployment, FindDeployment(tx, options.endpoint));
    if (!deployment) {
      return absl::NotFoundError(Cat("no endpoint named \"", options.endpoint,
                                     "\"; deploy it first (`ferry deploy ", options.endpoint,
                                     " --model NAME@production`)"));
    }
    ASSIGN_OR_RETURN(int64_t stable, ServedVersion(tx, *deployment));
    RETURN_IF_ERROR(CheckStartable(tx, options, *deployment, stable));
    ASSIGN_OR_RETURN(auto next_id, tx.QueryOptional("SELECT COALESCE(MAX(id), 0) + 1 FROM rollouts"));
    r.id = next_id->Int(0);
    r.endpoint = options.endpoint;
    r.kind = options.kind;
    r.model_name = options.candidate.name;
    r.stable_version = stable;
    r.candidate_version = *options.candidate.version;
    r.policy = options.policy;
    r.state.weight = options.kind == RolloutKind::kShadow ? 0 : options.policy.steps.front();
    r.state.step_started_at = now;
    r.state.last_analysis_at = now;
    r.created_at = r.updated_at = now;
    r.created_by = options.actor;
    // The hold checks that the candidate version exists (NotFound).
    RETURN_IF_ERROR(registry::AddHold(tx, HolderOf(r.endpoint), options.candidate, now));
    RETURN_IF_ERROR(registry::MoveAlias(tx, options.candidate, RolloutKindName(r.kind),
                                        options.actor,
                                        Cat(RolloutKindName(r.kind), " of rollout ", r.id,
                                            " on endpoint ", r.endpoint),
                                        now)
                        .status());
    RETURN_IF_ERROR(
        tx.Execute(Cat("INSERT INTO rollouts (", kRolloutColumns,
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                   {r.id, r.endpoint, RolloutKindName(r.kind), r.model_name, r.stable_version,
                    r.candidate_version, RolloutPolicyToJson(r.policy).dump(),
                    RolloutPhaseName(r.state.phase), r.state.step, r.state.weight,
                    r.state.failures, r.state.step_started_at, r.state.last_analysis_at,
                    r.previous_version, r.created_at, r.updated_at, r.created_by, r.generation})
            .status());
    RETURN_IF_ERROR(store::NotifyChange(tx, store::kServingChannel));
    const std::string reason =
        r.kind == RolloutKind::kShadow
            ? Cat("shadow ", r.CandidateRef(), " gets a copy of every request to ",
                  r.model_name, "@", r.stable_version)
            : Cat("canary ", r.CandidateRef(), " at ", r.state.weight, "% against ", r.model_name,
                  "@", r.stable_version);
    return AppendEvent(tx, r, "started", reason, json{{"policy", RolloutPolicyToJson(r.policy)}},
                       options.actor, now)
        .status();
  }));
  return r;
}

absl::StatusOr<std::vector<Rollout>> RolloutStore::Active() const {
  std::vector<Rollout> active;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat("SELECT ", kRolloutColumns, " FROM rollouts WHERE"
                                             " phase IN ", kActivePhases, " ORDER BY endpoint")));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(Rollout r, RolloutFromRow(row));
      active.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return active;
}

absl::StatusOr<Rollout> RolloutStore::Get(std::string_view endpoint) const {
  RETURN_IF_ERROR(ValidateEndpointName(endpoint));
  Rollout r;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(r, rollout_internal::LoadLatest(tx, endpoint));
    return absl::OkStatus();
  }));
  return r;
}

absl::StatusOr<std::vector<RolloutEvent>> RolloutStore::Events(std::string_view endpoint,
                                                               int64_t limit) const {
  std::vector<RolloutEvent> events;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows,
                     tx.Query("SELECT rollout_id, seq, at, endpoint, type, phase, weight, reason,"
                              " figures, actor FROM rollout_events WHERE endpoint = ?"
                              " ORDER BY rollout_id DESC, seq DESC LIMIT ?",
                              {endpoint, limit}));
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) events.push_back(EventFromRow(*it));
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<std::vector<RolloutEventCount>> RolloutStore::EventCounts() const {
  std::vector<RolloutEventCount> counts;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT endpoint, type, COUNT(*) FROM rollout_events"
                                         " GROUP BY endpoint, type ORDER BY endpoint, type"));
    for (const store::Row& row : rows) counts.push_back({row.Text(0), row.Text(1), row.Int(2)});
    return absl::OkStatus();
  }));
  return counts;
}

json RolloutEventToJson(const RolloutEvent& e) {
  return json{{"rollout_id", e.rollout_id},
              {"seq", e.seq},
              {"at", core::FormatTimestamp(e.at)},
              {"endpoint", e.endpoint},
              {"type", e.type},
              {"phase", RolloutPhaseName(e.phase)},
              {"weight", e.weight},
              {"reason", e.reason},
              {"figures", e.figures},
              {"actor", e.actor}};
}

json RolloutToJson(const Rollout& r) {
  return json{{"id", r.id},
              {"endpoint", r.endpoint},
              {"kind", RolloutKindName(r.kind)},
              {"model", r.CandidateRef()},
              {"stable_version", r.stable_version},
              {"candidate_version", r.candidate_version},
              {"policy", RolloutPolicyToJson(r.policy)},
              {"phase", RolloutPhaseName(r.state.phase)},
              {"step", r.state.step + 1},
              {"steps", r.policy.steps.size()},
              {"weight", r.state.weight},
              {"failures", r.state.failures},
              {"step_started_at", core::FormatTimestamp(r.state.step_started_at)},
              {"last_analysis_at", core::FormatTimestamp(r.state.last_analysis_at)},
              {"created_at", core::FormatTimestamp(r.created_at)},
              {"updated_at", core::FormatTimestamp(r.updated_at)},
              {"created_by", r.created_by},
              {"generation", r.generation},
              {"previous_version", r.previous_version ? json(*r.previous_version) : json(nullptr)}};
}

}  // namespace ferry::serving
