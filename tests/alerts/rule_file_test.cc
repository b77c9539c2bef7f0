#include "alerts/rule_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "testing/temp_dir.h"

namespace ferry::alerts {
namespace {

constexpr char kRules[] = R"(groups:
  - name: fraud
    interval: 15s
    rules:
      - alert: FraudFeatureDrift
        expr: max by (endpoint) (ferry_feature_drift_detected{endpoint="fraud"}) > 0
        for: 10m
        labels: {severity: critical, team: risk}
        annotations: {summary: "drift on {{ $labels.endpoint }}", description: "value {{ $value }}"}
        actions:
          - log: {}
          - webhook: {url: "http://127.0.0.1:9000/hook"}
          - pipeline: {name: retrain, params: {reason: drift}}
  - name: serving
    rules:
      - alert: EndpointDown
        expr: |
          ferry_endpoint_ready == 0
      - alert: HighErrorRate
        expr: sum by (endpoint) (rate(ferry_inference_requests_total{code=~"5.."}[5m])) > 0.5
        for: 1m30s
        labels: {severity: info}
        actions:
          - webhook: {url: "http://hooks.internal/ferry", send_resolved: false}
)";

TEST(RuleFileTest, ReadsEveryFieldWithItsDefault) {
  absl::StatusOr<RuleSet> rules = ParseRuleFile(kRules, "rules.yaml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->groups.size(), 2u);
  EXPECT_EQ(rules->rule_count(), 3u);
  EXPECT_EQ(rules->digest.size(), 64u);
  EXPECT_EQ(rules->source, kRules);
  const RuleGroup& fraud = rules->groups[0];
  EXPECT_EQ(fraud.interval, std::chrono::seconds(15));
  EXPECT_FALSE(rules->groups[1].interval) << "the configured default";
  const AlertRule& drift = fraud.rules[0];
  EXPECT_EQ(drift.group, "fraud");
  EXPECT_EQ(drift.hold, std::chrono::minutes(10));
  EXPECT_EQ(drift.severity(), "critical");
  EXPECT_EQ(drift.labels, (Labels{{"severity", "critical"}, {"team", "risk"}}));
  ASSERT_EQ(drift.actions.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<LogAction>(drift.actions[0]));
  EXPECT_EQ(std::get<WebhookAction>(drift.actions[1]).url, "http://127.0.0.1:9000/hook");
  EXPECT_TRUE(std::get<WebhookAction>(drift.actions[1]).send_resolved);
  EXPECT_EQ(std::get<PipelineAction>(drift.actions[2]).pipeline, "retrain");
  EXPECT_EQ(std::get<PipelineAction>(drift.actions[2]).params,
            (std::map<std::string, std::string>{{"reason", "drift"}}));
  const Labels alert =
      drift.AlertLabels({{"__name__", "x"}, {"endpoint", "fraud"}, {"team", "ml"}});
  EXPECT_EQ(alert, (Labels{{"alertname", "FraudFeatureDrift"},
                           {"endpoint", "fraud"},
                           {"severity", "critical"},
                           {"team", "risk"}}))
      << "the rule's labels win; the metric name goes";
  EXPECT_EQ(drift.RenderAnnotations(alert, 1),
            (std::map<std::string, std::string>{{"description", "value 1"},
                                                {"summary", "drift on fraud"}}));
  const AlertRule* down = rules->Find("EndpointDown");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->expr_text, "ferry_endpoint_ready == 0") << "a block scalar's newline is trimmed";
  EXPECT_EQ(down->hold.count(), 0);
  EXPECT_EQ(down->severity(), "warning") << "the default severity";
  EXPECT_TRUE(down->actions.empty());
  EXPECT_FALSE(std::get<WebhookAction>(rules->Find("HighErrorRate")->actions[0]).send_resolved);
  EXPECT_EQ(rules->Find("Nope"), nullptr);
}

TEST(RuleFileTest, EmptyFilesHoldNoRules) {
  for (const char* yaml : {"", "groups: []", "groups:\n", "# nothing\n"}) {
    absl::StatusOr<RuleSet> rules = ParseRuleFile(yaml, "empty.yaml");
    ASSERT_TRUE(rules.ok()) << yaml << ": " << rules.status();
    EXPECT_EQ(rules->rule_count(), 0u);
  }
}

std::string Rule(const std::string& body) {
  return "groups:\n  - name: g\n    rules:\n      - alert: A\n" + body;
}

TEST(RuleFileTest, ErrorsNameTheFileLineRuleAndField) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const Case cases[] = {
      {Rule("        expr: up > 0\n        for: 10x\n"),
       "r.yaml:6: rule A: for: \"10x\" is not a duration (e.g. 30s, 5m, 1h30m)"},
      {Rule("        expr: sum(up > 0\n"),
       "r.yaml:5: rule A: expr: column 8: a comparison may only stand at the top level"},
      {Rule("        expr: up > 0\n        severity: critical\n"),
       "r.yaml:6: group g: rules[0]: unknown key \"severity\" (known: alert, expr, for,"
       " labels, annotations, actions)"},
      {Rule("        expr: up > 0\n      - alert: A\n        expr: up > 1\n"),
       "r.yaml:6: rule A: an alert of this name comes earlier in the file"},
      {Rule("        expr: up\n        labels: {severity: page}\n"),
       "r.yaml:6: rule A: labels.severity: \"page\" is not a severity (critical, warning or info)"},
      {Rule("        expr: up\n        labels: {alertname: B}\n"),
       "rule A: labels.alertname: set by ferry"},
      {Rule("        expr: up\n        labels: {__x: B}\n"),
       "rule A: labels.__x: not a label name"},
      {Rule("        expr: up\n        labels: {team: \"{{ $value }}\"}\n"),
       "rule A: labels.team: templates are supported in annotations only"},
      {Rule("        expr: up\n        annotations: {s: \"{{ humanize $value }}\"}\n"),
       "r.yaml:6: rule A: annotations.s: {{ humanize $value }} is not supported; templates take"
       " only {{ $labels.NAME }} and {{ $value }}"},
      {Rule("        expr: up\n        annotations: {s: \"{{ $value\"}\n"),
       "rule A: annotations.s: \"{{\" without \"}}\""},
      {Rule("        expr: up\n        actions: [{email: {to: x}}]\n"),
       "rule A: actions[0]: unknown action \"email\" (known: log, webhook, pipeline)"},
      {Rule("        expr: up\n        actions: [{webhook: {url: \"https://x/y\"}}]\n"),
       "rule A: actions[0].webhook.url: "},
      {Rule("        expr: up\n        actions: [{webhook: {}}]\n"),
       "rule A: actions[0].webhook.url: required"},
      {Rule("        expr: up\n        actions: [{webhook: {url: \"http://x\", retries: 3}}]\n"),
       "rule A: actions[0].webhook: unknown key \"retries\" (known: url, send_resolved)"},
      {Rule("        expr: up\n        actions: [{pipeline: {name: \"re train\"}}]\n"),
       "rule A: actions[0].pipeline.name: a pipeline name (letters, digits, _ - .) is required"},
      {Rule("        expr: up\n        actions: [{log: {}, webhook: {url: \"http://x\"}}]\n"),
       "rule A: actions[0]: each action is one of"},
      {Rule("        for: 5m\n"), "r.yaml:4: rule A: expr: required"},
      {Rule("        expr: up\n        expr: down\n"), "group g: rules[0]: \"expr\" twice"},
      {"groups:\n  - name: g\n    rules:\n      - record: x\n        expr: up\n",
       "r.yaml:4: group g: rules[0]: recording rules are not supported"},
      {"groups:\n  - name: g\n    rules:\n      - alert: 9lives\n        expr: up\n",
       "r.yaml:4: group g: rules[0].alert: \"9lives\" is not an alert name"},
      {"groups:\n  - name: g\n    interval: 0s\n",
       "r.yaml:3: group g: interval: must be longer than 0s"},
      {"groups:\n  - name: g\n  - name: g\n",
       "r.yaml:3: group g: a group of this name comes earlier"},
      {"groups:\n  - rules: []\n", "r.yaml:2: groups[0].name: required"},
      {"groups:\n  - name: g\n    limit: 5\n", "r.yaml:3: groups[0]: unknown key \"limit\""},
      {"rules: []\n", "r.yaml:1: (top level): unknown key \"rules\" (known: groups)"},
      {"groups: {a: 1}\n", "r.yaml:1: groups: expected a list of groups"},
      {"groups: [\n", "r.yaml:2: not YAML"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<RuleSet> rules = ParseRuleFile(c.yaml, "r.yaml");
    ASSERT_FALSE(rules.ok()) << c.yaml;
    EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(rules.status().message().find(c.message), std::string::npos)
        << c.yaml << "\n  got: " << rules.status().message() << "\n  want: " << c.message;
  }
}

TEST(RuleFileTest, ExportIsAPrometheusRuleFileThatPromtoolAccepts) {
  absl::StatusOr<RuleSet> rules = ParseRuleFile(kRules, "rules.yaml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  const std::string exported = ExportPrometheusRules(*rules);
  EXPECT_EQ(exported.find("actions:"), std::string::npos) << exported;
  EXPECT_EQ(exported.find("webhook"), std::string::npos) << exported;
  // Read back by ferry, the same rules without actions.
  absl::StatusOr<RuleSet> again = ParseRuleFile(exported, "exported.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << exported;
  ASSERT_EQ(again->rule_count(), 3u);
  for (const RuleGroup& group : rules->groups) {
    for (const AlertRule& rule : group.rules) {
      const AlertRule* other = again->Find(rule.name);
      ASSERT_NE(other, nullptr) << rule.name;
      EXPECT_EQ(other->group, rule.group);
      EXPECT_EQ(other->expr_text, rule.expr_text);
      EXPECT_EQ(other->hold, rule.hold);
      EXPECT_EQ(other->labels, rule.labels) << "severity included";
      EXPECT_EQ(other->annotations.size(), rule.annotations.size());
      EXPECT_TRUE(other->actions.empty());
    }
  }
  EXPECT_EQ(again->groups[0].interval, rules->groups[0].interval);
  // And Prometheus's own checker accepts it.
  testing::TempDir dir;
  std::ofstream(dir / "exported.yaml") << exported;
  const std::string command = "promtool check rules " + (dir / "exported.yaml").string() + " > " +
                              (dir / "promtool.txt").string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream report(dir / "promtool.txt");
  const std::string output((std::istreambuf_iterator<char>(report)),
                           std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << output << "\n" << exported;
  EXPECT_NE(output.find("SUCCESS: 3 rules found"), std::string::npos) << output;
}

}  // namespace
}  // namespace ferry::alerts
