#include "alerts/alert_state.h"

#include "core/strings.h"

namespace ferry::alerts {

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "unknown";
}

absl::StatusOr<AlertState> ParseAlertState(std::string_view name) {
  for (AlertState state :
       {AlertState::kInactive, AlertState::kPending, AlertState::kFiring, AlertState::kResolved}) {
    if (AlertStateName(state) == name) return state;
  }
  return absl::InvalidArgumentError(core::Cat("unknown alert state \"", name, "\""));
}

absl::StatusOr<RuleStep> StepRule(const AlertRule& rule, const std::vector<ActiveAlert>& current,
                                  const InstantVector& results, int64_t now) {
  std::map<Labels, const ActiveAlert*> before;
  for (const ActiveAlert& alert : current) before.emplace(alert.labels, &alert);
  RuleStep step;
  std::map<Labels, bool> holding;  // alert labels -> seen in this evaluation
  for (const SeriesValue& series : results) {
    Labels labels = rule.AlertLabels(series.labels);
    if (!holding.emplace(labels, true).second) {
      return absl::InvalidArgumentError(
          core::Cat("two series give the alert labels ", FormatLabels(labels),
                    "; aggregate them (e.g. max by (...)) so that each alert has one series"));
    }
    ActiveAlert alert;
    AlertState from = AlertState::kInactive;
    if (auto found = before.find(labels); found != before.end()) {
      alert = *found->second;
      from = alert.state;
    } else {
      alert.rule = rule.name;
      alert.labels = std::move(labels);
      alert.state = AlertState::kPending;
      alert.active_since = now;
    }
    alert.value = series.value;
    alert.last_evaluated = now;
    alert.annotations = rule.RenderAnnotations(alert.labels, alert.value);
    if (alert.state == AlertState::kPending &&
        now - alert.active_since >= rule.hold.count() * 1000) {
      alert.state = AlertState::kFiring;
      alert.fired_at = now;
    }
    if (alert.state != from) step.transitions.push_back({alert, from, alert.state, now});
    step.active.push_back(std::move(alert));
  }
  for (const ActiveAlert& alert : current) {
    if (holding.contains(alert.labels)) continue;
    const AlertState to =
        alert.state == AlertState::kFiring ? AlertState::kResolved : AlertState::kInactive;
    step.transitions.push_back({alert, alert.state, to, now});
  }
  return step;
}

}  // namespace ferry::alerts
