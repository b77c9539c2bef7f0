#pragma once

// AlertStore: alerting's state in the "alerts" component of the metadata store, so that
// the CLI, the HTTP API and a restarted server all see the same rules and alerts. Tables
// (docs/alerts.md):
//
//   alert_rule_sets    every rule file applied (YAML source, digest, applied_at,
//                      applied_by); the newest is in force
//   alerts_active      pending and firing alerts (rule, labels, state, active_since,
//                      fired_at, value, last_evaluated, annotations)
//   alert_history      every transition (rule, labels, from_state, to_state, at, value,
//                      annotations rendered then)
//   pipeline_triggers  what pipeline actions asked for when their alert fired (pipeline,
//                      params, alert, labels, fired_at, consumed_at NULL until a pipeline
//                      runner takes it)
//
// Each operation is one transaction. A value that is NaN is stored as NULL.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/alert_state.h"
#include "alerts/rule_file.h"
#include "store/workspace.h"

namespace ferry::alerts {

struct AppliedRuleSet {
  int64_t id = 0;  // 1, 2, ... one per applied change
  RuleSet rules;
  int64_t applied_at = 0;
  std::string applied_by;
};

struct ApplyResult {
  AppliedRuleSet applied;
  bool changed = false;  // false: the same file was in force already
  // Alerts of rules the new file no longer has, ended in the same transaction (firing ->
  // resolved, pending -> inactive) and recorded in history.
  std::vector<Transition> retired;
};

struct HistoryEntry {
  int64_t id = 0;
  std::string rule;
  Labels labels;
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  int64_t at = 0;
  double value = 0;
  std::map<std::string, std::string> annotations;
};

struct PipelineTrigger {
  int64_t id = 0;
  std::string pipeline;
  std::map<std::string, std::string> params;
  std::string alert;
  Labels labels;
  int64_t fired_at = 0;
  std::optional<int64_t> consumed_at;
};

// One evaluation's outcome, recorded at once.
struct EvaluationRecord {
  std::string digest;               // of the rule set evaluated
  std::vector<std::string> rules;   // the rules evaluated: their active alerts are replaced
  std::vector<ActiveAlert> active;  // the pending and firing alerts of those rules now
  std::vector<Transition> transitions;
  std::vector<PipelineTrigger> triggers;
};

class AlertStore {
 public:
  // Applies the "alerts" migrations. The workspace must outlive the store.
  static absl::StatusOr<std::unique_ptr<AlertStore>> Open(store::Workspace& workspace);

  // Validates the rule file (ParseRuleFile) and makes it the rule set in force, ending the
  // alerts of rules it drops; all in one transaction. A file equal to the one in force
  // changes nothing. Errors: InvalidArgument from parsing (nothing is stored).
  absl::StatusOr<ApplyResult> Apply(std::string_view yaml, std::string_view file_name,
                                    std::string_view actor);

  // The rule set in force; nullopt before the first apply. DataLoss when the stored file
  // no longer parses.
  absl::StatusOr<std::optional<AppliedRuleSet>> Current() const;
  // Its digest alone (one small query: what the evaluator polls).
  absl::StatusOr<std::optional<std::string>> CurrentDigest() const;

  // Pending and firing alerts, by rule and labels.
  absl::StatusOr<std::vector<ActiveAlert>> Active() const;
  // The newest `limit` transitions, newest first; of one rule when `rule` is not empty.
  absl::StatusOr<std::vector<HistoryEntry>> History(std::string_view rule, int64_t limit) const;
  // The newest `limit` pipeline triggers, newest first.
  absl::StatusOr<std::vector<PipelineTrigger>> PipelineTriggers(int64_t limit) const;

  // --- For the pipeline trigger runner (src/pipeline/trigger_runner.h) ---------------
  // Takes the pipeline triggers of `pipeline` not yet consumed, oldest first, and marks
  // them consumed at `now` in the same transaction, so each is taken exactly once.
  absl::StatusOr<std::vector<PipelineTrigger>> ConsumePipelineTriggers(std::string_view pipeline,
                                                                       int64_t now);
  // Whether a pipeline action recorded a trigger of `pipeline` for this firing of `alert`
  // (consumed or not). A firing's history row and its triggers are written in one
  // transaction, so once the history row is visible the answer is final.
  absl::StatusOr<bool> HasPipelineTrigger(std::string_view pipeline, std::string_view alert,
                                          const Labels& labels, int64_t fired_at) const;
  // Transitions of `rule` to firing with ids above `after_id`, oldest first, at most
  // `limit`.
  absl::StatusOr<std::vector<HistoryEntry>> FiringsAfter(std::string_view rule, int64_t after_id,
                                                         int64_t limit) const;
  // The id of the newest history row; 0 when there is none.
  absl::StatusOr<int64_t> LastHistoryId() const;

  // Records an evaluation in one transaction. Aborted when the rule set in force is no
  // longer `record.digest` (it was applied meanwhile: evaluate again with it).
  absl::Status Record(const EvaluationRecord& record);

 private:
  explicit AlertStore(store::Workspace& workspace) : workspace_(workspace) {}

  store::Workspace& workspace_;
};

}  // namespace ferry::alerts
