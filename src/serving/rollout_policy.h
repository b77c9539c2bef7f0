#pragma once

// RolloutPolicy: how a canary (or shadow) rollout of a model version on an endpoint
// proceeds -- the traffic steps, how often the canary is judged against production, the
// thresholds of each check, and where transitions are announced. Fields, defaults and the
// YAML form: docs/rollouts.md.
//
// A policy is a value: it is validated once (ValidateRolloutPolicy) when a rollout starts
// and stored with the rollout as JSON (RolloutPolicyToJson), so a later change of the
// defaults never changes a rollout in flight.
//
// Thread-safety: value types and pure functions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace ferry::serving {

struct RolloutPolicy {
  // Percent of traffic sent to the candidate at each step; strictly increasing, 1..100,
  // the last 100. Passing the analysis at the last step promotes.
  std::vector<int> steps{5, 10, 25, 50, 100};
  // How often the canary is analysed, on the window since the previous analysis.
  std::chrono::seconds interval{60};
  // Requests each side needs in a window before its traffic checks say anything.
  int64_t min_requests = 200;
  // Failed analyses (over the whole rollout) that roll it back.
  int failure_limit = 2;
  // canary error rate - stable error rate may be at most this (0.01: one point).
  double max_error_rate_delta = 0.01;
  // canary p99 latency / stable p99 latency may be at most this.
  double max_p99_ratio = 1.2;
  // Jensen-Shannon distance, base 2 (0..1), of the two score distributions.
  double max_prediction_shift = 0.1;
  // The canary's improvement in quality (canary - stable when higher is better, stable -
  // canary otherwise) must be at least this; -0.01 allows it to be 0.01 worse.
  double min_quality_delta = -0.01;
  // Labelled predictions each side needs before the quality check says anything.
  int64_t min_labels = 100;
  // A request field whose hash picks the model (a given entity stays on one model);
  // empty: each request is routed on its own.
  std::string sticky_key;
  // A step that has not advanced after this long (inconclusive windows: too little
  // traffic) rolls the canary back.
  std::chrono::seconds progress_deadline{600};
  // http:// URLs that receive every transition as a JSON POST.
  std::vector<std::string> webhooks;

  friend bool operator==(const RolloutPolicy&, const RolloutPolicy&) = default;
};

// The policy keys, as YAML, JSON and `ferry deploy` flags (with '-' for '_') name them.
inline constexpr std::string_view kRolloutPolicyKeys[] = {
    "steps",      "interval",     "min_requests",      "failure_limit",
    "max_error_rate_delta", "max_p99_ratio", "max_prediction_shift", "min_quality_delta",
    "min_labels", "sticky_key",   "progress_deadline", "webhooks"};

// The step whose passing analysis promotes: the one before the final 100%. At 100% the
// production version gets no traffic, so there is nothing to compare the canary with;
// passing the last step that shares traffic is passing the rollout (as Flagger promotes
// after its maximum weight).
inline size_t PromotionStep(const RolloutPolicy& policy) {
  return policy.steps.size() >= 2 ? policy.steps.size() - 2 : 0;
}

// InvalidArgument naming the field and the rule it breaks: steps not strictly increasing
// in 1..100 ending at 100; interval or progress deadline not positive, or the deadline
// shorter than the interval; min_requests, min_labels or failure_limit below 1;
// max_error_rate_delta or max_prediction_shift outside 0..1; max_p99_ratio not above 0;
// min_quality_delta not finite; a sticky key that is not a field name; a webhook that is
// not http://HOST[:PORT][/PATH].
absl::Status ValidateRolloutPolicy(const RolloutPolicy& policy);

// Sets one field from its text form, as a flag gives it: steps "5,10,25,50,100",
// durations "90s", "5m", "1h" (or plain seconds), numbers, a sticky key, one webhook URL
// (appended). InvalidArgument naming the key for an unknown key or a malformed value.
// Does not validate the policy as a whole.
absl::Status SetRolloutPolicyField(RolloutPolicy& policy, std::string_view key,
                                   std::string_view text);

// Parses a YAML policy document (every key optional; the others keep their defaults)
// and validates it. InvalidArgument naming the key: unknown keys, malformed values,
// broken rules. `source` names the document in messages ("policy.yaml").
absl::StatusOr<RolloutPolicy> ParseRolloutPolicyYaml(std::string_view yaml,
                                                     std::string_view source);

// {"steps": [...], "interval": "1m", "min_requests": 200, ..., "progress_deadline": "10m",
//  "webhooks": [...]}: every key, durations as text. FromJson reads it back (through the
// YAML parser, JSON being YAML) and validates it.
nlohmann::json RolloutPolicyToJson(const RolloutPolicy& policy);
absl::StatusOr<RolloutPolicy> RolloutPolicyFromJson(const nlohmann::json& json);

}  // namespace ferry::serving
