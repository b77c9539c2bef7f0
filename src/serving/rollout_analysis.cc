#include "serving/rollout_analysis.h"

#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "features/feature_definitions.h"

namespace ferry::serving {
namespace {

using core::Cat;

constexpr RolloutPhase kPhases[] = {RolloutPhase::kProgressing, RolloutPhase::kPaused,
                                    RolloutPhase::kPromoted, RolloutPhase::kRolledBack};

bool EnoughRequests(const RolloutPolicy& policy, const WindowFigures& f) {
  return f.stable.requests >= policy.min_requests && f.canary.requests >= policy.min_requests;
}

std::string TooFewRequests(const RolloutPolicy& policy, const WindowFigures& f) {
  return Cat("too few requests: canary ", f.canary.requests, ", stable ", f.stable.requests,
             " (need ", policy.min_requests, " each)");
}

double Rate(const SideFigures& side) {
  return static_cast<double>(side.errors) / static_cast<double>(side.requests);
}

CheckResult ErrorRate(const RolloutPolicy& policy, const WindowFigures& f) {
  CheckResult check{"error_rate", CheckOutcome::kInconclusive, std::nullopt,
                    policy.max_error_rate_delta, ""};
  if (!EnoughRequests(policy, f)) {
    check.detail = TooFewRequests(policy, f);
    return check;
  }
  const double delta = Rate(f.canary) - Rate(f.stable);
  check.value = delta;
  check.outcome = delta <= policy.max_error_rate_delta ? CheckOutcome::kSuccess
                                                       : CheckOutcome::kFailure;
  check.detail = fmt::format(
      "canary {:.2f}% errors ({}/{}), stable {:.2f}% ({}/{}): {:+.2f} points, limit {:+.2f}",
      100 * Rate(f.canary), f.canary.errors, f.canary.requests, 100 * Rate(f.stable),
      f.stable.errors, f.stable.requests, 100 * delta, 100 * policy.max_error_rate_delta);
  return check;
}

CheckResult LatencyP99(const RolloutPolicy& policy, const WindowFigures& f) {
  CheckResult check{"latency_p99", CheckOutcome::kInconclusive, std::nullopt,
                    policy.max_p99_ratio, ""};
  if (!EnoughRequests(policy, f)) {
    check.detail = TooFewRequests(policy, f);
    return check;
  }
  if (!f.canary.p99_seconds || !f.stable.p99_seconds || *f.stable.p99_seconds <= 0) {
    check.detail = "no p99 latency for both sides";
    return check;
  }
  const double ratio = *f.canary.p99_seconds / *f.stable.p99_seconds;
  check.value = ratio;
  check.outcome = ratio <= policy.max_p99_ratio ? CheckOutcome::kSuccess : CheckOutcome::kFailure;
  check.detail = fmt::format("canary p99 {:.3f} ms, stable {:.3f} ms: ratio {:.2f}, limit {:.2f}",
                             1000 * *f.canary.p99_seconds, 1000 * *f.stable.p99_seconds, ratio,
                             policy.max_p99_ratio);
  return check;
}

CheckResult PredictionShift(const RolloutPolicy& policy, const WindowFigures& f) {
  CheckResult check{"prediction_shift", CheckOutcome::kInconclusive, std::nullopt,
                    policy.max_prediction_shift, ""};
  if (!EnoughRequests(policy, f)) {
    check.detail = TooFewRequests(policy, f);
    return check;
  }
  if (!f.prediction_shift) {
    check.detail = "no score distributions to compare";
    return check;
  }
  check.value = *f.prediction_shift;
  check.outcome = *f.prediction_shift <= policy.max_prediction_shift ? CheckOutcome::kSuccess
                                                                      : CheckOutcome::kFailure;
  check.detail = fmt::format(
      "Jensen-Shannon distance {:.3f} between the score distributions, limit {:.3f}",
      *f.prediction_shift, policy.max_prediction_shift);
  return check;
}

CheckResult Quality(const RolloutPolicy& policy, const WindowFigures& f) {
  CheckResult check{"quality", CheckOutcome::kInconclusive, std::nullopt,
                    policy.min_quality_delta, ""};
  const std::string metric = f.quality_metric.empty() ? "quality" : f.quality_metric;
  if (f.canary.labels < policy.min_labels || f.stable.labels < policy.min_labels ||
      !f.canary.quality || !f.stable.quality) {
    check.detail = Cat(metric, ": too few labels: canary ", f.canary.labels, ", stable ",
                       f.stable.labels, " (need ", policy.min_labels, " each)");
    return check;
  }
  const double change = f.quality_higher_is_better ? *f.canary.quality - *f.stable.quality
                                                   : *f.stable.quality - *f.canary.quality;
  check.value = change;
  check.outcome =
      change >= policy.min_quality_delta ? CheckOutcome::kSuccess : CheckOutcome::kFailure;
  check.detail = fmt::format(
      "{} ({} is better): canary {:.4f}, stable {:.4f} ({} and {} labels): improvement {:+.4f},"
      " minimum {:+.4f}",
      metric, f.quality_higher_is_better ? "higher" : "lower", *f.canary.quality,
      *f.stable.quality, f.canary.labels, f.stable.labels, change, policy.min_quality_delta);
  return check;
}

// "error_rate (detail); latency_p99 (detail)" for the checks with `outcome`; checks with
// the same detail share it: "error_rate, latency_p99 (too few requests: ...)".
std::string Describe(const std::vector<CheckResult>& checks, CheckOutcome outcome,
                     bool required_only) {
  std::vector<std::pair<std::string, std::string>> groups;  // names, detail
  for (const CheckResult& c : checks) {
    if (c.outcome != outcome || (required_only && c.name == "quality")) continue;
    auto same = std::find_if(groups.begin(), groups.end(),
                             [&c](const auto& g) { return g.second == c.detail; });
    if (same != groups.end()) {
      same->first += Cat(", ", c.name);
    } else {
      groups.emplace_back(c.name, c.detail);
    }
  }
  std::string out;
  for (const auto& [names, detail] : groups) {
    out += Cat(out.empty() ? "" : "; ", names, " (", detail, ")");
  }
  return out;
}

}  // namespace

std::string_view RolloutKindName(RolloutKind kind) {
  return kind == RolloutKind::kShadow ? "shadow" : "canary";
}

std::string_view RolloutPhaseName(RolloutPhase phase) {
  switch (phase) {
    case RolloutPhase::kProgressing:
      return "progressing";
    case RolloutPhase::kPaused:
      return "paused";
    case RolloutPhase::kPromoted:
      return "promoted";
    case RolloutPhase::kRolledBack:
      return "rolled_back";
  }
  return "progressing";
}

absl::StatusOr<RolloutKind> ParseRolloutKind(std::string_view text) {
  if (text == "canary") return RolloutKind::kCanary;
  if (text == "shadow") return RolloutKind::kShadow;
  return absl::InvalidArgumentError(Cat("rollout kind must be canary or shadow, got \"", text,
                                        "\""));
}

absl::StatusOr<RolloutPhase> ParseRolloutPhase(std::string_view text) {
  for (RolloutPhase phase : kPhases) {
    if (text == RolloutPhaseName(phase)) return phase;
  }
  return absl::InvalidArgumentError(Cat("unknown rollout phase \"", text, "\""));
}

bool IsActive(RolloutPhase phase) {
  return phase == RolloutPhase::kProgressing || phase == RolloutPhase::kPaused;
}

std::string_view CheckOutcomeName(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kSuccess:
      return "success";
    case CheckOutcome::kFailure:
      return "failure";
    case CheckOutcome::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kWait:
      return "wait";
    case Decision::kAdvance:
      return "advance";
    case Decision::kPromote:
      return "promote";
    case Decision::kRollback:
      return "rollback";
  }
  return "wait";
}

Analysis Analyze(const RolloutPolicy& policy, const RolloutState& state,
                 const WindowFigures& figures, int64_t now_micros, RolloutKind kind) {
  Analysis a;
  a.checks = {ErrorRate(policy, figures), LatencyP99(policy, figures),
              PredictionShift(policy, figures), Quality(policy, figures)};
  const bool shadow = kind == RolloutKind::kShadow;
  const int percent = shadow ? 0 : policy.steps.at(static_cast<size_t>(state.step));
  const std::string where = shadow ? std::string("shadow") : Cat(percent, "%");

  const std::string failed = Describe(a.checks, CheckOutcome::kFailure, false);
  if (!failed.empty()) {
    a.failed = true;
    const int failures = state.failures + 1;
    a.decision = failures >= policy.failure_limit ? Decision::kRollback : Decision::kWait;
    a.reason = Cat("failed analysis ", failures, " of ", policy.failure_limit, " allowed at ",
                   where, ": ", failed);
    // A failed window is not progress either: the deadline still applies below.
  } else if (Describe(a.checks, CheckOutcome::kInconclusive, true).empty()) {
    if (shadow) {
      a.decision = Decision::kWait;
      a.reason = "shadow: all checks passed; a shadow is promoted only by hand";
      return a;
    }
    const bool last = static_cast<size_t>(state.step) >= PromotionStep(policy);
    a.decision = last ? Decision::kPromote : Decision::kAdvance;
    a.reason = last ? Cat("all checks passed at ", where, ": promoting")
                    : Cat("all checks passed at ", where, ": advancing to ",
                          policy.steps[static_cast<size_t>(state.step) + 1], "%");
    return a;
  } else {
    a.decision = Decision::kWait;
    a.reason = Cat("inconclusive at ", where, ": ",
                   Describe(a.checks, CheckOutcome::kInconclusive, true));
  }
  if (a.decision == Decision::kRollback || shadow) return a;
  const int64_t waited = now_micros - state.step_started_at;
  const int64_t deadline = policy.progress_deadline.count() * 1'000'000;
  if (waited >= deadline) {
    a.decision = Decision::kRollback;
    a.deadline_exceeded = true;
    a.reason = Cat("progress deadline: ", where, " has not passed an analysis in ",
                   features::FormatDuration(waited / 1'000'000), " (deadline ",
                   features::FormatDuration(policy.progress_deadline.count()), "); last: ",
                   a.reason);
  }
  return a;
}

nlohmann::json ChecksToJson(const std::vector<CheckResult>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const CheckResult& c : checks) {
    out.push_back({{"name", c.name},
                   {"outcome", CheckOutcomeName(c.outcome)},
                   {"value", c.value ? nlohmann::json(*c.value) : nlohmann::json(nullptr)},
                   {"threshold", c.threshold},
                   {"detail", c.detail}});
  }
  return out;
}

}  // namespace ferry::serving
