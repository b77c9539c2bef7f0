#pragma once

// The life of one alert, per rule and label set of a series the rule's expression yields:
//
//   inactive --(expression holds)--> pending --(held for `for`)--> firing
//       ^  ^                            |                            |
//       |  +--(no longer holds)---------+                            |
//       +-------------------- resolved <--(no longer holds)----------+
//
// `for: 0` goes from inactive straight to firing. Resolved is a transition, not a place:
// it is recorded (and notified), and the alert is inactive again; if the expression holds
// once more, a new alert starts pending. Time is the evaluation's (the injected clock).
// Every transition is recorded in history; a series that stays pending or firing only
// refreshes its value and annotations.
//
// Thread-safety: value types and a pure function.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/evaluation.h"
#include "alerts/labels.h"
#include "alerts/rule_file.h"

namespace ferry::alerts {

enum class AlertState { kInactive, kPending, kFiring, kResolved };

std::string_view AlertStateName(AlertState state);  // "inactive", "pending", ...
absl::StatusOr<AlertState> ParseAlertState(std::string_view name);

// A pending or firing alert.
struct ActiveAlert {
  std::string rule;
  Labels labels;  // the alert's: the series' (no metric name), the rule's, alertname
  AlertState state = AlertState::kPending;
  int64_t active_since = 0;  // microseconds: the first evaluation it held (Prometheus's activeAt)
  std::optional<int64_t> fired_at;
  double value = 0;  // the expression's value at the last evaluation
  int64_t last_evaluated = 0;
  std::map<std::string, std::string> annotations;  // rendered at the last evaluation
};

struct Transition {
  ActiveAlert alert;  // after the transition; for resolved and inactive, as it last was
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  int64_t at = 0;
};

struct RuleStep {
  std::vector<ActiveAlert> active;  // the rule's pending and firing alerts now
  std::vector<Transition> transitions;
};

// Advances `rule`'s alerts (`current`, all of this rule) to an evaluation at `now` whose
// expression yielded `results` (series labels as evaluated). InvalidArgument when two
// series give one alert label set (as Prometheus: "vector contains metrics with the same
// labelset after applying alert labels").
absl::StatusOr<RuleStep> StepRule(const AlertRule& rule, const std::vector<ActiveAlert>& current,
                                  const InstantVector& results, int64_t now);

}  // namespace ferry::alerts
