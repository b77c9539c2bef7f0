#pragma once

// AlertEvaluator: evaluates the rule set in force (AlertStore) against ferry's own metrics
// and keeps every alert's state, in the running server.
//
// Each Evaluate(now) — a thread calls it every tick (alerts.evaluation_interval_ms, real
// time), tests call it directly with a simulated clock's time:
//   1. notices a newly applied rule set (one small query) and loads it;
//   2. finds the groups due (their interval, or the default, passed since they last ran);
//   3. renders the metrics text (the MetricsSource: what GET /metrics answers), parses it
//      and adds the samples rate() and increase() need to the history;
//   4. evaluates each due rule and advances its alerts (alert_state.h);
//   5. records the evaluation (active alerts, history, pipeline triggers) in one
//      transaction, and only then runs the log and webhook actions (notifier.h).
// A rule whose expression fails keeps its alerts as they were (the failure is logged and
// counted); a failed render or transaction changes nothing and is retried next tick.
//
// State survives restarts: Open loads the pending and firing alerts from the store, so a
// pending alert keeps its start (its `for` is not reset) and a firing one does not fire
// again. Alerts of rules that a new rule set drops are ended by AlertStore::Apply; the
// evaluator announces the firing ones as resolved with the old rule's actions.
//
// Thread-safety: Evaluate calls are serialised; Metrics may be called from any thread,
// and the MetricsSource is called without the lock Metrics takes. Start and Stop from one
// thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/alert_store.h"
#include "alerts/evaluation.h"
#include "alerts/notifier.h"
#include "server/webhook_sender.h"
#include "store/leadership.h"
#include "store/workspace.h"

namespace ferry::alerts {

struct AlertEvaluatorOptions {
  // Groups without an interval of their own are evaluated this often.
  std::chrono::milliseconds default_interval{15'000};
  // Samples one evaluation reads from the metrics text, and alerts one rule may have: past
  // them the evaluation (or the rule) fails rather than use unbounded memory.
  size_t max_series = 100'000;
  size_t max_alerts_per_rule = 10'000;
  server::WebhookOptions webhooks;
  // Among several servers on one workspace, only the leader evaluates on its thread
  // (fenced by its term); null: this one always does.
  std::shared_ptr<const store::Leadership> leadership;
};

struct EvaluationReport {
  std::vector<std::string> groups;  // evaluated
  std::vector<Transition> transitions;
  std::vector<std::string> errors;  // rules that failed, with why
};

// What GET /metrics exports of alerting.
struct AlertMetrics {
  std::vector<ActiveAlert> active;
  std::map<std::string, uint64_t> evaluations;  // rule evaluations, by group
  std::map<std::string, uint64_t> failures;     // failed rule evaluations, by group
  server::WebhookStats webhooks;
};

class AlertEvaluator {
 public:
  using MetricsSource = std::function<absl::StatusOr<std::string>()>;

  // Opens the store and loads the rule set and the active alerts. The workspace must
  // outlive the evaluator.
  static absl::StatusOr<std::unique_ptr<AlertEvaluator>> Open(store::Workspace& workspace,
                                                              MetricsSource source,
                                                              AlertEvaluatorOptions options);
  ~AlertEvaluator();

  // Evaluates the groups due at `now_micros`. Errors: the MetricsSource's, a malformed or
  // too large metrics text, or the store's (nothing is then changed); Aborted when a rule
  // set was applied while evaluating (the next call uses it).
  absl::StatusOr<EvaluationReport> Evaluate(int64_t now_micros);

  // Evaluates every `tick` (real time; more often when a group's interval is shorter) at
  // the workspace clock's time, until Stop.
  void Start(std::chrono::milliseconds tick);
  void Stop();

  AlertMetrics Metrics() const;
  AlertStore& store() { return *store_; }

 private:
  AlertEvaluator(store::Workspace& workspace, MetricsSource source, AlertEvaluatorOptions options)
      : workspace_(workspace),
        source_(std::move(source)),
        options_(options),
        notifier_(options.webhooks) {}
  // Loads the rule set in force and the active alerts; announces alerts of dropped rules.
  absl::Status Reload(int64_t now);
  bool Due(const RuleGroup& group, int64_t now) const;
  // Evaluates `rule` and advances its alerts (not yet recorded or kept).
  absl::StatusOr<RuleStep> StepOne(const AlertRule& rule, const EvaluationInput& input,
                                   int64_t now) const;
  void Loop(std::chrono::milliseconds tick);

  store::Workspace& workspace_;
  const MetricsSource source_;
  const AlertEvaluatorOptions options_;
  std::unique_ptr<AlertStore> store_;
  AlertNotifier notifier_;

  std::mutex evaluate_mu_;  // serialises Evaluate; guards the members below
  std::optional<AppliedRuleSet> rules_;
  std::string digest_;  // of rules_, "" when none
  std::chrono::milliseconds longest_range_{0};
  std::vector<VectorSelector> range_selectors_;
  SeriesHistory history_;
  std::map<std::string, int64_t> last_evaluated_;  // group -> time
  // The shortest group interval of rules_, for the thread's tick.
  std::atomic<int64_t> shortest_interval_ms_{0};

  mutable std::mutex state_mu_;  // guards the members below (read by Metrics)
  std::map<std::string, std::vector<ActiveAlert>> active_;  // by rule
  std::map<std::string, uint64_t> evaluations_;
  std::map<std::string, uint64_t> failures_;

  std::mutex thread_mu_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry::alerts
