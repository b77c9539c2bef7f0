// End-to-end test of pipeline triggers in a running `ferry server`: an applied pipeline
// whose step is a shell command is started over HTTP (POST /api/v1/pipelines/{name}/runs),
// by a new version of its input dataset, and by a real drift alert from the monitoring
// engine (a served model fed shifted traffic; an alert rule whose pipeline action names
// the pipeline) -- each exactly once, each run executed by the server's own `ferry` child
// process to success.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

constexpr char kPipeline[] = R"(name: retrain
params: {reason: manual}
triggers:
  - dataset: events
  - alert: FeatureDrift
  - manual: {}
steps:
  - id: hello
    run: echo hi from $FERRY_PARAM_REASON > $FERRY_OUTPUT_OUT
    outputs: [out]
)";

constexpr char kRules[] = R"(groups:
  - name: monitoring
    rules:
      - alert: FeatureDrift
        expr: ferry_feature_drift_detected{endpoint="scorer",feature="a"} == 1
        for: 0s
        actions:
          - pipeline: {name: retrain, params: {reason: drift}}
)";

class PipelineTriggersE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    Write(".ferry/config.yaml",
          "server:\n  access_log: false\n"
          "serving:\n  poll_interval_ms: 50\n  monitoring_max_rows_per_second: 0\n"
          "alerts:\n  evaluation_interval_ms: 100\n"
          "pipelines:\n  trigger_interval_ms: 100\n");
    // A reference for drift: a and b uniform in 0..9.
    std::ofstream train(dir_ / "train.csv");
    train << "a,b\n";
    for (int i = 0; i < 1000; ++i) train << i % 10 << "," << (i * 7) % 10 << "\n";
    train.close();
    ASSERT_EQ(Ferry({"data", "add", "train", "train.csv"}).exit_code, 0);
    testing::WriteXGBoostModel(dir_ / "m.json", 2, {"a", "b"});
    CommandResult r =
        Ferry({"models", "register", "scorer", "--artifact", "m.json", "--reference", "train@1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Write("monitoring.yaml", "min_rows: 200\n");
    r = Ferry({"deploy", "scorer", "--model", "scorer@1", "--monitoring", "monitoring.yaml"});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    Write("events.csv", "x\n1\n");
    ASSERT_EQ(Ferry({"data", "add", "events", "events.csv"}).exit_code, 0);
    Write("retrain.yaml", kPipeline);
    r = Ferry({"pipeline", "apply", "retrain.yaml"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Write("rules.yaml", kRules);
    r = Ferry({"alerts", "apply", "rules.yaml"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    StartServer();
  }

  json GetJson(const std::string& target) {
    HttpResult r = Http("GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The pipeline's runs, newest first.
  json Runs() { return GetJson("/api/v1/pipelines/retrain/runs")["runs"]; }
  // Polls (10 s at most) until a run of `trigger` has ended; returns it.
  json WaitForEndedRun(const std::string& trigger) {
    for (int i = 0; i < 200; ++i) {
      for (const json& run : Runs()) {
        if (run["trigger"] == trigger && !run["ended_at"].is_null()) return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no " << trigger << " run ended; runs: " << Runs().dump();
    return json();
  }
  int CountRuns(const std::string& trigger) {
    int n = 0;
    for (const json& run : Runs()) n += run["trigger"] == trigger ? 1 : 0;
    return n;
  }
  // Sends rows with `a` shifted far past anything in the reference.
  void SendDriftedTraffic() {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int> digit(0, 9);
    for (int request = 0; request < 15; ++request) {
      std::vector<float> rows;
      for (int i = 0; i < 20; ++i) {
        rows.push_back(static_cast<float>(digit(rng) + 50));
        rows.push_back(static_cast<float>(digit(rng)));
      }
      const json body = {
          {"inputs",
           {{{"name", "input"}, {"shape", {20, 2}}, {"datatype", "FP32"}, {"data", rows}}}}};
      HttpResult r = Http("POST", "/v2/models/scorer/infer", body.dump());
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }
};

TEST_F(PipelineTriggersE2eTest, ManualDatasetAndAlertTriggersEachFireExactlyOneRun) {
  // Manual, over HTTP.
  HttpResult bad = Http("POST", "/api/v1/pipelines/retrain/runs", R"({"params": {"rounds": 3}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("declares no param \\\"rounds\\\""), std::string::npos) << bad.body;
  EXPECT_EQ(Http("POST", "/api/v1/pipelines/nightly/runs").status, 404);
  HttpResult posted = Http("POST", "/api/v1/pipelines/retrain/runs",
                           R"({"params": {"reason": "asked"}, "actor": "ada"})");
  ASSERT_EQ(posted.status, 202) << posted.body;
  const json started = json::parse(posted.body);
  EXPECT_EQ(started["outcome"], "started");
  const std::string id = started["run"]["id"];
  json manual = WaitForEndedRun("manual");
  EXPECT_EQ(manual["id"], id);
  EXPECT_EQ(manual["state"], "succeeded") << manual.dump();
  EXPECT_EQ(manual["actor"], "ada");
  EXPECT_EQ(manual["params"]["reason"], "asked");
  json one = GetJson("/api/v1/pipeline-runs/" + id);
  ASSERT_EQ(one["steps"].size(), 1u) << one.dump();
  EXPECT_EQ(one["steps"][0]["state"], "succeeded");
  EXPECT_TRUE(std::filesystem::exists(dir_ / ".ferry/pipelines/logs" / (id + ".log")));
  EXPECT_EQ(Http("POST", "/api/v1/pipeline-runs/" + id + "/cancel").status, 409) << "it has ended";

  // A new version of the input dataset, once the runner has seen events@1 (its first
  // look only records the version; it ticks every 100 ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Write("events.csv", "x\n1\n2\n");
  ASSERT_EQ(Ferry({"data", "add", "events", "events.csv"}).exit_code, 0);
  json by_dataset = WaitForEndedRun("dataset");
  EXPECT_EQ(by_dataset["state"], "succeeded") << by_dataset.dump();
  EXPECT_EQ(by_dataset["trigger_detail"], "events@2");

  // A real drift alert, raised by the monitoring engine's metrics.
  SendDriftedTraffic();
  json by_alert = WaitForEndedRun("alert");
  EXPECT_EQ(by_alert["state"], "succeeded") << by_alert.dump();
  EXPECT_EQ(by_alert["params"]["reason"], "drift");
  EXPECT_EQ(by_alert["trigger_detail"].get<std::string>().rfind("FeatureDrift {endpoint=", 0), 0u)
      << by_alert.dump();

  // Several more ticks: still one run of each.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(CountRuns("manual"), 1);
  EXPECT_EQ(CountRuns("dataset"), 1);
  EXPECT_EQ(CountRuns("alert"), 1) << "the firing's action and its history are one trigger";
  json events = GetJson("/api/v1/pipelines/retrain/triggers")["triggers"];
  std::vector<std::string> outcomes;
  for (const json& e : events)
    outcomes.insert(outcomes.begin(),
                    e["kind"].get<std::string>() + " " + e["outcome"].get<std::string>());
  EXPECT_EQ(outcomes, (std::vector<std::string>{"manual refused", "manual started",
                                                "dataset started", "alert started"}));
  json triggers = GetJson("/api/v1/alerts/triggers")["triggers"];
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_FALSE(triggers[0]["consumed_at"].is_null());

  json pipelines = GetJson("/api/v1/pipelines")["pipelines"];
  ASSERT_EQ(pipelines.size(), 1u);
  EXPECT_EQ(pipelines[0]["name"], "retrain");
  EXPECT_EQ(pipelines[0]["triggers"].size(), 3u);
  EXPECT_EQ(pipelines[0]["last_run"]["trigger"], "alert");
}

}  // namespace
}  // namespace ferry::e2e
