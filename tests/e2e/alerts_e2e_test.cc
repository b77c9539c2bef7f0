// End-to-end test of alerting through the `ferry` binary and a running `ferry server`: rules
// checked and applied over ferry's real serving metrics, seen firing in `ferry alerts list`,
// the HTTP API and GET /metrics (promtool-clean), history and pipeline triggers, rules
// replaced over HTTP (a bad file refused, a dropped rule's alert resolved), and the export
// checked by promtool.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

constexpr char kRules[] = R"(groups:
  - name: serving
    rules:
      - alert: EndpointReady
        expr: ferry_endpoint_ready{endpoint="fraud"} == 1
        labels: {severity: info}
        annotations: {summary: "{{ $labels.endpoint }} serves"}
      - alert: BadRequests
        expr: sum by (endpoint) (increase(ferry_inference_requests_total{code="400"}[1m])) > 0
        actions:
          - log: {}
          - pipeline: {name: retrain, params: {reason: bad-requests}}
)";

class AlertsE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    testing::WriteXGBoostModel(dir_ / "model.json", 2, {"a", "b"});
    ASSERT_EQ(Ferry({"models", "register", "fraud", "--artifact", "model.json"}).exit_code, 0);
    ASSERT_EQ(Ferry({"deploy", "fraud", "--model", "fraud@1"}).exit_code, 0);
    std::ofstream(dir_ / ".ferry/config.yaml")
        << "server:\n  access_log: false\nserving:\n  poll_interval_ms: 50\n"
           "alerts:\n  evaluation_interval_ms: 100\n";
  }
  // The state of `rule` in a status document (GET /api/v1/alerts, `alerts list --json`).
  static std::string RuleState(const json& status, const std::string& rule) {
    for (const json& r : status["rules"]) {
      if (r["name"] == rule) return r["state"];
    }
    return "absent";
  }
  // Polls GET /api/v1/alerts (5 s at most) until `rule` is in `state`.
  bool WaitForState(const std::string& rule, const std::string& state) {
    for (int i = 0; i < 100; ++i) {
      HttpResult r = HttpRequest(port_, "GET", "/api/v1/alerts");
      if (r.status == 200 && RuleState(json::parse(r.body, nullptr, false), rule) == state) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void BadRequest() {
    HttpResult r = HttpRequest(port_, "POST", "/v2/models/fraud/infer",
                               R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",)"
                               R"( "data": [1, 2, 3]}]})");
    EXPECT_EQ(r.status, 400) << r.body;
  }
};

TEST_F(AlertsE2eTest, RulesOverServingMetricsFireAndAreSeenEverywhere) {
  std::ofstream(dir_ / "rules.yaml") << kRules;
  CommandResult checked = Ferry({"alerts", "check", "rules.yaml"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_EQ(checked.out,
            "rules.yaml: ok, 1 group, 2 rules: EndpointReady (info), BadRequests (warning)\n");
  CommandResult applied = Ferry({"alerts", "apply", "rules.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out.rfind("applied alert rule set 1 (sha256:", 0), 0u) << applied.out;

  StartServer();
  ASSERT_TRUE(WaitForState("EndpointReady", "firing"));

  // Two bad requests apart in time: increase() sees the counter grow.
  BadRequest();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  BadRequest();
  ASSERT_TRUE(WaitForState("BadRequests", "firing"));

  json listed = Json({"alerts", "list", "--json"});
  EXPECT_EQ(RuleState(listed, "EndpointReady"), "firing");
  EXPECT_EQ(listed["rule_set"]["applied_by"], "ada");
  CommandResult table = Ferry({"alerts", "list"});
  EXPECT_NE(table.out.find("EndpointReady  serving  info      0s   firing  1"), std::string::npos)
      << table.out;
  json history = Json({"alerts", "history", "--rule", "EndpointReady", "--json"});
  ASSERT_EQ(history["history"].size(), 1u) << history;
  EXPECT_EQ(history["history"][0]["from"], "inactive");
  EXPECT_EQ(history["history"][0]["to"], "firing");
  EXPECT_EQ(history["history"][0]["annotations"]["summary"], "fraud serves");
  json triggers = Json({"alerts", "triggers", "--json"});
  ASSERT_EQ(triggers["triggers"].size(), 1u) << triggers;
  EXPECT_EQ(triggers["triggers"][0]["pipeline"], "retrain");
  EXPECT_EQ(triggers["triggers"][0]["params"]["reason"], "bad-requests");
  EXPECT_EQ(triggers["triggers"][0]["labels"]["endpoint"], "fraud");
  EXPECT_TRUE(triggers["triggers"][0]["consumed_at"].is_null());

  HttpResult metrics = HttpRequest(port_, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("ferry_alerts{alertname=\"EndpointReady\",alertstate=\"firing\","
                              "endpoint=\"fraud\",severity=\"info\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("ferry_alert_evaluations_total{group=\"serving\"} "),
            std::string::npos);
  std::ofstream(dir_ / "metrics.txt") << metrics.body;
  CommandResult lint = RunCommand({"/bin/sh", "-c", "promtool check metrics < metrics.txt"}, dir_);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;

  // Rules over HTTP: a bad file changes nothing; a file without BadRequests resolves it.
  HttpResult bad =
      HttpRequest(port_, "PUT", "/api/v1/alerts/rules",
                  "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: up >\n");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("request body:5: rule X: expr: column 5"), std::string::npos) << bad.body;
  HttpResult huge =
      HttpRequest(port_, "PUT", "/api/v1/alerts/rules", std::string((1 << 20) + 1, '#'));
  EXPECT_EQ(huge.status, 413) << huge.body;
  const std::string only_ready =
      std::string(kRules).substr(0, std::string(kRules).find("      - alert: BadRequests"));
  HttpResult put = HttpRequest(port_, "PUT", "/api/v1/alerts/rules?actor=ci", only_ready);
  ASSERT_EQ(put.status, 200) << put.body;
  json put_body = json::parse(put.body);
  EXPECT_TRUE(put_body["changed"]);
  EXPECT_EQ(put_body["rule_set"]["id"], 2);
  ASSERT_EQ(put_body["retired"].size(), 1u);
  EXPECT_EQ(put_body["retired"][0]["to"], "resolved");
  EXPECT_EQ(HttpRequest(port_, "GET", "/api/v1/alerts/rules").body, only_ready);
  ASSERT_TRUE(WaitForState("BadRequests", "absent"));
  json http_history = json::parse(HttpRequest(port_, "GET", "/api/v1/alerts/history?limit=1").body);
  ASSERT_EQ(http_history["history"].size(), 1u);
  EXPECT_EQ(http_history["history"][0]["rule"], "BadRequests");
  EXPECT_EQ(http_history["history"][0]["to"], "resolved");
  EXPECT_EQ(HttpRequest(port_, "GET", "/api/v1/alerts/history?limit=0").status, 400);

  CommandResult exported = Ferry({"alerts", "export-prometheus", "--output", "prometheus.yaml"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  CommandResult promtool =
      RunCommand({"/bin/sh", "-c", "promtool check rules prometheus.yaml"}, dir_);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(std::chrono::seconds(10)), 0);
  server_.reset();
  EXPECT_NE(Ferry({"alerts", "list"}).out.find("firing"), std::string::npos)
      << "the state outlives the server";
}

}  // namespace
}  // namespace ferry::e2e
