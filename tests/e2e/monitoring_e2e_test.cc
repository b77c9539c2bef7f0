// End-to-end tests of live monitoring on a running `ferry server`: a model registered
// with its training set as reference, deployed with a monitoring policy, watched over
// real inference traffic -- no drift on traffic like the training data, drift and data
// quality problems on shifted traffic, live quality from feedback, the monitoring API,
// the /metrics families (checked by promtool) and bad policies refused.

#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

const std::vector<std::string> kNames = {"a", "b", "c", "d"};

// Rows like the model's training data: a, b, c uniform integers 0..16, d in {0, 1}.
std::vector<float> Rows(size_t n, float shift, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> value(0, 16);
  std::bernoulli_distribution flag(0.3);
  std::vector<float> rows;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(static_cast<float>(value(rng)) + shift);
    rows.push_back(static_cast<float>(value(rng)));
    rows.push_back(static_cast<float>(value(rng)));
    rows.push_back(flag(rng) ? 1.0f : 0.0f);
  }
  return rows;
}

class MonitoringE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    // Every row monitored (the default cap would sample this test's bursts).
    Write(".ferry/config.yaml",
          "server:\n  access_log: false\nserving:\n  monitoring_max_rows_per_second: 0\n");
    std::mt19937_64 rng(1);
    const std::vector<float> train = Rows(3000, 0, rng);
    std::ofstream csv(dir_ / "train.csv");
    csv << "a,b,c,d\n";
    for (size_t i = 0; i < train.size(); i += 4) {
      csv << train[i] << "," << train[i + 1] << "," << train[i + 2] << "," << train[i + 3] << "\n";
    }
    csv.close();
    ASSERT_EQ(Ferry({"data", "add", "train", "train.csv"}).exit_code, 0);
    testing::WriteXGBoostModel(dir_ / "m.json", 4, kNames, 5);
    CommandResult r = Ferry({"models", "register", "scorer", "--artifact", "m.json", "--reference",
                             "train@1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Write("monitoring.yaml",
          "min_rows: 200\nfeatures:\n  b: {method: psi, threshold: 0.25}\n"
          "quality: {min_labels: 300}\n");
    r = Ferry({"deploy", "scorer", "--model", "scorer@1", "--monitoring", "monitoring.yaml"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    StartServer();
  }

  // Sends `requests` requests of 20 rows; returns their prediction ids and rows.
  std::vector<std::string> Send(int requests, float shift, uint64_t seed,
                                std::vector<float>* sent = nullptr) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> ids;
    for (int i = 0; i < requests; ++i) {
      const std::vector<float> rows = Rows(20, shift, rng);
      const json request = {{"inputs",
                             {{{"name", "input"}, {"shape", {20, 4}}, {"datatype", "FP32"},
                               {"data", rows}}}}};
      HttpResult r = Http("POST", "/v2/models/scorer/infer", request.dump());
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json response = json::parse(r.body);
      for (const json& id : response["parameters"]["prediction_ids"]) ids.push_back(id);
      if (sent != nullptr) sent->insert(sent->end(), rows.begin(), rows.end());
    }
    return ids;
  }
  json Monitoring() {
    HttpResult r = Http("GET", "/api/v1/deployments/scorer/monitoring");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body)["models"][0] : json();
  }
  static const json& Feature(const json& model, const std::string& name) {
    for (const json& f : model["drift"]["features"]) {
      if (f["name"] == name) return f;
    }
    static const json kNone;
    ADD_FAILURE() << "no feature " << name;
    return kNone;
  }
};

TEST_F(MonitoringE2eTest, TrafficLikeTheTrainingDataShowsNoDriftAndShiftedTrafficDoes) {
  Send(100, 0, 2);
  json model = Monitoring();
  EXPECT_EQ(model["role"], "stable");
  EXPECT_EQ(model["reference"]["dataset"], "train@1");
  EXPECT_EQ(model["monitored_rows"], 2000);
  EXPECT_EQ(Feature(model, "a")["method"], "wasserstein");
  EXPECT_EQ(Feature(model, "b")["method"], "psi");
  EXPECT_EQ(Feature(model, "b")["threshold"], 0.25);
  EXPECT_EQ(Feature(model, "d")["method"], "jensenshannon");
  for (const json& f : model["drift"]["features"]) {
    EXPECT_EQ(f["drifted"], false) << f.dump();
  }
  EXPECT_EQ(model["drift"]["dataset_drift"], false);
  EXPECT_TRUE(model["latency_seconds"]["p99"].is_number());
  // The endpoint's status carries the window's traffic too (latency from its sketches).
  HttpResult status = Http("GET", "/api/v1/endpoints/scorer");
  ASSERT_EQ(status.status, 200) << status.body;
  const json traffic = json::parse(status.body)["traffic"];
  EXPECT_EQ(traffic["requests"], 100) << status.body;
  EXPECT_GT(traffic["latency_seconds"]["p99"].get<double>(), 0) << status.body;
  EXPECT_GE(traffic["latency_seconds"]["p99"].get<double>(),
            traffic["latency_seconds"]["p50"].get<double>());

  // The same rows shifted by 8 in `a`: half of them above anything in training.
  Send(400, 8, 3);
  model = Monitoring();
  EXPECT_EQ(Feature(model, "a")["drifted"], true) << Feature(model, "a").dump();
  EXPECT_GT(Feature(model, "a")["statistic"].get<double>(), 0.3);
  EXPECT_EQ(Feature(model, "b")["drifted"], false);
  // a + 8 > 16 for a in 9..16: 8 of 17 shifted rows, 8000 of the 10000 in the window.
  EXPECT_NEAR(model["drift"]["data_quality"][0]["out_of_range_rate"].get<double>(),
              8.0 / 17 * 0.8, 0.03);
  EXPECT_EQ(model["unmonitored_rows"], 0);
  EXPECT_FALSE(model.contains("distributions"));

  // The distributions behind the charts. `a` takes 17 values, so it is shown by value:
  // the shifted rows above 16 are values the reference never had.
  HttpResult r = Http("GET", "/api/v1/deployments/scorer/monitoring?distributions=true");
  ASSERT_EQ(r.status, 200) << r.body;
  const json distributions = json::parse(r.body)["models"][0]["distributions"];
  ASSERT_EQ(distributions.size(), 5u) << r.body;  // a, b, c, d, then the prediction
  const json& a = distributions[0];
  EXPECT_EQ(a["name"], "a") << a.dump();
  EXPECT_EQ(a["kind"], "categorical");
  ASSERT_EQ(a["categories"].size(), 17u);
  ASSERT_EQ(a["reference_counts"].size(), 17u);
  ASSERT_EQ(a["live_counts"].size(), 17u);
  int64_t seen = 0;
  for (const json& c : a["live_counts"]) seen += c.get<int64_t>();
  EXPECT_EQ(seen + a["live_unseen"].get<int64_t>(), a["live_rows"].get<int64_t>());
  EXPECT_NEAR(a["live_unseen"].get<double>() / a["live_rows"].get<double>(), 8.0 / 17 * 0.8, 0.03);
  // The model's score (this test model gives two values: shown by value too).
  EXPECT_EQ(distributions[4]["name"], "prediction");
  EXPECT_EQ(distributions[4]["reference_rows"], 1000) << distributions[4].dump();
  HttpResult bad = Http("GET", "/api/v1/deployments/scorer/monitoring?distributions=maybe");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Http("GET", "/api/v1/deployments/scorer/monitoring?histograms=true");
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(MonitoringE2eTest, FeedbackGivesLiveQualityWithLabelDelays) {
  std::vector<float> rows;
  const std::vector<std::string> ids = Send(20, 0, 4, &rows);
  ASSERT_EQ(ids.size(), 400u);
  json feedback = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    // The pattern the model was trained on: label 1 when a > 8.
    feedback.push_back({{"prediction_id", ids[i]}, {"label", rows[i * 4] > 8 ? 1 : 0}});
  }
  // Predictions reach the log within its flush interval; feedback for ones not yet
  // there comes back as unknown, so send until every label is taken.
  const auto send_feedback = [&](const json& labels) {
    size_t accepted = 0;
    for (int attempt = 0; attempt < 50 && accepted < labels.size(); ++attempt) {
      HttpResult r = Http("POST", "/api/v1/feedback", json{{"feedback", labels}}.dump());
      ASSERT_EQ(r.status, 200) << r.body;
      accepted = json::parse(r.body)["accepted"];
      if (accepted < labels.size()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(accepted, labels.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past the quality cache
  };
  // Fewer labels than the policy's quality.min_labels (300): no metrics, and why.
  send_feedback(json(std::vector<json>(feedback.begin(), feedback.begin() + 200)));
  const json few = Monitoring()["quality"];
  EXPECT_EQ(few["labeled"], 200) << few.dump();
  EXPECT_TRUE(few["metrics"].empty()) << few.dump();
  EXPECT_NE(few["note"].get<std::string>().find("fewer than quality.min_labels (300)"),
            std::string::npos)
      << few.dump();
  send_feedback(json(std::vector<json>(feedback.begin() + 200, feedback.end())));
  const json quality = Monitoring()["quality"];
  EXPECT_EQ(quality["labeled"], 400) << quality.dump();
  for (const char* metric : {"accuracy", "precision", "recall", "auc", "logloss"}) {
    EXPECT_TRUE(quality["metrics"][metric].is_number()) << metric << " " << quality.dump();
  }
  EXPECT_GT(quality["metrics"]["auc"].get<double>(), 0.9);
  EXPECT_GE(quality["label_delay_seconds"]["p50"].get<double>(), 0);
}

TEST_F(MonitoringE2eTest, MetricsCarryTheMonitoringAndDataFamiliesAndPassPromtool) {
  Send(50, 0, 5);
  HttpResult r = Http("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  for (const char* line :
       {"ferry_feature_drift_score{endpoint=\"scorer\",model=\"scorer\",version=\"1\","
        "feature=\"a\",method=\"wasserstein\"}",
        "ferry_feature_drift_detected{endpoint=\"scorer\",model=\"scorer\",version=\"1\","
        "feature=\"b\"} 0",
        "ferry_dataset_drift_detected{endpoint=\"scorer\",model=\"scorer\",version=\"1\"} 0",
        "ferry_monitoring_window_rows{endpoint=\"scorer\",model=\"scorer\",version=\"1\"} 1000",
        "ferry_feature_missing_ratio{endpoint=\"scorer\",model=\"scorer\",version=\"1\","
        "feature=\"c\"} 0",
        // Batch sizes: 50 requests of 20 rows.
        "ferry_inference_request_rows_bucket{endpoint=\"scorer\",model=\"scorer\","
        "version=\"1\",le=\"10\"} 0",
        "ferry_inference_request_rows_bucket{endpoint=\"scorer\",model=\"scorer\","
        "version=\"1\",le=\"20\"} 50",
        "ferry_dataset_versions{dataset=\"train\"} 1",
        "ferry_dataset_latest_rows{dataset=\"train\"} 3000",
        "ferry_prediction_log_queue_depth "}) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line;
  }
  std::ofstream(dir_ / "metrics.txt") << r.body;
  CommandResult check = RunCommand({"/bin/sh", "-c", "promtool check metrics < metrics.txt"}, dir_);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(MonitoringE2eTest, BadPoliciesAreRefusedAndLeaveTheDeploymentAsItWas) {
  std::ofstream(dir_ / "bad.yaml") << "window: {duration: 1h, rows: 10}\n";
  CommandResult r = Ferry({"deploy", "scorer", "--model", "scorer@1", "--monitoring", "bad.yaml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.yaml: window: give either duration"), std::string::npos) << r.err;
  HttpResult put = Http("PUT", "/api/v1/endpoints/scorer",
                               json{{"model", "scorer@1"},
                                    {"monitoring", {{"features", {{"a", {{"method", "magic"}}}}}}}}
                                   .dump());
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_NE(put.body.find("unknown drift method \\\"magic\\\""), std::string::npos) << put.body;
  // Still the policy deployed at set-up, also after a redeploy that does not name one.
  ASSERT_EQ(Ferry({"deploy", "scorer", "--model", "scorer@1"}).exit_code, 0);
  r = Ferry({"deploy", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json list = json::parse(r.out);
  const json& policy = list.is_array() ? list[0]["monitoring"] : list["endpoints"][0]["monitoring"];
  EXPECT_EQ(policy["features"]["b"]["method"], "psi") << r.out;
  EXPECT_EQ(policy["min_rows"], 200);
  HttpResult unknown = Http("GET", "/api/v1/deployments/nobody/monitoring");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

}  // namespace
}  // namespace ferry::e2e
