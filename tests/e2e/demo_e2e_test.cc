// `ferry demo` at a reduced size, end to end: the real binary runs the whole closed loop
// and keeps serving its workspace; every stage is then asserted from what the platform
// recorded, over its HTTP API (and the metadata store through the CLI) -- never from the
// demo's printed text.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

// The world changes two live days after the 28 days of history that start on
// 2026-01-01: at 2026-01-31T00:00:00Z.
constexpr char kChange[] = "2026-01-31T00:00:00";

json Get(int port, const std::string& target) {
  HttpResult r = HttpRequest(port, "GET", target);
  EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  return json::parse(r.body, nullptr, false);
}

bool HasStep(const json& run, const std::string& step, const std::string& state) {
  for (const json& s : run["steps"]) {
    if (s["step"] == step && s["state"] == state) return true;
  }
  return false;
}

TEST(DemoE2eTest, TheLoopClosesWithoutAPersonAndEveryStageIsRecorded) {
  testing::TempDir dir;
  // 8000 customers: enough payments after the change for the evaluation gate's recent test
  // rows to tell the models apart; the whole run takes about 25 s.
  Child demo({FERRY_BINARY, "--workspace", "demo", "demo", "--customers", "8000", "--merchants",
              "400", "--live-days", "5", "--change-after", "2", "--keep-serving"},
             dir.path());
  const std::string line =
      demo.WaitForLine("serving on http://127.0.0.1:", std::chrono::minutes(4));
  if (line.empty()) {
    const int code = demo.Wait(std::chrono::seconds(10));
    FAIL() << "the demo did not reach --keep-serving (exit " << code << "): " << demo.Stderr();
  }
  const int port = std::stoi(line.substr(line.find("127.0.0.1:") + 10));

  // 1. The first model: run 1, triggered by hand, trained and registered fraud@1.
  const json runs = Get(port, "/api/v1/pipelines/fraud_retrain/runs?limit=100")["runs"];
  ASSERT_GE(runs.size(), 2u) << runs.dump();
  const json first = Get(port, "/api/v1/pipeline-runs/" + runs.back()["id"].get<std::string>());
  EXPECT_EQ(first["number"], 1);
  EXPECT_EQ(first["trigger"], "manual");
  EXPECT_EQ(first["state"], "succeeded");
  EXPECT_TRUE(HasStep(first, "register", "succeeded")) << first.dump();
  EXPECT_TRUE(HasStep(first, "canary", "skipped")) << first.dump();  // nothing to compare yet

  // 2. Drift and the quality drop were detected after the change, not before.
  std::string drift_fired;
  std::string quality_fired;
  const json history = Get(port, "/api/v1/alerts/history?limit=1000");
  for (const json& h : history["history"]) {
    if (h["to"] != "firing") continue;
    const std::string at = h["at"];
    EXPECT_GE(at, kChange) << "an alert fired before the world changed: " << h.dump();
    if (h["rule"] == "FraudFeatureDrift") drift_fired = at;
    if (h["rule"] == "FraudModelDegraded" && quality_fired.empty()) quality_fired = at;
  }
  EXPECT_FALSE(drift_fired.empty()) << "FraudFeatureDrift never fired";
  ASSERT_FALSE(quality_fired.empty()) << "FraudModelDegraded never fired";

  // 3. The alert triggered a run that read newer data, was blessed, registered fraud@2
  //    and started the canary.
  json retrain;
  for (const json& r : runs) {
    if (r["trigger"] == "alert" && r["state"] == "succeeded") retrain = r;
  }
  ASSERT_FALSE(retrain.is_null()) << runs.dump();
  retrain = Get(port, "/api/v1/pipeline-runs/" + retrain["id"].get<std::string>());
  EXPECT_NE(retrain["trigger_detail"].get<std::string>().find("FraudModelDegraded"),
            std::string::npos)
      << retrain.dump();
  EXPECT_GE(retrain["started_at"].get<std::string>(), quality_fired);
  EXPECT_EQ(retrain["actor"], "ferry-server");
  const std::string read = retrain["inputs"]["transactions"]["ref"];
  EXPECT_NE(read, "transactions@1") << "the retrain read no new data";
  for (const char* step : {"training_set", "split", "train", "evaluate", "register", "canary"}) {
    EXPECT_TRUE(HasStep(retrain, step, "succeeded")) << step << ": " << retrain.dump();
  }
  json registered;
  for (const json& s : retrain["steps"]) {
    if (s["step"] == "register") registered = s["outputs"]["model_version"];
  }
  EXPECT_EQ(registered["ref"], "fraud@2") << retrain.dump();

  // 4. The canary was analysed step by step and promoted by the controller.
  const json rollout = Get(port, "/api/v1/endpoints/fraud/rollout");
  EXPECT_EQ(rollout["candidate_version"], 2) << rollout.dump();
  EXPECT_EQ(rollout["phase"], "promoted") << rollout.dump();
  bool advanced = false;
  bool promoted = false;
  for (const json& e : rollout["events"]) {
    if (e["type"] == "advanced") advanced = true;
    if (e["type"] == "promoted") {
      promoted = true;
      EXPECT_EQ(e["actor"], "rollout-controller");
    }
  }
  EXPECT_TRUE(advanced && promoted) << rollout.dump();

  // 5. Production is fraud@2 and the endpoint serves it, with features from the online
  //    store: a payment with its keys scores on version 2.
  const json model = Get(port, "/api/v1/models/fraud");
  EXPECT_EQ(model["aliases"]["production"], 2) << model.dump();
  const json endpoint = Get(port, "/api/v1/endpoints/fraud");
  EXPECT_EQ(endpoint["version"], 2) << endpoint.dump();
  // A new payment pushed into the online store, then scored by its keys alone.
  HttpResult pushed = HttpRequest(
      port, "POST", "/api/v1/features/push",
      R"({"view": "transaction", "rows": [{"transaction_id": "t-e2e", "event_timestamp":)"
      R"( "2026-02-10T14:00:00Z", "amount": 0.99, "hour": 14, "online": 1, "foreign": 0}]})");
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_EQ(json::parse(pushed.body)["written"], 1);
  HttpResult scored =
      HttpRequest(port, "POST", "/v1/models/fraud:predict",
                  R"({"instances": [{"transaction_id": "t-e2e", "customer_id": "c0000001",)"
                  R"( "merchant_id": "m00001"}]})");
  ASSERT_EQ(scored.status, 200) << scored.body;
  EXPECT_EQ(json::parse(scored.body)["model_version"], "2");
  // What the model read: the pushed payment's features, by their view__feature names.
  const std::string id = json::parse(scored.body)["prediction_ids"][0];
  json logged;
  for (int attempt = 0; attempt < 50 && logged.is_null(); ++attempt) {
    const json newest = Get(port, "/api/v1/endpoints/fraud/predictions?limit=1");
    if (!newest["predictions"].empty() && newest["predictions"][0]["prediction_id"] == id) {
      logged = newest["predictions"][0];
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the log's flush
    }
  }
  ASSERT_FALSE(logged.is_null()) << "prediction " << id << " was not logged";
  const json inputs = Get(port, "/v2/models/fraud")["inputs"];
  ASSERT_EQ(inputs[0]["name"], "transaction__amount") << inputs.dump();
  EXPECT_NEAR(logged["inputs"][0].get<double>(), 0.99, 1e-6) << logged.dump();

  // 6. Lineage: the production model goes down to the data's hashes.
  const json lineage = Get(port, "/api/v1/models/fraud/versions/2/lineage");
  const std::string text = lineage.dump();
  EXPECT_NE(text.find(read), std::string::npos) << text;
  EXPECT_NE(text.find("customer_daily@"), std::string::npos) << text;

  demo.Signal(SIGTERM);
  EXPECT_EQ(demo.Wait(std::chrono::seconds(30)), 0) << demo.Stderr();

  // The workspace the loop wrote is whole: every object matches its hash.
  CommandResult fsck =
      RunCommand({FERRY_BINARY, "--workspace", "demo", "fsck", "--json"}, dir.path());
  ASSERT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_EQ(json::parse(fsck.out)["metadata"], "ok");
  EXPECT_EQ(json::parse(fsck.out)["damaged_objects"].size(), 0u);

  // The metadata store, read by the CLI after the demo ended, tells the same.
  CommandResult shown = RunCommand(
      {FERRY_BINARY, "--workspace", "demo", "models", "show", "fraud", "--json"}, dir.path());
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["aliases"]["production"], 2) << shown.out;
}

TEST(DemoE2eTest, BadOptionsAndAnExistingWorkspaceAreRefusedChangingNothing) {
  testing::TempDir dir;
  CommandResult init = RunCommand({FERRY_BINARY, "--workspace", "taken", "init"}, dir.path());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  CommandResult taken =
      RunCommand({FERRY_BINARY, "--workspace", "taken", "demo", "--customers", "300"}, dir.path());
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.err.find("already holds a ferry workspace"), std::string::npos) << taken.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "taken" / "features.yaml"));

  CommandResult order = RunCommand(
      {FERRY_BINARY, "--workspace", "w", "demo", "--live-days", "3", "--change-after", "3"},
      dir.path());
  EXPECT_EQ(order.exit_code, 2) << order.err;
  EXPECT_NE(order.err.find("--change-after must be less than --live-days"), std::string::npos)
      << order.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "w"));
}

}  // namespace
}  // namespace ferry::e2e
