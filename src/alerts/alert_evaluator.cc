#include "alerts/alert_evaluator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "alerts/exposition.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace {

using core::Cat;

std::map<std::string, std::vector<ActiveAlert>> ByRule(std::vector<ActiveAlert> alerts) {
  std::map<std::string, std::vector<ActiveAlert>> out;
  for (ActiveAlert& alert : alerts) out[alert.rule].push_back(std::move(alert));
  return out;
}

// The pipeline triggers the firing transitions of `rule` ask for.
void AddTriggers(const AlertRule& rule, const std::vector<Transition>& transitions,
                 std::vector<PipelineTrigger>& out) {
  for (const Transition& t : transitions) {
    if (t.to != AlertState::kFiring) continue;
    for (const Action& action : rule.actions) {
      if (const auto* pipeline = std::get_if<PipelineAction>(&action)) {
        out.push_back({0, pipeline->pipeline, pipeline->params, rule.name, t.alert.labels, t.at,
                       std::nullopt});
      }
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AlertEvaluator>> AlertEvaluator::Open(
    store::Workspace& workspace, MetricsSource source, AlertEvaluatorOptions options) {
  std::unique_ptr<AlertEvaluator> evaluator(
      new AlertEvaluator(workspace, std::move(source), options));
  ASSIGN_OR_RETURN(evaluator->store_, AlertStore::Open(workspace));
  std::lock_guard<std::mutex> lock(evaluator->evaluate_mu_);
  RETURN_IF_ERROR(evaluator->Reload(workspace.clock().NowMicros()));
  return evaluator;
}

AlertEvaluator::~AlertEvaluator() { Stop(); }

absl::Status AlertEvaluator::Reload(int64_t now) {
  ASSIGN_OR_RETURN(std::optional<AppliedRuleSet> rules, store_->Current());
  ASSIGN_OR_RETURN(std::vector<ActiveAlert> active, store_->Active());
  std::map<std::string, std::vector<ActiveAlert>> by_rule = ByRule(std::move(active));
  // Firing alerts of rules the new set dropped were resolved by the apply: announce them
  // with the actions of the rule as it was.
  if (rules_) {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (const auto& [rule_name, alerts] : active_) {
      const AlertRule* old_rule = rules_->rules.Find(rule_name);
      if (old_rule == nullptr || (rules && rules->rules.Find(rule_name) != nullptr)) continue;
      std::vector<Transition> resolved;
      for (const ActiveAlert& alert : alerts) {
        if (alert.state == AlertState::kFiring) {
          resolved.push_back({alert, AlertState::kFiring, AlertState::kResolved, now});
        }
      }
      notifier_.Notify(*old_rule, resolved);
    }
  }
  rules_ = std::move(rules);
  digest_ = rules_ ? rules_->rules.digest : "";
  range_selectors_.clear();
  longest_range_ = std::chrono::milliseconds(0);
  int64_t shortest = options_.default_interval.count();
  if (rules_) {
    for (const RuleGroup& group : rules_->rules.groups) {
      shortest = std::min(shortest, group.interval.value_or(options_.default_interval).count());
      for (const AlertRule& rule : group.rules) {
        range_selectors_.insert(range_selectors_.end(), rule.expr.range_selectors.begin(),
                                rule.expr.range_selectors.end());
        longest_range_ = std::max(longest_range_, rule.expr.longest_range);
      }
    }
  }
  shortest_interval_ms_ = shortest;
  std::lock_guard<std::mutex> lock(state_mu_);
  active_ = std::move(by_rule);
  return absl::OkStatus();
}

bool AlertEvaluator::Due(const RuleGroup& group, int64_t now) const {
  auto last = last_evaluated_.find(group.name);
  if (last == last_evaluated_.end()) return true;
  const std::chrono::milliseconds interval = group.interval.value_or(options_.default_interval);
  return now - last->second >= interval.count() * 1000;
}

absl::StatusOr<EvaluationReport> AlertEvaluator::Evaluate(int64_t now) {
  std::lock_guard<std::mutex> lock(evaluate_mu_);
  ASSIGN_OR_RETURN(std::optional<std::string> digest, store_->CurrentDigest());
  if (digest.value_or("") != digest_) RETURN_IF_ERROR(Reload(now));
  EvaluationReport report;
  if (!rules_) return report;
  std::vector<const RuleGroup*> due;
  for (const RuleGroup& group : rules_->rules.groups) {
    if (Due(group, now)) due.push_back(&group);
  }
  if (due.empty()) return report;
  const auto fail_all = [&](const absl::Status& status) {
    std::lock_guard<std::mutex> state_lock(state_mu_);
    for (const RuleGroup* group : due) {
      evaluations_[group->name] += group->rules.size();
      failures_[group->name] += group->rules.size();
    }
    return status;
  };
  absl::StatusOr<std::string> text = source_();
  if (!text.ok()) return fail_all(text.status());
  absl::StatusOr<std::vector<Sample>> samples = ParseExposition(*text, options_.max_series);
  if (!samples.ok()) return fail_all(samples.status());
  const int64_t now_ms = now / 1000;
  history_.Record(*samples, range_selectors_, now_ms, longest_range_);
  const EvaluationInput input{*samples, history_, now_ms};

  EvaluationRecord record;
  record.digest = digest_;
  std::map<std::string, uint64_t> group_failures;
  std::map<std::string, std::vector<Transition>> notify;  // by rule
  bool anything_to_write = false;
  for (const RuleGroup* group : due) {
    for (const AlertRule& rule : group->rules) {
      absl::StatusOr<RuleStep> step = StepOne(rule, input, now);
      if (!step.ok()) {
        ++group_failures[group->name];
        report.errors.push_back(Cat("rule ", rule.name, ": ", core::View(step.status().message())));
        spdlog::warn("alerts: evaluating rule {}: {}", rule.name,
                     core::View(step.status().message()));
        continue;
      }
      // Alerts before the step are either still active or ended by a transition.
      anything_to_write = anything_to_write || !step->active.empty() || !step->transitions.empty();
      record.rules.push_back(rule.name);
      AddTriggers(rule, step->transitions, record.triggers);
      record.transitions.insert(record.transitions.end(), step->transitions.begin(),
                                step->transitions.end());
      record.active.insert(record.active.end(), step->active.begin(), step->active.end());
      notify[rule.name] = std::move(step->transitions);
    }
  }
  if (anything_to_write) {
    if (absl::Status recorded = store_->Record(record); !recorded.ok()) {
      if (recorded.code() == absl::StatusCode::kAborted) digest_ = "";  // reload next time
      return fail_all(recorded);
    }
  }
  {
    std::lock_guard<std::mutex> state_lock(state_mu_);
    for (const std::string& rule : record.rules) active_.erase(rule);
    for (const ActiveAlert& alert : record.active) active_[alert.rule].push_back(alert);
    for (const RuleGroup* group : due) {
      evaluations_[group->name] += group->rules.size();
      failures_[group->name] += group_failures[group->name];
    }
  }
  for (const RuleGroup* group : due) {
    last_evaluated_[group->name] = now;
    report.groups.push_back(group->name);
  }
  for (auto& [rule, transitions] : notify) notifier_.Notify(*rules_->rules.Find(rule), transitions);
  report.transitions = std::move(record.transitions);
  return report;
}

absl::StatusOr<RuleStep> AlertEvaluator::StepOne(const AlertRule& rule,
                                                 const EvaluationInput& input, int64_t now) const {
  std::vector<ActiveAlert> current;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (auto found = active_.find(rule.name); found != active_.end()) current = found->second;
  }
  ASSIGN_OR_RETURN(InstantVector results, EvaluateAlertExpression(rule.expr, input));
  if (results.size() > options_.max_alerts_per_rule) {
    return absl::ResourceExhaustedError(Cat("yields ", results.size(), " series; at most ",
                                            options_.max_alerts_per_rule, " alerts per rule"));
  }
  return StepRule(rule, current, results, now);
}

AlertMetrics AlertEvaluator::Metrics() const {
  AlertMetrics out;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (const auto& [rule, alerts] : active_)
      out.active.insert(out.active.end(), alerts.begin(), alerts.end());
    out.evaluations = evaluations_;
    out.failures = failures_;
  }
  out.webhooks = notifier_.webhook_stats();
  return out;
}

void AlertEvaluator::Start(std::chrono::milliseconds tick) {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, tick] { Loop(tick); });
}

void AlertEvaluator::Stop() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertEvaluator::Loop(std::chrono::milliseconds tick) {
  int64_t led_term = 0;  // the leader's term whose state is loaded
  std::unique_lock<std::mutex> lock(thread_mu_);
  while (!stopping_) {
    // Groups with intervals shorter than the tick need it shorter; 10 ms at least.
    constexpr std::chrono::milliseconds kShortest(10);
    const auto wait = std::clamp(std::chrono::milliseconds(shortest_interval_ms_.load()), kShortest,
                                 std::max(tick, kShortest));
    wake_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    store::RunIfLeading(options_.leadership.get(), [this, &led_term] {
      if (options_.leadership != nullptr && options_.leadership->term() != led_term) {
        // A new term: the alerts the previous leader left in the store are the truth
        // now, not what this server loaded when it started (or last led).
        std::lock_guard<std::mutex> evaluating(evaluate_mu_);
        if (absl::Status reloaded = Reload(workspace_.clock().NowMicros()); !reloaded.ok()) {
          spdlog::warn("alerts: taking over: {}", core::View(reloaded.message()));
          return;
        }
        led_term = options_.leadership->term();
      }
      absl::StatusOr<EvaluationReport> report = Evaluate(workspace_.clock().NowMicros());
      if (!report.ok() && report.status().code() != absl::StatusCode::kAborted) {
        spdlog::warn("alerts: evaluation: {}", core::View(report.status().message()));
      }
    });
    lock.lock();
  }
}

}  // namespace ferry::alerts
