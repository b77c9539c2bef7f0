#pragma once

// RolloutStore: canary and shadow rollouts of a model version on an endpoint, as a state
// machine kept in the "rollouts" component of the metadata store, so a restarted server
// resumes a rollout where it was. Every transition is recorded as an event with the
// figures behind it. Tables, phases and events: docs/rollouts.md.
//
//   Start --> progressing <--> paused
//                 |  \________________ (analysis, or manual) ___
//                 v                                              v
//              promoted --(manual rollback: "instant rollback")--> rolled_back
//
// Every operation is one transaction that also changes what the rollout touches in the
// registry and the deployments: the candidate gets the alias "canary" (or "shadow") and a
// hold (so it cannot be deleted mid-rollout); promotion moves the endpoint's alias (e.g.
// `production`) to the candidate -- or repoints a version-pinned deployment -- and
// records what production was (previous_version); rollback and promotion remove the
// candidate alias (unless something else follows it) and release the hold.
//
// Optimistic concurrency: each change bumps the rollout's generation; ApplyAnalysis names
// the generation it analysed and is Aborted when another actor (a person's pause or
// rollback, another server) changed the rollout meanwhile.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "registry/model_record.h"
#include "serving/rollout_analysis.h"
#include "serving/rollout_policy.h"
#include "store/workspace.h"

namespace ferry::serving {

struct Rollout {
  int64_t id = 0;  // 1, 2, ... over the workspace
  std::string endpoint;
  RolloutKind kind = RolloutKind::kCanary;
  std::string model_name;
  int64_t stable_version = 0;     // what the endpoint served when the rollout started
  int64_t candidate_version = 0;  // the version under test
  RolloutPolicy policy;
  RolloutState state;
  int64_t created_at = 0;  // microseconds since the epoch
  int64_t updated_at = 0;
  std::string created_by;
  int64_t generation = 1;  // bumped by every change
  // After a promotion: what production was, for an instant rollback.
  std::optional<int64_t> previous_version;

  std::string CandidateRef() const;  // "NAME@V"
};

// One transition, as recorded and as announced (webhooks, metrics).
struct RolloutEvent {
  int64_t rollout_id = 0;
  int64_t seq = 0;  // 1, 2, ... within the rollout
  int64_t at = 0;
  std::string endpoint;
  // started, analysis, advanced, promoted, rolled_back, paused, resumed, deadline,
  // manual_promote, manual_rollback
  std::string type;
  RolloutPhase phase = RolloutPhase::kProgressing;  // after the event
  int weight = 0;                                   // after the event
  std::string reason;
  // Analyses: {"decision", "failures", "checks": ChecksToJson(...)}; started: {"policy"};
  // manual events: {}.
  nlohmann::json figures;
  std::string actor;
};

// {"rollout_id", "seq", "at" (RFC 3339), "endpoint", "type", "phase", "weight", "reason",
//  "figures", "actor"}: the webhook body and `ferry deploy status --json`'s events.
nlohmann::json RolloutEventToJson(const RolloutEvent& event);
// {"id", "endpoint", "kind", "model", "stable_version", "candidate_version", "policy",
//  "phase", "step", "steps", "weight", "failures", "step_started_at", "last_analysis_at",
//  "created_at", "updated_at", "created_by", "generation", "previous_version"}.
nlohmann::json RolloutToJson(const Rollout& rollout);

// How many events of one type an endpoint's rollouts have recorded (events are never
// deleted, so the counts only grow: Prometheus counters).
struct RolloutEventCount {
  std::string endpoint;
  std::string type;
  int64_t count = 0;
};

struct StartRolloutOptions {
  std::string endpoint;
  registry::ModelRef candidate;  // NAME@V
  RolloutKind kind = RolloutKind::kCanary;
  RolloutPolicy policy;
  std::string actor;
};

class RolloutStore {
 public:
  // The actor ApplyAnalysis records.
  static constexpr std::string_view kControllerActor = "rollout-controller";

  // Applies the "rollouts" migrations (and those of "registry" and "serving" it refers
  // to). The workspace must outlive the store.
  static absl::StatusOr<std::unique_ptr<RolloutStore>> Open(store::Workspace& workspace);

  // Starts a rollout of `candidate` on `endpoint` at the first step (a shadow: weight 0),
  // sets the candidate alias, holds the candidate and records "started". Errors:
  // InvalidArgument for a bad policy or a candidate without a version; NotFound for the
  // endpoint or the candidate version; FailedPrecondition when the candidate is another
  // model than the endpoint serves, is the version it serves now, the endpoint already has
  // an active rollout, or another endpoint's active rollout uses the candidate alias.
  absl::StatusOr<Rollout> Start(const StartRolloutOptions& options);

  // Every progressing or paused rollout, by endpoint, in one query (the server polls it).
  absl::StatusOr<std::vector<Rollout>> Active() const;
  // The latest rollout of an endpoint, active or finished. InvalidArgument for a name no
  // endpoint can have (ValidateEndpointName); NotFound.
  absl::StatusOr<Rollout> Get(std::string_view endpoint) const;
  // Events by endpoint and type, over every rollout (one grouped query).
  absl::StatusOr<std::vector<RolloutEventCount>> EventCounts() const;
  // The endpoint's last `limit` events (over all its rollouts), oldest first.
  absl::StatusOr<std::vector<RolloutEvent>> Events(std::string_view endpoint,
                                                   int64_t limit) const;

  // Applies an analysis' decision to a progressing rollout and records it (event types:
  // analysis for a wait, advanced, promoted, rolled_back, deadline). A failed check adds
  // one failure; failures are counted over the whole rollout (not reset by advancing).
  // Errors: NotFound for the id; Aborted when the rollout's generation is not
  // `expected_generation` or it is not progressing (another actor changed it);
  // InvalidArgument for a decision the rollout cannot take (advance at the last step,
  // advance or promote for a shadow).
  absl::StatusOr<RolloutEvent> ApplyAnalysis(int64_t rollout_id, int64_t expected_generation,
                                             const Analysis& analysis, int64_t now_micros);

  // Manual transitions of the endpoint's latest rollout, recorded with `actor` and
  // `reason`. NotFound when the endpoint has no rollout; FailedPrecondition when the
  // rollout's phase does not allow it (named in the message):
  //   Promote   progressing or paused -> promoted (a shadow too: production moves to it).
  //   Rollback  progressing or paused -> rolled_back; promoted -> rolled_back with the
  //             endpoint's alias (or pinned version) moved back to previous_version
  //             ("instant rollback"; FailedPrecondition when the endpoint no longer serves
  //             the candidate; NotFound when the previous version was deleted).
  //   Pause     progressing -> paused (the weight stays; no analysis runs).
  //   Resume    paused -> progressing (the step's progress deadline starts again).
  absl::StatusOr<RolloutEvent> Promote(std::string_view endpoint, std::string_view actor,
                                       std::string_view reason = {});
  absl::StatusOr<RolloutEvent> Rollback(std::string_view endpoint, std::string_view actor,
                                        std::string_view reason = {});
  absl::StatusOr<RolloutEvent> Pause(std::string_view endpoint, std::string_view actor,
                                     std::string_view reason = {});
  absl::StatusOr<RolloutEvent> Resume(std::string_view endpoint, std::string_view actor,
                                      std::string_view reason = {});

 private:
  explicit RolloutStore(store::Workspace& workspace) : workspace_(workspace) {}
  // Pause and Resume: `from` -> `to`, recorded as "paused" / "resumed".
  absl::StatusOr<RolloutEvent> SwitchPhase(std::string_view endpoint, RolloutPhase from,
                                           RolloutPhase to, std::string_view actor,
                                           std::string_view reason);

  store::Workspace& workspace_;
};

}  // namespace ferry::serving
