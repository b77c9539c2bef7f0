#include "alerts/alert_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "alerts_fixture.h"

namespace ferry::alerts {
namespace {

using testing::kSecond;
using testing::kStart;

constexpr char kTwoRules[] = R"(groups:
  - name: g
    rules:
      - alert: Up
        expr: up > 0
      - alert: Down
        expr: up == 0
        for: 1m
)";
constexpr char kOneRule[] = R"(groups:
  - name: g
    rules:
      - alert: Up
        expr: up > 0
)";

class AlertStoreTest : public testing::AlertsTest {};

TEST_F(AlertStoreTest, ApplyStoresTheFileOnceAndSaysWhenNothingChanged) {
  absl::StatusOr<std::optional<AppliedRuleSet>> none = store_->Current();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(*none);
  EXPECT_FALSE(*store_->CurrentDigest());

  absl::StatusOr<ApplyResult> first = store_->Apply(kTwoRules, "rules.yaml", "ada");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->applied.id, 1);
  EXPECT_EQ(first->applied.applied_by, "ada");
  EXPECT_EQ(first->applied.applied_at, kStart);
  clock_->Advance(std::chrono::seconds(5));
  absl::StatusOr<ApplyResult> again = store_->Apply(kTwoRules, "rules.yaml", "bob");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->applied.id, 1);
  EXPECT_EQ(again->applied.applied_by, "ada") << "the set in force is still ada's";

  absl::StatusOr<std::optional<AppliedRuleSet>> current = store_->Current();
  ASSERT_TRUE(current.ok() && *current);
  EXPECT_EQ((*current)->rules.source, kTwoRules);
  EXPECT_EQ((*current)->rules.rule_count(), 2u);
  EXPECT_EQ(*store_->CurrentDigest(), (*current)->rules.digest);
}

TEST_F(AlertStoreTest, ABadFileChangesNothingAndSaysWhy) {
  Apply(kTwoRules);
  const std::string digest = **store_->CurrentDigest();
  absl::StatusOr<ApplyResult> bad =
      store_->Apply("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: rate(up)\n",
                    "broken.yaml", "ada");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("broken.yaml:5: rule X: expr: column 8: rate() takes a"
                                        " range selector"),
            std::string::npos)
      << bad.status();
  absl::StatusOr<std::optional<AppliedRuleSet>> current = store_->Current();
  ASSERT_TRUE(current.ok() && *current);
  EXPECT_EQ((*current)->id, 1);
  EXPECT_EQ((*current)->rules.digest, digest);
  EXPECT_EQ((*current)->rules.source, kTwoRules);
}

ActiveAlert Alert(const std::string& rule, AlertState state, double value) {
  ActiveAlert a;
  a.rule = rule;
  a.labels = {{"alertname", rule}, {"severity", "warning"}};
  a.state = state;
  a.active_since = kStart;
  if (state == AlertState::kFiring) a.fired_at = kStart + kSecond;
  a.value = value;
  a.last_evaluated = kStart + kSecond;
  a.annotations = {{"summary", "s"}};
  return a;
}

TEST_F(AlertStoreTest, RecordKeepsActiveAlertsHistoryAndNaNValues) {
  Apply(kTwoRules);
  EvaluationRecord record;
  record.digest = **store_->CurrentDigest();
  record.rules = {"Up", "Down"};
  const ActiveAlert up = Alert("Up", AlertState::kFiring, std::numeric_limits<double>::quiet_NaN());
  const ActiveAlert down = Alert("Down", AlertState::kPending, 0);
  record.active = {up, down};
  record.transitions = {{up, AlertState::kInactive, AlertState::kFiring, kStart + kSecond},
                        {down, AlertState::kInactive, AlertState::kPending, kStart + kSecond}};
  ASSERT_TRUE(store_->Record(record).ok());
  absl::StatusOr<std::vector<ActiveAlert>> active = store_->Active();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].rule, "Down");
  EXPECT_EQ((*active)[0].state, AlertState::kPending);
  EXPECT_FALSE((*active)[0].fired_at);
  EXPECT_EQ((*active)[1].rule, "Up");
  EXPECT_TRUE(std::isnan((*active)[1].value)) << "NaN is stored as NULL and read back";
  EXPECT_EQ((*active)[1].fired_at, kStart + kSecond);
  EXPECT_EQ((*active)[1].annotations, up.annotations);
  EXPECT_EQ((*active)[1].labels, up.labels);

  absl::StatusOr<std::vector<HistoryEntry>> history = store_->History("", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].rule, "Down") << "newest first";
  EXPECT_EQ((*history)[1].to, AlertState::kFiring);
  EXPECT_EQ(store_->History("Up", 10)->size(), 1u);
  EXPECT_EQ(store_->History("", 1)->size(), 1u);

  // Rules are replaced wholesale: Up evaluated again with no alert removes its row.
  EvaluationRecord next;
  next.digest = record.digest;
  next.rules = {"Up"};
  ASSERT_TRUE(store_->Record(next).ok());
  EXPECT_EQ(store_->Active()->size(), 1u);

  next.digest = "0000";
  EXPECT_EQ(store_->Record(next).code(), absl::StatusCode::kAborted)
      << "a rule set applied meanwhile";
}

TEST_F(AlertStoreTest, ApplyingWithoutARuleEndsItsAlertsInTheSameTransaction) {
  Apply(kTwoRules);
  EvaluationRecord record;
  record.digest = **store_->CurrentDigest();
  record.rules = {"Up", "Down"};
  record.active = {Alert("Up", AlertState::kFiring, 1), Alert("Down", AlertState::kPending, 0)};
  ASSERT_TRUE(store_->Record(record).ok());

  const std::string without_up =
      "groups:\n  - name: g\n    rules:\n      - alert: Other\n"
      "        expr: up > 5\n";
  clock_->Advance(std::chrono::seconds(30));
  absl::StatusOr<ApplyResult> applied = store_->Apply(without_up, "rules.yaml", "ada");
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->applied.id, 2);
  ASSERT_EQ(applied->retired.size(), 2u);
  EXPECT_TRUE(store_->Active()->empty());
  absl::StatusOr<std::vector<HistoryEntry>> history = store_->History("", 10);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].rule, "Down");
  EXPECT_EQ((*history)[1].from, AlertState::kPending);
  EXPECT_EQ((*history)[1].to, AlertState::kInactive);
  EXPECT_EQ((*history)[0].rule, "Up");
  EXPECT_EQ((*history)[0].to, AlertState::kResolved);
  EXPECT_EQ((*history)[0].at, kStart + 30 * kSecond);

  // A file that keeps the rule keeps its alerts.
  record.digest = **store_->CurrentDigest();
  record.rules = {"Other"};
  record.active = {Alert("Other", AlertState::kFiring, 9)};
  ASSERT_TRUE(store_->Record(record).ok());
  ASSERT_TRUE(store_->Apply(without_up + "        for: 5m\n", "rules.yaml", "ada").ok());
  EXPECT_EQ(store_->Active()->size(), 1u);
}

TEST_F(AlertStoreTest, APipelineRunnerTakesEachTriggerOnceAndFindsTheFiringItCameFrom) {
  Apply(R"(groups:
  - name: g
    rules:
      - alert: Drift
        expr: drift > 0.2
        actions:
          - pipeline: {name: retrain, params: {reason: drift}}
          - pipeline: {name: other}
)");
  EXPECT_EQ(*store_->LastHistoryId(), 0);
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("drift{feature=\"amount\"} 0.3\n");
  EvaluateAfter(*evaluator, 0);
  EXPECT_EQ(*store_->LastHistoryId(), 1);

  absl::StatusOr<std::vector<HistoryEntry>> firings = store_->FiringsAfter("Drift", 0, 10);
  ASSERT_TRUE(firings.ok()) << firings.status();
  ASSERT_EQ(firings->size(), 1u);
  const HistoryEntry& firing = firings->front();
  EXPECT_EQ(firing.to, AlertState::kFiring);
  EXPECT_TRUE(store_->FiringsAfter("Drift", firing.id, 10)->empty());
  EXPECT_TRUE(store_->FiringsAfter("Other", 0, 10)->empty());
  EXPECT_TRUE(*store_->HasPipelineTrigger("retrain", "Drift", firing.labels, firing.at));
  EXPECT_FALSE(*store_->HasPipelineTrigger("retrain", "Drift", firing.labels, firing.at + 1));
  EXPECT_FALSE(*store_->HasPipelineTrigger("nightly", "Drift", firing.labels, firing.at));

  clock_->Advance(std::chrono::seconds(1));
  absl::StatusOr<std::vector<PipelineTrigger>> taken =
      store_->ConsumePipelineTriggers("retrain", clock_->NowMicros());
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ(taken->front().params.at("reason"), "drift");
  EXPECT_EQ(taken->front().consumed_at, clock_->NowMicros());
  EXPECT_TRUE(store_->ConsumePipelineTriggers("retrain", clock_->NowMicros())->empty())
      << "taken once";
  EXPECT_TRUE(*store_->HasPipelineTrigger("retrain", "Drift", firing.labels, firing.at))
      << "consumed or not";
  EXPECT_EQ(store_->ConsumePipelineTriggers("other", clock_->NowMicros())->size(), 1u);
}

}  // namespace
}  // namespace ferry::alerts
