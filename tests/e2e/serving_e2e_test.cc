// End-to-end tests of model serving on a running `ferry server`: the Open Inference
// Protocol v2 (JSON and binary tensors) and v1 APIs, enrichment from the online store,
// prediction ids and feedback, bad input, hot swap under load, restarts, and a corrupt
// model in the store.

#include <signal.h>
#include <sys/stat.h>
#include <xgboost/c_api.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;
using std::chrono_literals::operator""s;

constexpr int kFeatures = 4;
const std::vector<std::string> kNames = {"a", "b", "c", "d"};

// Predictions of the model at `path` by libxgboost itself, the reference.
std::vector<float> Reference(const std::filesystem::path& path, const std::vector<float>& rows) {
  BoosterHandle booster = nullptr;
  EXPECT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  EXPECT_EQ(XGBoosterLoadModel(booster, path.c_str()), 0) << XGBGetLastError();
  DMatrixHandle matrix = nullptr;
  const size_t n = rows.size() / kFeatures;
  EXPECT_EQ(XGDMatrixCreateFromMat(rows.data(), n, kFeatures, NAN, &matrix), 0);
  bst_ulong length = 0;
  const float* out = nullptr;
  EXPECT_EQ(XGBoosterPredict(booster, matrix, 0, 0, 0, &length, &out), 0) << XGBGetLastError();
  std::vector<float> result(out, out + length);
  XGDMatrixFree(matrix);
  XGBoosterFree(booster);
  return result;
}

std::string Le32(float v) {
  char bytes[4];
  std::memcpy(bytes, &v, 4);
  return std::string(bytes, 4);
}

class ServingE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    if (HasFatalFailure()) return;
    testing::WriteXGBoostModel(dir_ / "m1.json", kFeatures, kNames, 3);
    testing::WriteXGBoostModel(dir_ / "m2.json", kFeatures, kNames, 8);
    for (const char* file : {"m1.json", "m2.json"}) {
      CommandResult r = Ferry({"models", "register", "fraud", "--artifact", file});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    CommandResult alias = Ferry({"models", "alias", "fraud@1", "production"});
    ASSERT_EQ(alias.exit_code, 0) << alias.err;
  }
};

const std::vector<float> kRows = {1, 2, 3, 4, 12, 0, 16, 5, 9, 9, 9, 9};

void ExpectNear(const json& data, const std::vector<float>& expected) {
  ASSERT_EQ(data.size(), expected.size()) << data;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(data[i].get<double>(), expected[i], 1e-6) << "value " << i;
  }
}

TEST_F(ServingE2eTest, ServesV2AndV1RequestsWithTheModelsOwnPredictions) {
  StartServer();
  Deploy("fraud", "fraud@production");
  const std::vector<float> expected = Reference(dir_ / "m1.json", kRows);

  json server = json::parse(Http("GET", "/v2").body);
  EXPECT_EQ(server["extensions"], json({"binary_tensor_data"}));
  HttpResult meta = Http("GET", "/v2/models/fraud");
  ASSERT_EQ(meta.status, 200) << meta.body;
  json metadata = json::parse(meta.body);
  EXPECT_EQ(metadata["name"], "fraud");
  EXPECT_EQ(metadata["versions"], json({"1"}));
  EXPECT_EQ(metadata["platform"], "xgboost_json");
  ASSERT_EQ(metadata["inputs"].size(), 4u);
  EXPECT_EQ(metadata["inputs"][2]["name"], "c");
  EXPECT_EQ(metadata["outputs"][0]["name"], "predict");
  EXPECT_EQ(Http("GET", "/v2/models/fraud/ready").status, 200);
  EXPECT_EQ(Http("GET", "/v2/models/fraud/versions/1/ready").status, 200);
  EXPECT_EQ(Http("GET", "/v2/models/fraud/versions/2/ready").status, 404);

  // One tensor of whole rows, nested data, an id to echo.
  json matrix = Infer("fraud", {{"id", "req-1"},
                                {"inputs", {{{"name", "x"},
                                             {"shape", {3, 4}},
                                             {"datatype", "FP32"},
                                             {"data", {{1, 2, 3, 4}, {12, 0, 16, 5}, {9, 9, 9, 9}}}}}}});
  EXPECT_EQ(matrix["model_name"], "fraud");
  EXPECT_EQ(matrix["model_version"], "1");
  EXPECT_EQ(matrix["id"], "req-1");
  ASSERT_EQ(matrix["outputs"].size(), 1u);
  EXPECT_EQ(matrix["outputs"][0]["name"], "predict");
  EXPECT_EQ(matrix["outputs"][0]["shape"], json({3}));
  ExpectNear(matrix["outputs"][0]["data"], expected);
  const json ids = matrix["parameters"]["prediction_ids"];
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[0], ids[1]);

  // One tensor per feature, in any order, other datatypes.
  json columns = Infer("fraud", {{"inputs",
                                  {{{"name", "d"}, {"shape", {3}}, {"datatype", "INT32"}, {"data", {4, 5, 9}}},
                                   {{"name", "a"}, {"shape", {3, 1}}, {"datatype", "FP64"}, {"data", {1, 12, 9}}},
                                   {{"name", "b"}, {"shape", {3}}, {"datatype", "UINT8"}, {"data", {2, 0, 9}}},
                                   {{"name", "c"}, {"shape", {3}}, {"datatype", "FP32"}, {"data", {3, 16, 9}}}}}});
  ExpectNear(columns["outputs"][0]["data"], expected);

  // A pinned version's own route.
  json versioned = json::parse(
      Http("POST", "/v2/models/fraud/versions/1/infer",
           json{{"inputs", {{{"name", "x"}, {"shape", {1, 4}}, {"datatype", "FP32"}, {"data", {1, 2, 3, 4}}}}}}
               .dump())
          .body);
  ExpectNear(versioned["outputs"][0]["data"], {expected[0]});

  // v1: arrays in signature order, and objects by name.
  HttpResult v1 = Http("POST", "/v1/models/fraud:predict",
                       json{{"instances", {{1, 2, 3, 4}, {12, 0, 16, 5}, {9, 9, 9, 9}}}}.dump());
  ASSERT_EQ(v1.status, 200) << v1.body;
  json v1_answer = json::parse(v1.body);
  ExpectNear(v1_answer["predictions"], expected);
  EXPECT_EQ(v1_answer["model_version"], "1");
  EXPECT_EQ(v1_answer["prediction_ids"].size(), 3u);
  HttpResult objects = Http("POST", "/v1/models/fraud:predict",
                            json{{"instances", {{{"d", 4}, {"c", 3}, {"b", 2}, {"a", 1}}}}}.dump());
  ASSERT_EQ(objects.status, 200) << objects.body;
  ExpectNear(json::parse(objects.body)["predictions"], {expected[0]});
  json v1_status = json::parse(Http("GET", "/v1/models/fraud").body);
  EXPECT_EQ(v1_status["model_version_status"][0]["state"], "AVAILABLE");

  // The CLI asks the running server what it serves.
  CommandResult status = Ferry({"deploy", "status", "fraud", "--server",
                                "http://127.0.0.1:" + std::to_string(port_)});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("  state             READY\n"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("  serving           version 1 (target 1)\n"), std::string::npos)
      << status.out;
}

TEST_F(ServingE2eTest, BinaryTensorsInAndOutWithNaNAsMissing) {
  StartServer();
  Deploy("fraud", "fraud@1");
  std::vector<float> rows = kRows;
  rows[1] = NAN;  // missing: the split's default branch, as XGBoost does
  const std::vector<float> expected = Reference(dir_ / "m1.json", rows);
  std::string binary;
  for (float v : rows) binary += Le32(v);
  const std::string header =
      json{{"inputs", {{{"name", "x"}, {"shape", {3, 4}}, {"datatype", "FP32"},
                        {"parameters", {{"binary_data_size", binary.size()}}}}}},
           {"outputs", {{{"name", "predict"}, {"parameters", {{"binary_data", true}}}}}}}
          .dump();
  HttpResult r = Http("POST", "/v2/models/fraud/infer", header + binary,
                      {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t at = r.headers.find("Inference-Header-Content-Length: ");
  ASSERT_NE(at, std::string::npos) << r.headers;
  const size_t json_length = std::stoul(r.headers.substr(at + 33));
  json head = json::parse(r.body.substr(0, json_length));
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 12);
  ASSERT_EQ(r.body.size(), json_length + 12);
  std::vector<float> got(3);
  std::memcpy(got.data(), r.body.data() + json_length, 12);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(got[i], expected[i], 1e-6);

  // Infinity is refused, not compared like a number.
  std::string inf = Le32(INFINITY) + Le32(1) + Le32(2) + Le32(3);
  const std::string inf_header =
      json{{"inputs", {{{"name", "x"}, {"shape", {1, 4}}, {"datatype", "FP32"},
                        {"parameters", {{"binary_data_size", 16}}}}}}}
          .dump();
  HttpResult refused = Http("POST", "/v2/models/fraud/infer", inf_header + inf,
                            {{"Inference-Header-Content-Length", std::to_string(inf_header.size())}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("infinite"), std::string::npos) << refused.body;
}

TEST_F(ServingE2eTest, BadRequestsGetClearErrors) {
  Write(".ferry/config.yaml", "serving:\n  max_batch_rows: 100\n  poll_interval_ms: 50\n");
  StartServer();
  Deploy("fraud", "fraud@1");
  const auto error_of = [&](const std::string& target, const std::string& body) {
    HttpResult r = Http("POST", target, body);
    json parsed = json::parse(r.body, nullptr, false);
    return std::make_pair(r.status, parsed.is_object() && parsed["error"].is_string()
                                        ? parsed["error"].get<std::string>()
                                        : r.body);
  };
  const auto tensor = [](json shape, json data, std::string name = "x",
                         std::string type = "FP32") {
    return json{{"inputs", {{{"name", name}, {"shape", shape}, {"datatype", type}, {"data", data}}}}}
        .dump();
  };
  struct Case {
    std::string target;
    std::string body;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/v2/models/nope/infer", tensor({1, 4}, {1, 2, 3, 4}), 404, "no endpoint named \"nope\""},
      {"/v2/models/fraud/versions/7/infer", tensor({1, 4}, {1, 2, 3, 4}), 404, "not version 7"},
      {"/v2/models/fraud/infer", tensor({1, 3}, {1, 2, 3}), 400, "takes 4 inputs"},
      {"/v2/models/fraud/infer", tensor({1, 4}, {1, 2, 3}), 400, ""},
      {"/v2/models/fraud/infer", tensor({0, 4}, json::array()), 400, "empty"},
      {"/v2/models/fraud/infer", tensor({1}, {1}, "zz"), 400, "unknown input \"zz\""},
      {"/v2/models/fraud/infer", tensor({1}, {1}, "a"), 400, "missing inputs b, c, d"},
      {"/v2/models/fraud/infer", tensor({1, 4}, {"x", 2, 3, 4}), 400, ""},
      {"/v2/models/fraud/infer", tensor({1, 4}, {1, 2, 3, 4}, "x", "FLOAT"), 400, ""},
      {"/v2/models/fraud/infer", "{not json", 400, ""},
      {"/v2/models/fraud/infer", tensor({101, 4}, std::vector<int>(404, 1)), 413, "100"},
      {"/v1/models/fraud:predict", R"({"instances": []})", 400, ""},
      {"/v1/models/fraud:predict", R"({"instances": [[1, 2]]})", 400, "takes 4 inputs"},
      {"/v1/models/fraud:predict", R"({"rows": [[1, 2, 3, 4]]})", 400, "instances"},
  };
  for (const Case& c : cases) {
    auto [status, message] = error_of(c.target, c.body);
    EXPECT_EQ(status, c.status) << c.target << " " << c.body << " -> " << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
    EXPECT_FALSE(message.empty()) << c.body;
  }
  // The endpoint still serves after all that.
  json ok = Infer("fraud", json::parse(tensor({1, 4}, {1, 2, 3, 4})));
  EXPECT_EQ(ok["model_version"], "1");
}

TEST_F(ServingE2eTest, FeedbackJoinsLoggedPredictions) {
  StartServer();
  Deploy("fraud", "fraud@1");
  json answer = Infer("fraud", {{"inputs", {{{"name", "x"}, {"shape", {2, 4}}, {"datatype", "FP32"},
                                             {"data", {1, 2, 3, 4, 12, 0, 16, 5}}}}}});
  const json ids = answer["parameters"]["prediction_ids"];
  ASSERT_EQ(ids.size(), 2u);
  HttpResult feedback =
      Http("POST", "/api/v1/feedback",
           json{{"feedback", {{{"prediction_id", ids[0]}, {"label", 1}},
                              {{"prediction_id", ids[1]}, {"label", false}},
                              {{"prediction_id", "never-issued"}, {"label", 0}}}}}
               .dump());
  ASSERT_EQ(feedback.status, 200) << feedback.body;
  json result = json::parse(feedback.body);
  EXPECT_EQ(result["accepted"], 2);
  EXPECT_EQ(result["unknown"], 1);
  EXPECT_EQ(result["unknown_ids"], json({"never-issued"}));

  HttpResult logged = Http("GET", "/api/v1/endpoints/fraud/predictions?labeled=true");
  ASSERT_EQ(logged.status, 200) << logged.body;
  json predictions = json::parse(logged.body)["predictions"];
  ASSERT_EQ(predictions.size(), 2u);
  std::map<std::string, double> labels;
  for (const json& p : predictions) {
    labels[p["prediction_id"]] = p["label"];
    EXPECT_EQ(p["model"], "fraud@1");
    EXPECT_EQ(p["inputs"].size(), 4u);
  }
  EXPECT_EQ(labels[ids[0]], 1.0);
  EXPECT_EQ(labels[ids[1]], 0.0);

  HttpResult bad = Http("POST", "/api/v1/feedback", R"({"feedback": [{"prediction_id": "x"}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(ServingE2eTest, AliasMovesSwapModelsUnderLoadWithoutAFailedRequest) {
  // Thousands of requests: no access log, whose lines would fill the test's stderr pipe.
  Write(".ferry/config.yaml",
        "server:\n  access_log: false\nserving:\n  poll_interval_ms: 50\n");
  StartServer();
  Deploy("fraud", "fraud@production");
  const std::vector<float> v1 = Reference(dir_ / "m1.json", {1, 2, 3, 4});
  const std::vector<float> v2 = Reference(dir_ / "m2.json", {1, 2, 3, 4});
  ASSERT_GT(std::abs(v1[0] - v2[0]), 1e-4);
  const std::string body =
      json{{"inputs", {{{"name", "x"}, {"shape", {1, 4}}, {"datatype", "FP32"}, {"data", {1, 2, 3, 4}}}}}}
          .dump();

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, wrong{0}, served_v1{0}, served_v2{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        HttpResult r = HttpRequest(port_, "POST", "/v2/models/fraud/infer", body);
        if (r.status != 200) {
          ++failures;
          continue;
        }
        json answer = json::parse(r.body);
        const double p = answer["outputs"][0]["data"][0];
        const std::string version = answer["model_version"];
        const double want = version == "1" ? v1[0] : v2[0];
        if (std::abs(p - want) > 1e-6) ++wrong;
        ++(version == "1" ? served_v1 : served_v2);
      }
    });
  }
  for (int move = 0; move < 6; ++move) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CommandResult r = Ferry({"models", "alias", move % 2 == 0 ? "fraud@2" : "fraud@1", "production"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(served_v1, 0);
  EXPECT_GT(served_v2, 0);

  // The alias last moved to version 1; the endpoint followed.
  json status = json::parse(Http("GET", "/api/v1/endpoints/fraud").body);
  EXPECT_EQ(status["version"], 1);
  EXPECT_EQ(status["model"], "fraud@production");
}

TEST_F(ServingE2eTest, ARestartedServerRestoresItsEndpointsAndACorruptModelFailsAlone) {
  StartServer();
  Deploy("fraud", "fraud@production");
  StopServer();
  CommandResult deployed = Ferry({"deploy", "other", "--model", "fraud@2"});  // server down
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;

  // Damage version 2's artifact in the object store.
  CommandResult shown = Ferry({"models", "show", "fraud@2", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const std::string digest = json::parse(shown.out)["artifact_digest"];
  const std::filesystem::path object = dir_ / ".ferry" / "objects" / digest.substr(0, 2) / digest;
  ASSERT_TRUE(std::filesystem::exists(object)) << object;
  ::chmod(object.c_str(), 0644);
  {
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(object) / 2));
    f.put('\x5a');
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(object) / 2 + 1));
    f.put('\x5a');
  }

  StartServer();
  const std::string body =
      json{{"inputs", {{{"name", "x"}, {"shape", {1, 4}}, {"datatype", "FP32"}, {"data", {1, 2, 3, 4}}}}}}
          .dump();
  HttpResult ok = Http("POST", "/v2/models/fraud/infer", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  HttpResult broken = Http("POST", "/v2/models/other/infer", body);
  EXPECT_EQ(broken.status, 503) << broken.body;
  EXPECT_NE(broken.body.find("not ready"), std::string::npos) << broken.body;
  EXPECT_EQ(Http("GET", "/v2/models/other/ready").status, 400);
  json status = json::parse(Http("GET", "/api/v1/endpoints/other").body);
  EXPECT_EQ(status["state"], "FAILED");
  EXPECT_NE(status["reason"].get<std::string>().find("damaged"), std::string::npos) << status;
}

TEST_F(ServingE2eTest, ACanaryStartedOverHttpIsAnalysedAndPromotedByTheServer) {
  // Real time, short: analysis every second, the controller looking every 100 ms.
  Write(".ferry/config.yaml",
        "server:\n  access_log: false\nserving:\n  poll_interval_ms: 50\n  rollout_tick_ms: 100\n");
  StartServer();
  Deploy("fraud", "fraud@production");
  HttpResult started = Http(
      "POST", "/api/v1/endpoints/fraud/rollout",
      json{{"canary", "fraud@2"},
           {"policy", {{"steps", {50, 100}}, {"interval", "1s"}, {"min_requests", 20},
                       {"max_p99_ratio", 100}, {"max_prediction_shift", 1},
                       {"progress_deadline", "30s"}}}}
          .dump());
  ASSERT_EQ(started.status, 201) << started.body;
  EXPECT_EQ(json::parse(started.body)["weight"], 50);
  HttpResult again = Http("POST", "/api/v1/endpoints/fraud/rollout", R"({"canary": "fraud@2"})");
  EXPECT_EQ(again.status, 409) << again.body;
  json status = json::parse(Http("GET", "/api/v1/endpoints/fraud").body);
  EXPECT_EQ(status["rollout"]["candidate_version"], 2) << status;

  const std::string body =
      json{{"inputs", {{{"name", "x"}, {"shape", {1, 4}}, {"datatype", "FP32"}, {"data", {1, 2, 3, 4}}}}}}
          .dump();
  std::set<std::string> versions;
  std::string phase;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (phase != "promoted" && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i) {
      HttpResult r = Http("POST", "/v2/models/fraud/infer", body);
      ASSERT_EQ(r.status, 200) << r.body;
      versions.insert(json::parse(r.body)["model_version"].get<std::string>());
    }
    phase = json::parse(Http("GET", "/api/v1/endpoints/fraud/rollout").body)["phase"];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(phase, "promoted");
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));
  json rollout = json::parse(Http("GET", "/api/v1/endpoints/fraud/rollout").body);
  ASSERT_GE(rollout["events"].size(), 2u);
  EXPECT_EQ(rollout["events"].back()["type"], "promoted") << rollout;
  // The transitions as Prometheus metrics.
  HttpResult metrics = Http("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE ferry_rollout_events_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("ferry_rollout_events_total{endpoint=\"fraud\",type=\"promoted\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("ferry_inference_requests_total{endpoint=\"fraud\",model=\"fraud\","
                              "version=\"2\",code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE ferry_inference_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("ferry_endpoint_ready{endpoint=\"fraud\"} 1\n"), std::string::npos);
  // Prometheus's own linter accepts it (promtool, from Debian's prometheus package).
  Write("metrics.txt", metrics.body);
  CommandResult lint = RunCommand({"/bin/sh", "-c", "promtool check metrics < metrics.txt"}, dir_);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  // Production moved; an instant rollback over HTTP moves it back.
  CommandResult shown = Ferry({"models", "show", "fraud@production", "--json"});
  EXPECT_EQ(json::parse(shown.out)["version"], 2);
  HttpResult back = Http("POST", "/api/v1/endpoints/fraud/rollout/rollback",
                         R"({"reason": "too early"})");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(json::parse(back.body)["type"], "manual_rollback");
  json answer = json::parse(Http("POST", "/v2/models/fraud/infer", body).body);
  // Version 1 was swapped out by the promotion (the candidate took over without a load);
  // it is loaded again at once, not held back as a recently tried load.
  EXPECT_EQ(answer["model_version"], "1") << Http("GET", "/api/v1/endpoints/fraud").body;
  EXPECT_EQ(Http("POST", "/api/v1/endpoints/fraud/rollout/dance", "{}").status, 404);
}

constexpr char kDefinitions[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: int64}]
feature_views:
  - name: stats
    entities: [customer]
    source: customers
    timestamp_field: event_timestamp
    features:
      - {name: a, type: float64}
      - {name: b, type: float64}
      - {name: c, type: int64}
      - {name: d, type: float64}
feature_services:
  - name: scoring
    features: ["stats:a", "stats:b", "stats:c", "stats:d"]
  - name: partial
    features: ["stats:d", "stats:b", "stats:c"]
)";

TEST_F(ServingE2eTest, EntityKeysAloneAreEnrichedFromTheOnlineStore) {
  Write("customers.csv",
        "event_timestamp,customer_id,a,b,c,d\n"
        "2026-01-01T00:00:00Z,1,1.0,2.0,3,4.0\n"
        "2026-01-01T00:00:00Z,2,12.0,0.0,16,5.0\n"
        "2026-01-01T00:00:00Z,3,9.0,,9,9.0\n");
  Write("features.yaml", kDefinitions);
  ASSERT_EQ(Ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  CommandResult applied = Ferry({"features", "apply", "features.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  CommandResult materialized = Ferry({"features", "materialize"});
  ASSERT_EQ(materialized.exit_code, 0) << materialized.err;
  Write("signature.json", R"({"feature_service": "scoring"})");
  CommandResult registered = Ferry(
      {"models", "register", "scored", "--artifact", "m1.json", "--signature", "signature.json"});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;

  StartServer();
  Deploy("scored", "scored@1");
  Deploy("lenient", "scored@1", "missing");
  const std::vector<float> expected =
      Reference(dir_ / "m1.json", {1, 2, 3, 4, 12, 0, 16, 5, 5, 2, 3, 4, 9, NAN, 9, 9});

  // v1 objects with the entity key only, and one overriding a feature at request time.
  HttpResult v1 = Http("POST", "/v1/models/scored:predict",
                       json{{"instances", {{{"customer_id", 1}},
                                           {{"customer_id", 2}},
                                           {{"customer_id", 1}, {"a", 5}}}}}
                           .dump());
  ASSERT_EQ(v1.status, 200) << v1.body;
  ExpectNear(json::parse(v1.body)["predictions"], {expected[0], expected[1], expected[2]});

  // v2 with an INT64 entity tensor.
  json v2 = Infer("scored", {{"inputs", {{{"name", "customer_id"}, {"shape", {2}},
                                          {"datatype", "INT64"}, {"data", {2, 1}}}}}});
  ExpectNear(v2["outputs"][0]["data"], {expected[1], expected[0]});

  // Customer 3 has a null feature, customer 99 was never materialized: refused by the
  // strict endpoint, missing values on the lenient one.
  HttpResult strict = Http("POST", "/v1/models/scored:predict",
                           json{{"instances", {{{"customer_id", 99}}}}}.dump());
  EXPECT_EQ(strict.status, 400);
  EXPECT_NE(strict.body.find("NOT_FOUND for customer_id=99"), std::string::npos) << strict.body;
  HttpResult null_value = Http("POST", "/v1/models/scored:predict",
                               json{{"instances", {{{"customer_id", 3}}}}}.dump());
  EXPECT_EQ(null_value.status, 400);
  EXPECT_NE(null_value.body.find("NULL_VALUE"), std::string::npos) << null_value.body;
  HttpResult lenient = Http("POST", "/v1/models/lenient:predict",
                            json{{"instances", {{{"customer_id", 3}}}}}.dump());
  ASSERT_EQ(lenient.status, 200) << lenient.body;
  ExpectNear(json::parse(lenient.body)["predictions"], {expected[3]});

  json meta = json::parse(Http("GET", "/v2/models/scored").body);
  EXPECT_EQ(meta["parameters"]["feature_service"], "scoring");
  EXPECT_EQ(meta["parameters"]["entity_keys"][0]["name"], "customer_id");

  // The view gains a feature while the server runs and is materialized again: the
  // endpoint prepares its online query anew and keeps answering.
  Write("customers.csv",
        "event_timestamp,customer_id,a,b,c,d,e\n"
        "2026-01-01T00:00:00Z,1,1.0,2.0,3,4.0,7.0\n"
        "2026-01-01T00:00:00Z,2,12.0,0.0,16,5.0,7.0\n");
  std::string definitions = kDefinitions;
  definitions.replace(definitions.find("      - {name: d, type: float64}\n"),
                      std::string("      - {name: d, type: float64}\n").size(),
                      "      - {name: d, type: float64}\n      - {name: e, type: float64}\n");
  Write("features.yaml", definitions);
  ASSERT_EQ(Ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  CommandResult reapplied = Ferry({"features", "apply", "features.yaml"});
  ASSERT_EQ(reapplied.exit_code, 0) << reapplied.err;
  HttpResult rematerialized = Http("POST", "/api/v1/features/materialize", "{}");
  ASSERT_EQ(rematerialized.status, 200) << rematerialized.body;
  HttpResult after;
  for (int attempt = 0; attempt < 50; ++attempt) {
    after = Http("POST", "/v1/models/scored:predict",
                 json{{"instances", {{{"customer_id", 2}}}}}.dump());
    if (after.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(after.status, 200) << after.body;
  ExpectNear(json::parse(after.body)["predictions"], {expected[1]});
}

TEST_F(ServingE2eTest, InputsTheServiceDoesNotSupplyAreRequestTimeFeatures) {
  Write("customers.csv",
        "event_timestamp,customer_id,a,b,c,d\n"
        "2026-01-01T00:00:00Z,1,1.0,2.0,3,4.0\n"
        "2026-01-01T00:00:00Z,2,12.0,0.0,16,5.0\n");
  Write("features.yaml", kDefinitions);
  ASSERT_EQ(Ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  ASSERT_EQ(Ferry({"features", "materialize"}).exit_code, 0);
  // The model takes a, b, c, d; the service supplies d, b, c (in another order): a comes
  // with each request. The signature's inputs are the model's own names.
  Write("signature.json", R"({"feature_service": "partial"})");
  CommandResult registered = Ferry({"models", "register", "partial", "--artifact", "m1.json",
                                    "--signature", "signature.json", "--json"});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
  const json inputs = json::parse(registered.out)["signature"]["inputs"];
  ASSERT_EQ(inputs.size(), 4u) << registered.out;
  EXPECT_EQ(inputs[0]["name"], "a");
  EXPECT_EQ(inputs[2]["name"], "c");
  EXPECT_EQ(inputs[2]["type"], "int64");  // as the service supplies it

  StartServer();
  Deploy("partial", "partial@1");
  const std::vector<float> expected = Reference(dir_ / "m1.json", {7, 2, 3, 4, 0.5, 0, 16, 5});
  HttpResult v1 = Http("POST", "/v1/models/partial:predict",
                       json{{"instances", {{{"customer_id", 1}, {"a", 7}},
                                           {{"customer_id", 2}, {"a", 0.5}}}}}
                           .dump());
  ASSERT_EQ(v1.status, 200) << v1.body;
  ExpectNear(json::parse(v1.body)["predictions"], {expected[0], expected[1]});
  json meta = json::parse(Http("GET", "/v2/models/partial").body);
  EXPECT_EQ(meta["parameters"]["request_inputs"], json::array({"a"})) << meta;

  // Without it: refused, naming it.
  HttpResult without = Http("POST", "/v1/models/partial:predict",
                            json{{"instances", {{{"customer_id", 1}}}}}.dump());
  EXPECT_EQ(without.status, 400);
  EXPECT_NE(without.body.find("no value for input \\\"a\\\", a request-time feature"),
            std::string::npos)
      << without.body;

  // A model without an input the service supplies is refused at registration.
  testing::WriteXGBoostModel(dir_ / "other.json", 3, {"x", "b", "c"}, 3);
  CommandResult refused = Ferry({"models", "register", "partial", "--artifact", "other.json",
                                 "--signature", "signature.json"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("supplies \"d\" but no input is named \"d\""), std::string::npos)
      << refused.err;
}

}  // namespace
}  // namespace ferry::e2e
