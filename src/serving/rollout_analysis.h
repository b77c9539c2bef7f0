#pragma once

// Canary analysis: the judgement of one window of live figures (the candidate against the
// stable version, both serving the same endpoint) and the decision it leads to. Pure
// functions over values: no I/O, no clock (the caller passes "now"), so every rule is a
// table test. The rules, with the reason behind each: docs/rollouts.md.
//
// Checks (each success, failure or inconclusive):
//   error_rate        canary rate - stable rate <= max_error_rate_delta; inconclusive while
//                     either side has fewer than min_requests requests.
//   latency_p99       canary p99 / stable p99 <= max_p99_ratio; inconclusive under
//                     min_requests, or when either p99 is missing or the stable p99 is 0.
//   prediction_shift  the Jensen-Shannon distance (base 2) of the two score distributions
//                     <= max_prediction_shift; inconclusive when absent or under min_requests.
//   quality           the canary's improvement, (canary - stable) when higher is better and
//                     (stable - canary) otherwise, >= min_quality_delta; inconclusive until
//                     both sides have min_labels labels and a value.
// The first three are required: the rollout advances only when all three succeed. Labels
// arrive late (hours, days), so the quality check being inconclusive never holds a rollout;
// once it has enough labels, its failure counts like any other.
//
// Decision: a window with a failed check is a failed analysis; when failures + 1 reaches
// failure_limit: kRollback, else kWait. All required checks successful: kAdvance, or
// kPromote at the last step. Otherwise (inconclusive) kWait -- unless the step has waited
// progress_deadline or more since it started: kRollback, reason "progress deadline: ...".
// A shadow rollout runs the same checks but never advances or promotes on its own: a
// passing window keeps it as it is (kWait), failures to the limit remove it (kRollback),
// and it has no progress deadline (it serves no answers, and has no step to reach).
//
// Thread-safety: value types and pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "serving/rollout_policy.h"

namespace ferry::serving {

enum class RolloutKind : uint8_t {
  kCanary,  // the candidate answers a growing share of requests
  kShadow,  // the candidate gets a copy of every request; its answers are compared, not returned
};
enum class RolloutPhase : uint8_t { kProgressing, kPaused, kPromoted, kRolledBack };

std::string_view RolloutKindName(RolloutKind kind);     // "canary", "shadow"
std::string_view RolloutPhaseName(RolloutPhase phase);  // "progressing", ..., "rolled_back"
absl::StatusOr<RolloutKind> ParseRolloutKind(std::string_view text);
absl::StatusOr<RolloutPhase> ParseRolloutPhase(std::string_view text);
// Progressing or paused: the rollout holds the endpoint.
bool IsActive(RolloutPhase phase);

// Where a rollout is. Times in microseconds since the epoch.
struct RolloutState {
  int step = 0;    // index into policy.steps
  int weight = 0;  // percent of requests to the candidate (a shadow: 0)
  int failures = 0;
  int64_t step_started_at = 0;
  int64_t last_analysis_at = 0;  // the start, until the first analysis
  RolloutPhase phase = RolloutPhase::kProgressing;
  friend bool operator==(const RolloutState&, const RolloutState&) = default;
};

// One side's figures over a window.
struct SideFigures {
  int64_t requests = 0;
  int64_t errors = 0;  // non-2xx answers and backend failures
  std::optional<double> p99_seconds;
  std::optional<double> quality;  // the metric named in WindowFigures, over labelled requests
  int64_t labels = 0;
};

struct WindowFigures {
  SideFigures stable, canary;
  std::optional<double> prediction_shift;  // Jensen-Shannon distance, base 2
  std::string quality_metric;              // "accuracy", "auc", "rmse", ...
  bool quality_higher_is_better = true;
};

enum class CheckOutcome : uint8_t { kSuccess, kFailure, kInconclusive };
std::string_view CheckOutcomeName(CheckOutcome outcome);  // "success", "failure", "inconclusive"

struct CheckResult {
  std::string name;  // "error_rate", "latency_p99", "prediction_shift", "quality"
  CheckOutcome outcome = CheckOutcome::kInconclusive;
  std::optional<double> value;  // what is compared with the threshold
  double threshold = 0;
  std::string detail;  // a sentence with the figures behind it
};

enum class Decision : uint8_t { kWait, kAdvance, kPromote, kRollback };
std::string_view DecisionName(Decision decision);  // "wait", "advance", "promote", "rollback"

struct Analysis {
  std::vector<CheckResult> checks;
  Decision decision = Decision::kWait;
  std::string reason;
  bool failed = false;             // a check failed: ApplyAnalysis counts one failure
  bool deadline_exceeded = false;  // kRollback because of the progress deadline
};

// Judges `figures` for a rollout at `state` under `policy` (rules above).
Analysis Analyze(const RolloutPolicy& policy, const RolloutState& state,
                 const WindowFigures& figures, int64_t now_micros,
                 RolloutKind kind = RolloutKind::kCanary);

// [{"name", "outcome", "value" (null when none), "threshold", "detail"}, ...]
nlohmann::json ChecksToJson(const std::vector<CheckResult>& checks);

}  // namespace ferry::serving
