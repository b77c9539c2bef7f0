// RolloutStore: transitions -- an analysis' decision applied, and the manual promote,
// rollback (instant after a promotion), pause and resume.

#include "core/status.h"
#include "core/strings.h"
#include "registry/model_aliases.h"
#include "registry/model_holds.h"
#include "serving/deployment_store.h"
#include "serving/rollout_store.h"
#include "serving/rollout_store_internal.h"

namespace ferry::serving {
namespace {

using core::Cat;
using nlohmann::json;
using rollout_internal::AppendEvent;
using rollout_internal::HolderOf;
using rollout_internal::SaveState;
using store::Transaction;

// Releases the candidate: its hold, and its alias ("canary" / "shadow") when that still
// points at it and nothing else (an endpoint following NAME@canary) holds the alias.
absl::Status ReleaseCandidate(Transaction& tx, const Rollout& r, std::string_view actor,
                              std::string_view reason, int64_t now) {
  RETURN_IF_ERROR(registry::RemoveHolds(tx, HolderOf(r.endpoint).holder).status());
  const std::string_view alias = RolloutKindName(r.kind);
  ASSIGN_OR_RETURN(std::optional<int64_t> target, registry::AliasTarget(tx, r.model_name, alias));
  if (target != r.candidate_version) return absl::OkStatus();
  absl::Status removed = registry::RemoveAlias(tx, r.model_name, alias, actor, reason, now).status();
  // Held by someone else: refused before anything was written; the alias stays theirs.
  if (removed.code() == absl::StatusCode::kFailedPrecondition) return absl::OkStatus();
  return removed;
}

// Points the endpoint at `version`: moves the alias it follows, or changes its pinned
// version. With `expected`, refuses (FailedPrecondition) unless it serves that now.
// Returns the version it served before.
absl::StatusOr<int64_t> RepointEndpoint(Transaction& tx, const Rollout& r, int64_t version,
                                        std::optional<int64_t> expected, std::string_view actor,
                                        std::string_view reason, int64_t now) {
  ASSIGN_OR_RETURN(std::optional<Deployment> d, FindDeployment(tx, r.endpoint));
  if (!d) {
    return absl::FailedPreconditionError(Cat("endpoint ", r.endpoint, " no longer exists"));
  }
  if (d->model.name != r.model_name) {
    return absl::FailedPreconditionError(Cat("endpoint ", r.endpoint, " now serves model ",
                                             d->model.name, ", not ", r.model_name));
  }
  std::optional<int64_t> current = d->model.version;
  if (d->model.alias) {
    ASSIGN_OR_RETURN(current, registry::AliasTarget(tx, r.model_name, *d->model.alias));
  }
  if (expected && current != expected) {
    return absl::FailedPreconditionError(
        Cat("endpoint ", r.endpoint, " serves ", d->model.ToString(), " = version ",
            current ? Cat(*current) : std::string("none"), " now, not ", r.model_name, "@",
            *expected, "; move it with `ferry deploy` or `ferry models alias`"));
  }
  const registry::ModelRef target{r.model_name, version, std::nullopt};
  if (d->model.alias) {
    RETURN_IF_ERROR(registry::MoveAlias(tx, target, *d->model.alias, actor, reason, now).status());
  } else {
    RETURN_IF_ERROR(
        PutDeployment(tx, {r.endpoint, target, d->missing_features, std::string(actor), d->monitoring},
                      now)
            .status());
  }
  return current.value_or(r.stable_version);
}

absl::StatusOr<RolloutEvent> PromoteIn(Transaction& tx, Rollout& r, std::string_view type,
                                       std::string_view reason, json figures,
                                       std::string_view actor, int64_t now) {
  const std::string why = Cat("rollout ", r.id, " on endpoint ", r.endpoint, " promoted ",
                              r.CandidateRef(), ": ", reason);
  ASSIGN_OR_RETURN(r.previous_version,
                   RepointEndpoint(tx, r, r.candidate_version, std::nullopt, actor, why, now));
  RETURN_IF_ERROR(ReleaseCandidate(tx, r, actor, why, now));
  r.state.phase = RolloutPhase::kPromoted;
  r.state.weight = 100;
  RETURN_IF_ERROR(SaveState(tx, r, now));
  return AppendEvent(tx, r, type, reason, std::move(figures), actor, now);
}

absl::StatusOr<RolloutEvent> RollBackIn(Transaction& tx, Rollout& r, std::string_view type,
                                        std::string_view reason, json figures,
                                        std::string_view actor, int64_t now) {
  RETURN_IF_ERROR(ReleaseCandidate(
      tx, r, actor, Cat("rollout ", r.id, " on endpoint ", r.endpoint, " rolled back: ", reason),
      now));
  r.state.phase = RolloutPhase::kRolledBack;
  r.state.weight = 0;
  RETURN_IF_ERROR(SaveState(tx, r, now));
  return AppendEvent(tx, r, type, reason, std::move(figures), actor, now);
}

absl::Status WrongPhase(const Rollout& r, std::string_view action, std::string_view allowed) {
  return absl::FailedPreconditionError(
      Cat("cannot ", action, " the ", RolloutKindName(r.kind), " rollout of ", r.CandidateRef(),
          " on endpoint ", r.endpoint, ": it is ", RolloutPhaseName(r.state.phase), " (", action,
          " applies to a ", allowed, " rollout)"));
}

std::string OrDefault(std::string_view reason, std::string fallback) {
  return reason.empty() ? fallback : std::string(reason);
}

std::string Where(const Rollout& r) {
  return r.kind == RolloutKind::kShadow ? std::string("shadow") : Cat(r.state.weight, "%");
}

}  // namespace

absl::StatusOr<RolloutEvent> RolloutStore::ApplyAnalysis(int64_t rollout_id,
                                                         int64_t expected_generation,
                                                         const Analysis& analysis,
                                                         int64_t now_micros) {
  RolloutEvent event;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Rollout r, rollout_internal::LoadById(tx, rollout_id));
    if (r.generation != expected_generation || r.state.phase != RolloutPhase::kProgressing) {
      return absl::AbortedError(Cat("rollout ", r.id, " on endpoint ", r.endpoint,
                                    " changed since it was analysed (generation ", r.generation,
                                    ", ", RolloutPhaseName(r.state.phase), "; analysed ",
                                    expected_generation, ")"));
    }
    const bool shadow = r.kind == RolloutKind::kShadow;
    const bool last = static_cast<size_t>(r.state.step) >= PromotionStep(r.policy);
    if ((analysis.decision == Decision::kAdvance && (shadow || last)) ||
        (analysis.decision == Decision::kPromote && (shadow || !last))) {
      return absl::InvalidArgumentError(
          Cat("rollout ", r.id, ": cannot ", DecisionName(analysis.decision), " a ",
              RolloutKindName(r.kind), " rollout at step ", r.state.step + 1, " of ",
              r.policy.steps.size()));
    }
    if (analysis.failed) r.state.failures += 1;
    r.state.last_analysis_at = now_micros;
    json figures{{"decision", DecisionName(analysis.decision)},
                 {"failures", r.state.failures},
                 {"failure_limit", r.policy.failure_limit},
                 {"checks", ChecksToJson(analysis.checks)}};
    const std::string_view actor = kControllerActor;
    absl::StatusOr<RolloutEvent> recorded;
    switch (analysis.decision) {
      case Decision::kWait:
        RETURN_IF_ERROR(SaveState(tx, r, now_micros));
        recorded = AppendEvent(tx, r, "analysis", analysis.reason, std::move(figures), actor,
                               now_micros);
        break;
      case Decision::kAdvance:
        r.state.step += 1;
        r.state.weight = r.policy.steps[static_cast<size_t>(r.state.step)];
        r.state.step_started_at = now_micros;
        RETURN_IF_ERROR(SaveState(tx, r, now_micros));
        recorded = AppendEvent(tx, r, "advanced", analysis.reason, std::move(figures), actor,
                               now_micros);
        break;
      case Decision::kPromote:
        recorded = PromoteIn(tx, r, "promoted", analysis.reason, std::move(figures), actor,
                             now_micros);
        break;
      case Decision::kRollback:
        recorded = RollBackIn(tx, r, analysis.deadline_exceeded ? "deadline" : "rolled_back",
                              analysis.reason, std::move(figures), actor, now_micros);
        break;
    }
    ASSIGN_OR_RETURN(event, std::move(recorded));
    return absl::OkStatus();
  }));
  return event;
}

absl::StatusOr<RolloutEvent> RolloutStore::Promote(std::string_view endpoint,
                                                   std::string_view actor,
                                                   std::string_view reason) {
  const int64_t now = workspace_.clock().NowMicros();
  RolloutEvent event;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Rollout r, rollout_internal::LoadLatest(tx, endpoint));
    if (!IsActive(r.state.phase)) return WrongPhase(r, "promote", "progressing or paused");
    const std::string why = OrDefault(reason, Cat("promoted by hand at ", Where(r)));
    ASSIGN_OR_RETURN(event, PromoteIn(tx, r, "manual_promote", why, json::object(), actor, now));
    return absl::OkStatus();
  }));
  return event;
}

absl::StatusOr<RolloutEvent> RolloutStore::Rollback(std::string_view endpoint,
                                                    std::string_view actor,
                                                    std::string_view reason) {
  const int64_t now = workspace_.clock().NowMicros();
  RolloutEvent event;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Rollout r, rollout_internal::LoadLatest(tx, endpoint));
    if (IsActive(r.state.phase)) {
      const std::string why = OrDefault(reason, Cat("rolled back by hand at ", Where(r)));
      ASSIGN_OR_RETURN(event,
                       RollBackIn(tx, r, "manual_rollback", why, json::object(), actor, now));
      return absl::OkStatus();
    }
    if (r.state.phase != RolloutPhase::kPromoted || !r.previous_version) {
      return WrongPhase(r, "roll back", "progressing, paused or promoted");
    }
    // Instant rollback: production goes back to what it was before the promotion.
    const std::string why = OrDefault(
        reason, Cat("instant rollback to ", r.model_name, "@", *r.previous_version));
    RETURN_IF_ERROR(RepointEndpoint(tx, r, *r.previous_version, r.candidate_version, actor,
                                    Cat("rollout ", r.id, " on endpoint ", r.endpoint, ": ", why),
                                    now)
                        .status());
    r.state.phase = RolloutPhase::kRolledBack;
    r.state.weight = 0;
    RETURN_IF_ERROR(SaveState(tx, r, now));
    ASSIGN_OR_RETURN(event, AppendEvent(tx, r, "manual_rollback", why,
                                        json{{"restored_version", *r.previous_version}}, actor,
                                        now));
    return absl::OkStatus();
  }));
  return event;
}

absl::StatusOr<RolloutEvent> RolloutStore::Pause(std::string_view endpoint,
                                                 std::string_view actor,
                                                 std::string_view reason) {
  return SwitchPhase(endpoint, RolloutPhase::kProgressing, RolloutPhase::kPaused, actor, reason);
}

absl::StatusOr<RolloutEvent> RolloutStore::Resume(std::string_view endpoint,
                                                  std::string_view actor,
                                                  std::string_view reason) {
  return SwitchPhase(endpoint, RolloutPhase::kPaused, RolloutPhase::kProgressing, actor, reason);
}

absl::StatusOr<RolloutEvent> RolloutStore::SwitchPhase(std::string_view endpoint,
                                                       RolloutPhase from, RolloutPhase to,
                                                       std::string_view actor,
                                                       std::string_view reason) {
  const bool pause = to == RolloutPhase::kPaused;
  const int64_t now = workspace_.clock().NowMicros();
  RolloutEvent event;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Rollout r, rollout_internal::LoadLatest(tx, endpoint));
    if (r.state.phase != from) {
      return WrongPhase(r, pause ? "pause" : "resume", RolloutPhaseName(from));
    }
    r.state.phase = to;
    // The pause does not count against the step's progress deadline.
    if (!pause) r.state.step_started_at = now;
    RETURN_IF_ERROR(SaveState(tx, r, now));
    ASSIGN_OR_RETURN(event, AppendEvent(tx, r, pause ? "paused" : "resumed",
                                        OrDefault(reason, Cat(pause ? "paused" : "resumed",
                                                              " by hand at ", Where(r))),
                                        json::object(), actor, now));
    return absl::OkStatus();
  }));
  return event;
}

}  // namespace ferry::serving
