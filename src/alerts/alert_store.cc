#include "alerts/alert_store.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "store/migrations.h"

namespace ferry::alerts {
namespace {

using core::Cat;
using nlohmann::json;
using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create alert rule sets, active alerts, history and pipeline triggers",
     "CREATE TABLE alert_rule_sets ("
     " id BIGINT PRIMARY KEY,"
     " source TEXT NOT NULL,"
     " digest TEXT NOT NULL,"
     " applied_at BIGINT NOT NULL,"
     " applied_by TEXT NOT NULL);"
     "CREATE TABLE alerts_active ("
     " rule TEXT NOT NULL,"
     " labels TEXT NOT NULL,"
     " state TEXT NOT NULL,"
     " active_since BIGINT NOT NULL,"
     " fired_at BIGINT,"
     " value DOUBLE PRECISION,"
     " last_evaluated BIGINT NOT NULL,"
     " annotations TEXT NOT NULL,"
     " PRIMARY KEY (rule, labels));"
     "CREATE TABLE alert_history ("
     " id BIGINT PRIMARY KEY,"
     " rule TEXT NOT NULL,"
     " labels TEXT NOT NULL,"
     " from_state TEXT NOT NULL,"
     " to_state TEXT NOT NULL,"
     " at BIGINT NOT NULL,"
     " value DOUBLE PRECISION,"
     " annotations TEXT NOT NULL);"
     "CREATE INDEX alert_history_by_rule ON alert_history (rule, id);"
     "CREATE TABLE pipeline_triggers ("
     " id BIGINT PRIMARY KEY,"
     " pipeline TEXT NOT NULL,"
     " params TEXT NOT NULL,"
     " alert TEXT NOT NULL,"
     " labels TEXT NOT NULL,"
     " fired_at BIGINT NOT NULL,"
     " consumed_at BIGINT);"
     "CREATE INDEX pipeline_triggers_waiting ON pipeline_triggers (consumed_at, id);"},
};

constexpr char kActiveColumns[] =
    "rule, labels, state, active_since, fired_at, value, last_evaluated, annotations";

store::Value StoredValue(double value) {
  if (std::isnan(value)) return store::Value();
  return store::Value(value);
}
double ValueOf(const Row& row, size_t column) {
  return row.IsNull(column) ? std::numeric_limits<double>::quiet_NaN() : row.Double(column);
}

// A stored JSON object of strings (labels, annotations, params).
std::map<std::string, std::string> StringMapOf(const std::string& text) {
  std::map<std::string, std::string> out;
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return out;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
  }
  return out;
}
std::string StringMapJson(const std::map<std::string, std::string>& values) {
  return json(values).dump();
}

absl::StatusOr<ActiveAlert> ActiveFromRow(const Row& row) {
  ActiveAlert alert;
  alert.rule = row.Text(0);
  alert.labels = StringMapOf(row.Text(1));
  absl::StatusOr<AlertState> state = ParseAlertState(row.Text(2));
  if (!state.ok() || (*state != AlertState::kPending && *state != AlertState::kFiring)) {
    return absl::DataLossError(Cat("active alert of rule ", alert.rule, " has state \"",
                                   row.Text(2), "\"; the alerts tables are damaged"));
  }
  alert.state = *state;
  alert.active_since = row.Int(3);
  alert.fired_at = row.OptionalInt(4);
  alert.value = ValueOf(row, 5);
  alert.last_evaluated = row.Int(6);
  alert.annotations = StringMapOf(row.Text(7));
  return alert;
}

absl::StatusOr<std::vector<ActiveAlert>> LoadActive(Transaction& tx) {
  ASSIGN_OR_RETURN(auto rows, tx.Query(Cat("SELECT ", kActiveColumns,
                                           " FROM alerts_active ORDER BY rule, labels")));
  std::vector<ActiveAlert> out;
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(ActiveAlert alert, ActiveFromRow(row));
    out.push_back(std::move(alert));
  }
  return out;
}

absl::Status InsertActive(Transaction& tx, const ActiveAlert& a) {
  return tx
      .Execute(
          Cat("INSERT INTO alerts_active (", kActiveColumns, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
          {a.rule, LabelsToJson(a.labels), AlertStateName(a.state), a.active_since, a.fired_at,
           StoredValue(a.value), a.last_evaluated, StringMapJson(a.annotations)})
      .status();
}

// Appends history rows with ids after the largest one.
absl::Status InsertHistory(Transaction& tx, const std::vector<Transition>& transitions) {
  if (transitions.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto next,
                   tx.QueryOptional("SELECT COALESCE(MAX(id), 0) + 1 FROM alert_history"));
  int64_t id = next->Int(0);
  for (const Transition& t : transitions) {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO alert_history (id, rule, labels, from_state, to_state,"
                               " at, value, annotations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               {id++, t.alert.rule, LabelsToJson(t.alert.labels),
                                AlertStateName(t.from), AlertStateName(t.to), t.at,
                                StoredValue(t.alert.value), StringMapJson(t.alert.annotations)})
                        .status());
  }
  return absl::OkStatus();
}

constexpr char kSelectHistory[] =
    "SELECT id, rule, labels, from_state, to_state, at, value, annotations FROM alert_history";

HistoryEntry HistoryFromRow(const Row& row) {
  HistoryEntry e;
  e.id = row.Int(0);
  e.rule = row.Text(1);
  e.labels = StringMapOf(row.Text(2));
  e.from = ParseAlertState(row.Text(3)).value_or(AlertState::kInactive);
  e.to = ParseAlertState(row.Text(4)).value_or(AlertState::kInactive);
  e.at = row.Int(5);
  e.value = ValueOf(row, 6);
  e.annotations = StringMapOf(row.Text(7));
  return e;
}

constexpr char kSelectTriggers[] =
    "SELECT id, pipeline, params, alert, labels, fired_at, consumed_at FROM pipeline_triggers";

PipelineTrigger TriggerFromRow(const Row& row) {
  return {row.Int(0),  row.Text(1), StringMapOf(row.Text(2)), row.Text(3), StringMapOf(row.Text(4)),
          row.Int(5), row.OptionalInt(6)};
}

absl::StatusOr<std::optional<Row>> CurrentRow(Transaction& tx, std::string_view columns) {
  return tx.QueryOptional(
      Cat("SELECT ", columns, " FROM alert_rule_sets ORDER BY id DESC LIMIT 1"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AlertStore>> AlertStore::Open(store::Workspace& workspace) {
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), "alerts", kMigrations,
                                         workspace.clock().NowMicros())
                      .status());
  return std::unique_ptr<AlertStore>(new AlertStore(workspace));
}

absl::StatusOr<ApplyResult> AlertStore::Apply(std::string_view yaml, std::string_view file_name,
                                              std::string_view actor) {
  ASSIGN_OR_RETURN(RuleSet rules, ParseRuleFile(yaml, file_name));
  const int64_t now = workspace_.clock().NowMicros();
  ApplyResult result;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    result = ApplyResult{};
    ASSIGN_OR_RETURN(auto current, CurrentRow(tx, "id, digest, applied_at, applied_by"));
    if (current && current->Text(1) == rules.digest) {
      result.applied = {current->Int(0), rules, current->Int(2), current->Text(3)};
      return absl::OkStatus();
    }
    result.changed = true;
    result.applied = {current ? current->Int(0) + 1 : 1, rules, now, std::string(actor)};
    RETURN_IF_ERROR(tx.Execute("INSERT INTO alert_rule_sets (id, source, digest, applied_at,"
                               " applied_by) VALUES (?, ?, ?, ?, ?)",
                               {result.applied.id, rules.source, rules.digest, now, actor})
                        .status());
    ASSIGN_OR_RETURN(std::vector<ActiveAlert> active, LoadActive(tx));
    for (const ActiveAlert& alert : active) {
      if (rules.Find(alert.rule) != nullptr) continue;
      const AlertState to =
          alert.state == AlertState::kFiring ? AlertState::kResolved : AlertState::kInactive;
      result.retired.push_back({alert, alert.state, to, now});
      RETURN_IF_ERROR(tx.Execute("DELETE FROM alerts_active WHERE rule = ? AND labels = ?",
                                 {alert.rule, LabelsToJson(alert.labels)})
                          .status());
    }
    return InsertHistory(tx, result.retired);
  }));
  return result;
}

absl::StatusOr<std::optional<AppliedRuleSet>> AlertStore::Current() const {
  std::optional<Row> row;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(row, CurrentRow(tx, "id, source, applied_at, applied_by"));
    return absl::OkStatus();
  }));
  if (!row) return std::optional<AppliedRuleSet>();
  absl::StatusOr<RuleSet> rules = ParseRuleFile(row->Text(1), Cat("rule set ", row->Int(0)));
  if (!rules.ok()) {
    return absl::DataLossError(
        Cat("the stored alert rules no longer parse: ", core::View(rules.status().message())));
  }
  return std::optional<AppliedRuleSet>(
      AppliedRuleSet{row->Int(0), *std::move(rules), row->Int(2), row->Text(3)});
}

absl::StatusOr<std::optional<std::string>> AlertStore::CurrentDigest() const {
  std::optional<std::string> digest;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, CurrentRow(tx, "digest"));
    if (row) digest = row->Text(0);
    return absl::OkStatus();
  }));
  return digest;
}

absl::StatusOr<std::vector<ActiveAlert>> AlertStore::Active() const {
  std::vector<ActiveAlert> active;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(active, LoadActive(tx));
    return absl::OkStatus();
  }));
  return active;
}

absl::StatusOr<std::vector<HistoryEntry>> AlertStore::History(std::string_view rule,
                                                              int64_t limit) const {
  std::vector<HistoryEntry> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows,
                     rule.empty() ? tx.Query(Cat(kSelectHistory, " ORDER BY id DESC LIMIT ?"),
                                             {limit})
                                  : tx.Query(Cat(kSelectHistory,
                                                 " WHERE rule = ? ORDER BY id DESC LIMIT ?"),
                                             {rule, limit}));
    for (const Row& row : rows) out.push_back(HistoryFromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<PipelineTrigger>> AlertStore::PipelineTriggers(int64_t limit) const {
  std::vector<PipelineTrigger> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat(kSelectTriggers, " ORDER BY id DESC LIMIT ?"), {limit}));
    for (const Row& row : rows) out.push_back(TriggerFromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<PipelineTrigger>> AlertStore::ConsumePipelineTriggers(
    std::string_view pipeline, int64_t now) {
  // Asked every second or so and nearly always empty: a read, not a write lock, then.
  bool waiting = false;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT id FROM pipeline_triggers WHERE"
                                                " consumed_at IS NULL AND pipeline = ? LIMIT 1",
                                                {pipeline}));
    waiting = row.has_value();
    return absl::OkStatus();
  }));
  std::vector<PipelineTrigger> out;
  if (!waiting) return out;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    out.clear();
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat(kSelectTriggers,
                                             " WHERE consumed_at IS NULL AND pipeline = ?"
                                             " ORDER BY id"),
                                         {pipeline}));
    for (const Row& row : rows) {
      out.push_back(TriggerFromRow(row));
      out.back().consumed_at = now;
      RETURN_IF_ERROR(tx.Execute("UPDATE pipeline_triggers SET consumed_at = ? WHERE id = ?",
                                 {now, out.back().id})
                          .status());
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<bool> AlertStore::HasPipelineTrigger(std::string_view pipeline,
                                                    std::string_view alert, const Labels& labels,
                                                    int64_t fired_at) const {
  bool found = false;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT id FROM pipeline_triggers WHERE"
                                                " pipeline = ? AND alert = ? AND labels = ? AND"
                                                " fired_at = ? LIMIT 1",
                                                {pipeline, alert, LabelsToJson(labels), fired_at}));
    found = row.has_value();
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<HistoryEntry>> AlertStore::FiringsAfter(std::string_view rule,
                                                                   int64_t after_id,
                                                                   int64_t limit) const {
  std::vector<HistoryEntry> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat(kSelectHistory,
                                             " WHERE rule = ? AND id > ? AND to_state = ?"
                                             " ORDER BY id LIMIT ?"),
                                         {rule, after_id, AlertStateName(AlertState::kFiring),
                                          limit}));
    for (const Row& row : rows) out.push_back(HistoryFromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> AlertStore::LastHistoryId() const {
  int64_t id = 0;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT COALESCE(MAX(id), 0) FROM alert_history"));
    id = row->Int(0);
    return absl::OkStatus();
  }));
  return id;
}

absl::Status AlertStore::Record(const EvaluationRecord& record) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto current, CurrentRow(tx, "digest"));
    if (!current || current->Text(0) != record.digest) {
      return absl::AbortedError("the alert rules changed during the evaluation");
    }
    for (const std::string& rule : record.rules) {
      RETURN_IF_ERROR(tx.Execute("DELETE FROM alerts_active WHERE rule = ?", {rule}).status());
    }
    for (const ActiveAlert& alert : record.active) RETURN_IF_ERROR(InsertActive(tx, alert));
    RETURN_IF_ERROR(InsertHistory(tx, record.transitions));
    if (record.triggers.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto next,
                     tx.QueryOptional("SELECT COALESCE(MAX(id), 0) + 1 FROM pipeline_triggers"));
    int64_t id = next->Int(0);
    for (const PipelineTrigger& t : record.triggers) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO pipeline_triggers (id, pipeline, params, alert,"
                                 " labels, fired_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                                 {id++, t.pipeline, StringMapJson(t.params), t.alert,
                                  LabelsToJson(t.labels), t.fired_at})
                          .status());
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::alerts
