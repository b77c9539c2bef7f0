#include "alerts/alert_evaluator.h"

#include <gtest/gtest.h>

#include "alerts_fixture.h"
#include "core/clock.h"

namespace ferry::alerts {
namespace {

using testing::kSecond;
using testing::kStart;
using testing::WebhookReceiver;
using Strings = std::vector<std::string>;

constexpr char kHoldRule[] = R"(groups:
  - name: g
    rules:
      - alert: QueueHigh
        expr: queue_depth > 10
        for: 5m
        annotations: {summary: "{{ $labels.queue }} at {{ $value }}"}
)";

class AlertEvaluatorTest : public testing::AlertsTest {};

TEST_F(AlertEvaluatorTest, PendingFiresExactlyWhenForHasElapsedThenResolves) {
  Apply(kHoldRule);
  AlertEvaluatorOptions every_second;
  every_second.default_interval = std::chrono::seconds(1);
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator(every_second);
  SetMetrics("queue_depth{queue=\"a\"} 5\n");
  EXPECT_TRUE(EvaluateAfter(*evaluator, 0).transitions.empty());

  SetMetrics("queue_depth{queue=\"a\"} 12\n");
  EXPECT_EQ(Moves(EvaluateAfter(*evaluator, 15).transitions),
            Strings{"QueueHigh inactive->pending"});
  const int64_t since = clock_->NowMicros();
  EXPECT_TRUE(EvaluateAfter(*evaluator, 299).transitions.empty()) << "4m59s: still pending";
  absl::StatusOr<std::vector<ActiveAlert>> active = store_->Active();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].state, AlertState::kPending);
  EXPECT_EQ((*active)[0].active_since, since);

  SetMetrics("queue_depth{queue=\"a\"} 13\n");
  EvaluationReport fired = EvaluateAfter(*evaluator, 1);
  ASSERT_EQ(Moves(fired.transitions), Strings{"QueueHigh pending->firing"}) << "5m exactly";
  EXPECT_EQ(fired.transitions[0].alert.fired_at, since + 300 * kSecond);
  active = store_->Active();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].state, AlertState::kFiring);
  EXPECT_EQ((*active)[0].value, 13);
  EXPECT_EQ((*active)[0].labels,
            (Labels{{"alertname", "QueueHigh"}, {"queue", "a"}, {"severity", "warning"}}));
  EXPECT_EQ((*active)[0].annotations.at("summary"), "a at 13");
  EXPECT_TRUE(EvaluateAfter(*evaluator, 15).transitions.empty()) << "firing stays firing";

  SetMetrics("queue_depth{queue=\"a\"} 3\n");
  EXPECT_EQ(Moves(EvaluateAfter(*evaluator, 15).transitions),
            Strings{"QueueHigh firing->resolved"});
  EXPECT_TRUE(store_->Active()->empty()) << "resolved, the series is inactive again";

  absl::StatusOr<std::vector<HistoryEntry>> history = store_->History("QueueHigh", 10);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].to, AlertState::kResolved);
  EXPECT_EQ((*history)[0].value, 13) << "the last value seen";
  EXPECT_EQ((*history)[1].from, AlertState::kPending);
  EXPECT_EQ((*history)[1].to, AlertState::kFiring);
  EXPECT_EQ((*history)[1].at, since + 300 * kSecond);
  EXPECT_EQ((*history)[1].annotations.at("summary"), "a at 13");
  EXPECT_EQ((*history)[2].at, since);

  // True again: a new alert, pending from now.
  SetMetrics("queue_depth{queue=\"a\"} 30\n");
  EXPECT_EQ(Moves(EvaluateAfter(*evaluator, 15).transitions),
            Strings{"QueueHigh inactive->pending"});
}

TEST_F(AlertEvaluatorTest, APendingAlertThatStopsHoldingGoesBackToInactive) {
  Apply(kHoldRule);
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("queue_depth{queue=\"a\"} 12\nqueue_depth{queue=\"b\"} 20\n");
  EXPECT_EQ(EvaluateAfter(*evaluator, 0).transitions.size(), 2u);
  SetMetrics("queue_depth{queue=\"b\"} 20\n");
  EvaluationReport report = EvaluateAfter(*evaluator, 60);
  ASSERT_EQ(Moves(report.transitions), Strings{"QueueHigh pending->inactive"});
  EXPECT_EQ(report.transitions[0].alert.labels.at("queue"), "a");
  EXPECT_EQ(store_->Active()->size(), 1u);
  EXPECT_EQ(store_->History("", 10)->front().to, AlertState::kInactive);
}

TEST_F(AlertEvaluatorTest, ForZeroFiresAtOnce) {
  Apply("groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: ready == 0\n");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("ready{endpoint=\"fraud\"} 0\nready{endpoint=\"other\"} 1\n");
  EvaluationReport report = EvaluateAfter(*evaluator, 0);
  ASSERT_EQ(Moves(report.transitions), Strings{"Down inactive->firing"});
  EXPECT_EQ(report.transitions[0].alert.fired_at, kStart);
  EXPECT_EQ(report.transitions[0].alert.active_since, kStart);
}

TEST_F(AlertEvaluatorTest, ARestartedEvaluatorKeepsForAndDoesNotFireTwice) {
  Apply(kHoldRule + std::string("      - alert: Now\n        expr: queue_depth > 0\n"));
  SetMetrics("queue_depth{queue=\"a\"} 12\n");
  {
    std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
    EXPECT_EQ(Moves(EvaluateAfter(*evaluator, 0).transitions),
              (Strings{"QueueHigh inactive->pending", "Now inactive->firing"}));
    EXPECT_TRUE(EvaluateAfter(*evaluator, 120).transitions.empty());
  }
  // A new server process: the same workspace, a new evaluator.
  std::unique_ptr<AlertEvaluator> restarted = OpenEvaluator();
  EXPECT_EQ(restarted->Metrics().active.size(), 2u) << "loaded from the store";
  EXPECT_TRUE(EvaluateAfter(*restarted, 120).transitions.empty())
      << "4m after it started pending: not yet; Now does not fire again";
  EXPECT_EQ(Moves(EvaluateAfter(*restarted, 60).transitions), Strings{"QueueHigh pending->firing"})
      << "5m after it started, counted across the restart";
  EXPECT_EQ(store_->History("Now", 10)->size(), 1u);
}

TEST_F(AlertEvaluatorTest, GroupsRunAtTheirOwnIntervals) {
  Apply(R"(groups:
  - name: slow
    interval: 1m
    rules:
      - alert: A
        expr: x > 0
  - name: default
    rules:
      - alert: B
        expr: x > 0
)");
  AlertEvaluatorOptions options;
  options.default_interval = std::chrono::seconds(15);
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator(options);
  SetMetrics("x 1\n");
  EXPECT_EQ(EvaluateAfter(*evaluator, 0).groups, (Strings{"slow", "default"}));
  EXPECT_EQ(EvaluateAfter(*evaluator, 15).groups, (Strings{"default"}));
  EXPECT_TRUE(EvaluateAfter(*evaluator, 10).groups.empty());
  EXPECT_EQ(EvaluateAfter(*evaluator, 35).groups, (Strings{"slow", "default"}));
  const AlertMetrics metrics = evaluator->Metrics();
  EXPECT_EQ(metrics.evaluations.at("slow"), 2u);
  EXPECT_EQ(metrics.evaluations.at("default"), 3u);
}

TEST_F(AlertEvaluatorTest, RateRulesSeeTheSamplesOfEarlierEvaluations) {
  Apply(
      "groups:\n  - name: g\n    rules:\n      - alert: Errors\n"
      "        expr: sum by (endpoint) (rate(requests_total{code=\"500\"}[1m])) > 0.5\n");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  int64_t errors = 0;
  std::vector<Transition> transitions;
  for (int i = 0; i < 6; ++i) {
    errors += i < 2 ? 1 : 60;  // slow, then 4 per second
    SetMetrics("requests_total{endpoint=\"fraud\",code=\"500\"} " + std::to_string(errors) + "\n" +
               "requests_total{endpoint=\"fraud\",code=\"200\"} 1000\n");
    EvaluationReport report = EvaluateAfter(*evaluator, i == 0 ? 0 : 15);
    for (const Transition& t : report.transitions) transitions.push_back(t);
  }
  ASSERT_EQ(Moves(transitions), Strings{"Errors inactive->firing"});
  EXPECT_EQ(transitions[0].alert.labels.at("endpoint"), "fraud");
  EXPECT_GT(transitions[0].alert.value, 0.5);
}

TEST_F(AlertEvaluatorTest, AFailingRuleKeepsItsAlertsAndOthersStillRun) {
  // Clash's alerts take their labels from the series, minus the metric name, with a: fixed
  // over them: two series x{a="1"} and x{a="2"} give one alert label set, an error.
  Apply(R"(groups:
  - name: g
    rules:
      - alert: Clash
        expr: x * 1 > 0
        labels: {severity: info, a: fixed}
      - alert: Fine
        expr: y > 0
)");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("x{a=\"1\"} 1\ny 1\n");
  EXPECT_EQ(Moves(EvaluateAfter(*evaluator, 0).transitions),
            (Strings{"Clash inactive->firing", "Fine inactive->firing"}));
  SetMetrics("x{a=\"1\"} 1\nx{a=\"2\"} 1\ny 0\n");
  EvaluationReport report = EvaluateAfter(*evaluator, 15);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("rule Clash: two series give the alert labels {a=\"fixed\","),
            std::string::npos)
      << report.errors[0];
  EXPECT_EQ(Moves(report.transitions), (Strings{"Fine firing->resolved"}));
  ASSERT_EQ(store_->Active()->size(), 1u);
  EXPECT_EQ(store_->Active()->front().rule, "Clash") << "kept as it was";
  EXPECT_EQ(evaluator->Metrics().failures.at("g"), 1u);
  EXPECT_EQ(evaluator->Metrics().evaluations.at("g"), 4u);
}

TEST_F(AlertEvaluatorTest, PipelineActionsRecordATriggerWhenTheAlertFires) {
  Apply(R"(groups:
  - name: g
    rules:
      - alert: Drift
        expr: drift{feature="amount"} > 0.2
        for: 1m
        actions:
          - pipeline: {name: retrain, params: {reason: drift, window: 7d}}
)");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("drift{feature=\"amount\",endpoint=\"fraud\"} 0.3\n");
  EvaluateAfter(*evaluator, 0);
  EXPECT_TRUE(store_->PipelineTriggers(10)->empty()) << "pending asks for nothing";
  EvaluateAfter(*evaluator, 60);
  absl::StatusOr<std::vector<PipelineTrigger>> triggers = store_->PipelineTriggers(10);
  ASSERT_EQ(triggers->size(), 1u);
  const PipelineTrigger& t = (*triggers)[0];
  EXPECT_EQ(t.id, 1);
  EXPECT_EQ(t.pipeline, "retrain");
  EXPECT_EQ(t.params, (std::map<std::string, std::string>{{"reason", "drift"}, {"window", "7d"}}));
  EXPECT_EQ(t.alert, "Drift");
  EXPECT_EQ(t.labels.at("endpoint"), "fraud");
  EXPECT_EQ(t.fired_at, kStart + 60 * kSecond);
  EXPECT_FALSE(t.consumed_at);
  SetMetrics("drift{feature=\"amount\",endpoint=\"fraud\"} 0.1\n");
  EvaluateAfter(*evaluator, 15);
  EXPECT_EQ(store_->PipelineTriggers(10)->size(), 1u) << "resolving asks for nothing";
}

TEST_F(AlertEvaluatorTest, WebhooksAreRetriedWithBackoffAndCarryAlertmanagersPayload) {
  WebhookReceiver receiver(/*failures=*/2);
  Apply(R"(groups:
  - name: g
    rules:
      - alert: EndpointDown
        expr: ready == 0
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.endpoint }} is down"}
        actions:
          - webhook: {url: ")" +
        receiver.url() + R"("}
)");
  AlertEvaluatorOptions options;
  options.webhooks.attempts = 4;
  options.webhooks.first_backoff = std::chrono::milliseconds(40);
  options.webhooks.timeout = std::chrono::milliseconds(2000);
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator(options);
  SetMetrics("ready{endpoint=\"fraud\"} 0\n");
  EvaluateAfter(*evaluator, 0);
  ASSERT_TRUE(receiver.WaitForBodies(1));
  const auto calls = receiver.calls();
  ASSERT_EQ(calls.size(), 3u) << "two 503s, then delivered";
  EXPECT_GE(calls[1] - calls[0], std::chrono::milliseconds(40)) << "first backoff";
  EXPECT_GE(calls[2] - calls[1], std::chrono::milliseconds(80)) << "doubled";

  const nlohmann::json firing = receiver.bodies()[0];
  EXPECT_EQ(firing["version"], "4");
  EXPECT_EQ(firing["status"], "firing");
  EXPECT_EQ(firing["receiver"], "ferry");
  EXPECT_EQ(firing["groupLabels"], (nlohmann::json{{"alertname", "EndpointDown"}}));
  EXPECT_EQ(firing["commonLabels"]["severity"], "critical");
  EXPECT_EQ(firing["commonAnnotations"]["summary"], "fraud is down");
  ASSERT_EQ(firing["alerts"].size(), 1u);
  const nlohmann::json& alert = firing["alerts"][0];
  EXPECT_EQ(alert["status"], "firing");
  EXPECT_EQ(alert["labels"],
            (nlohmann::json{
                {"alertname", "EndpointDown"}, {"endpoint", "fraud"}, {"severity", "critical"}}));
  EXPECT_EQ(alert["startsAt"], core::FormatTimestamp(kStart));
  EXPECT_EQ(alert["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(alert["value"], 0);
  EXPECT_EQ(alert["fingerprint"], Fingerprint(alert["labels"].get<Labels>()));
  EXPECT_EQ(alert["fingerprint"].get<std::string>().size(), 16u);

  SetMetrics("ready{endpoint=\"fraud\"} 1\n");
  EvaluateAfter(*evaluator, 30);
  ASSERT_TRUE(receiver.WaitForBodies(2));
  const nlohmann::json resolved = receiver.bodies()[1];
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["endsAt"], core::FormatTimestamp(kStart + 30 * kSecond));
  EXPECT_EQ(evaluator->Metrics().webhooks.delivered, 2u);
}

TEST_F(AlertEvaluatorTest, DroppingAFiringRuleAnnouncesItResolvedWithItsOldActions) {
  WebhookReceiver receiver(0);
  Apply(
      "groups:\n  - name: g\n    rules:\n      - alert: Old\n        expr: x > 0\n"
      "        actions: [{webhook: {url: \"" +
      receiver.url() + "\"}}]\n");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("x 1\n");
  EvaluateAfter(*evaluator, 0);
  ASSERT_TRUE(receiver.WaitForBodies(1));
  Apply("groups:\n  - name: g\n    rules:\n      - alert: New\n        expr: x > 5\n");
  EvaluateAfter(*evaluator, 15);
  ASSERT_TRUE(receiver.WaitForBodies(2));
  EXPECT_EQ(receiver.bodies()[1]["status"], "resolved");
  EXPECT_EQ(receiver.bodies()[1]["groupLabels"]["alertname"], "Old");
  EXPECT_TRUE(evaluator->Metrics().active.empty());
}

TEST_F(AlertEvaluatorTest, RulesAppliedDuringAnEvaluationAbortItAndApplyNext) {
  Apply("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 0\n");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("x 1\n");
  bool applied = false;
  auto racing = AlertEvaluator::Open(
      *workspace_,
      [&]() -> absl::StatusOr<std::string> {
        if (!applied) {
          applied = true;
          Apply("groups:\n  - name: g\n    rules:\n      - alert: B\n        expr: x > 0\n");
        }
        return std::string("x 1\n");
      },
      {});
  ASSERT_TRUE(racing.ok());
  EXPECT_EQ((*racing)->Evaluate(clock_->NowMicros()).status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->Active()->empty()) << "nothing of the aborted evaluation stored";
  absl::StatusOr<EvaluationReport> next = (*racing)->Evaluate(clock_->NowMicros());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(Moves(next->transitions), Strings{"B inactive->firing"});
}

TEST_F(AlertEvaluatorTest, AMetricsTextThatFailsToParseChangesNothing) {
  Apply("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 0\n");
  std::unique_ptr<AlertEvaluator> evaluator = OpenEvaluator();
  SetMetrics("x{ 1\n");
  absl::StatusOr<EvaluationReport> report = evaluator->Evaluate(clock_->NowMicros());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("metrics text line 1"), std::string::npos);
  EXPECT_EQ(evaluator->Metrics().failures.at("g"), 1u);
  SetMetrics("x 1\n");
  EXPECT_EQ(EvaluateAfter(*evaluator, 1).transitions.size(), 1u) << "evaluated again at once";
}

}  // namespace
}  // namespace ferry::alerts
