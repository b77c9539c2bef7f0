// Rollouts on a live server: real HTTP requests to an in-process `ferry server` router,
// a ManualClock for the analysis intervals, and the controller ticked by the test.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "../server/test_server.h"
#include "api/inference_routes.h"
#include "features/shared_online_store.h"
#include "registry/model_registry.h"
#include "server/http_client.h"
#include "serving/deployment_store.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"
#include "testing/postgres_server.h"

namespace ferry::serving {
namespace {

using nlohmann::json;

constexpr int64_t kStart = int64_t{1'790'000'000} * 1'000'000;  // 2026-09-21

class RolloutServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(kStart);
    workspace_ = std::move(testing::InitWorkspace(temp_.path() / "ws", clock_)).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    features_ = std::move(features::FeatureRegistry::Open(*workspace_, *datasets_)).value();
    tracking_ = std::move(tracking::TrackingStore::Open(*workspace_, *datasets_)).value();
    models_ = std::move(registry::ModelRegistry::Open(*workspace_, *datasets_, *features_,
                                                      *tracking_))
                  .value();
    // Version 1: production. Version 2: more rounds, close predictions. Version 3: a
    // model of other data (its scores differ wildly).
    testing::WriteXGBoostModel(temp_.path() / "m1.json", 4, {"a", "b", "c", "d"}, 3);
    testing::WriteXGBoostModel(temp_.path() / "m2.json", 4, {"a", "b", "c", "d"}, 4);
    testing::WriteXGBoostModel(temp_.path() / "m3.json", 4, {"a", "b", "c", "d"}, 40);
    // Version 4: takes a fifth input the requests do not give (every request fails).
    testing::WriteXGBoostModel(temp_.path() / "m4.json", 5, {"a", "b", "c", "d", "e"}, 3);
    // Version 5: the same inputs in another order: by name, it sees them scrambled.
    testing::WriteXGBoostModel(temp_.path() / "m5.json", 4, {"d", "c", "b", "a"}, 3);
    // Version 6: 10000 trees: the same answers' shape, much slower (~20x here).
    testing::WriteXGBoostModel(temp_.path() / "m6.json", 4, {"a", "b", "c", "d"}, 10000);
    for (const char* file : {"m1.json", "m2.json", "m3.json", "m4.json", "m5.json", "m6.json"}) {
      auto v = models_->Register("fraud", temp_.path() / file, {});
      ASSERT_TRUE(v.ok()) << v.status();
    }
    ASSERT_TRUE(models_->SetAlias({"fraud", 1, {}}, "production", "test", "").ok());
    auto deployments = DeploymentStore::Open(*workspace_);
    ASSERT_TRUE(deployments.ok());
    DeployOptions deploy;
    deploy.endpoint = "fraud";
    deploy.model = {"fraud", std::nullopt, std::string("production")};
    deploy.actor = "test";
    ASSERT_TRUE((*deployments)->Put(deploy).ok());

    auto online = std::make_shared<features::SharedOnlineStore>(temp_.path() / "online");
    auto api = api::OpenServing(*workspace_, online);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *api;
    api_->rollouts->Stop();  // the test ticks the controller itself
    auto router = std::make_shared<server::Router>();
    ASSERT_TRUE(api::AddInferenceRoutes(*router, *workspace_, api_).ok());
    http_ = server::testing::StartServer(server::testing::TestConfig(), router);
    ASSERT_NE(http_, nullptr);
  }
  void TearDown() override {
    if (http_) {
      http_->Shutdown();
      http_->Wait();
    }
  }

  RolloutPolicy Policy() {
    RolloutPolicy policy;
    policy.steps = {20, 50, 100};
    policy.interval = std::chrono::seconds(60);
    policy.min_requests = 20;
    policy.failure_limit = 2;
    policy.max_prediction_shift = 0.5;
    policy.max_p99_ratio = 50;  // latency on a shared test machine is noise
    policy.progress_deadline = std::chrono::seconds(300);
    return policy;
  }
  void StartRollout(int64_t version, RolloutPolicy policy,
                    RolloutKind kind = RolloutKind::kCanary) {
    StartRolloutOptions options;
    options.endpoint = "fraud";
    options.candidate = {"fraud", version, {}};
    options.kind = kind;
    options.policy = std::move(policy);
    options.actor = "test";
    auto started = api_->rollouts->store().Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    ASSERT_TRUE(api_->endpoints->Refresh().ok());
  }

  // Sends `n` single-row requests (v1 objects, with a customer id for sticky routing);
  // returns how many each version answered, and counts non-2xx answers.
  // The customer id is sent only when it routes (with_customer: a sticky rollout).
  std::map<std::string, int> Send(int n, bool with_customer = false) {
    std::map<std::string, int> served;
    for (int i = 0; i < n; ++i) {
      const int customer = i;
      json instance = {{"a", customer % 17},
                       {"b", (customer * 3) % 17},
                       {"c", (customer * 5) % 17},
                       {"d", (customer * 7) % 17}};
      if (with_customer) instance["customer_id"] = customer;
      json body = {{"instances", {instance}}};
      auto reply = server::HttpCall("127.0.0.1", http_->port(), "POST",
                                    "/v1/models/fraud:predict", body.dump());
      if (!reply.ok() || reply->status != 200) {
        ++failures_;
        continue;
      }
      ++served[json::parse(reply->body)["model_version"].get<std::string>()];
    }
    return served;
  }
  std::vector<RolloutEvent> Tick() {
    clock_->Advance(std::chrono::seconds(61));
    auto events = api_->rollouts->TickNow();
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<RolloutEvent>{};
  }
  Rollout Current() { return api_->rollouts->store().Get("fraud").value(); }
  std::optional<int64_t> ProductionVersion() {
    auto v = models_->Resolve({"fraud", std::nullopt, std::string("production")});
    return v.ok() ? std::optional<int64_t>(v->version) : std::nullopt;
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<features::FeatureRegistry> features_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<registry::ModelRegistry> models_;
  std::shared_ptr<api::ServingApi> api_;
  std::unique_ptr<server::HttpServer> http_;
  int failures_ = 0;
};

TEST_F(RolloutServingTest, AGoodCanaryIsPromotedThroughEveryStep) {
  StartRollout(2, Policy());
  std::map<std::string, int> served = Send(200);
  EXPECT_GT(served["2"], 10);  // ~20%
  EXPECT_GT(served["1"], 100);
  std::vector<RolloutEvent> events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "advanced") << events[0].reason << " " << events[0].figures.dump();
  EXPECT_EQ(Current().state.weight, 50);
  Send(200);
  events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "promoted") << events[0].reason << " " << events[0].figures.dump();
  EXPECT_EQ(ProductionVersion(), 2);
  served = Send(50);
  EXPECT_EQ(served["2"], 50);
  EXPECT_EQ(failures_, 0);
}

TEST_F(RolloutServingTest, EveryTransitionIsPostedToTheWebhooks) {
  // A receiver on loopback that keeps the events it is sent.
  std::mutex mu;
  std::vector<json> received;
  auto router = std::make_shared<server::Router>();
  ASSERT_TRUE(router
                  ->Post("/hook",
                         [&](server::Request& request) -> absl::StatusOr<server::Response> {
                           std::lock_guard<std::mutex> lock(mu);
                           received.push_back(json::parse(request.body()));
                           return server::JsonTextResponse("{}");
                         })
                  .ok());
  auto receiver = server::testing::StartServer(server::testing::TestConfig(), router);
  RolloutPolicy policy = Policy();
  policy.webhooks = {"http://127.0.0.1:" + std::to_string(receiver->port()) + "/hook"};
  StartRollout(2, policy);
  Send(200);
  Tick();
  Send(200);
  Tick();
  ASSERT_EQ(Current().state.phase, RolloutPhase::kPromoted);
  std::vector<std::string> types;
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      types.clear();
      for (const json& e : received) types.push_back(e["type"]);
    }
    if (types.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"advanced", "promoted"}));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(received.empty());
  EXPECT_EQ(received.back()["endpoint"], "fraud");
  EXPECT_TRUE(received.back()["figures"]["checks"].is_array());
  receiver->Shutdown();
  receiver->Wait();
}

TEST_F(RolloutServingTest, StickyRoutingKeepsEachCustomerOnOneModel) {
  RolloutPolicy policy = Policy();
  policy.sticky_key = "customer_id";
  StartRollout(2, policy);
  std::map<std::string, int> first = Send(100, true);
  // The same customers again: each lands where it landed before.
  for (int round = 0; round < 2; ++round) {
    std::map<std::string, int> again = Send(100, true);
    EXPECT_EQ(again, first);
  }
  EXPECT_GT(first["2"], 5);
  EXPECT_GT(first["1"], 50);
}

TEST_F(RolloutServingTest, TooLittleTrafficWaitsThenTheDeadlineRollsBack) {
  StartRollout(2, Policy());
  Send(5);
  std::vector<RolloutEvent> events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "analysis");  // inconclusive: waits
  EXPECT_EQ(Current().state.weight, 20);
  for (int i = 0; i < 5 && Current().state.phase == RolloutPhase::kProgressing; ++i) Tick();
  EXPECT_EQ(Current().state.phase, RolloutPhase::kRolledBack);
  EXPECT_EQ(ProductionVersion(), 1);
  std::map<std::string, int> served = Send(30);
  EXPECT_EQ(served["1"], 30);
}

TEST_F(RolloutServingTest, ACanaryWhosePredictionsDifferWildlyIsRolledBackBeforeAnyLabel) {
  RolloutPolicy policy = Policy();
  policy.max_prediction_shift = 0.1;
  policy.steps = {50, 100};
  StartRollout(3, policy);
  Send(200);
  std::vector<RolloutEvent> events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "analysis") << events[0].figures.dump();
  EXPECT_EQ(Current().state.failures, 1);
  Send(200);
  events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "rolled_back") << events[0].figures.dump();
  EXPECT_EQ(ProductionVersion(), 1);
  EXPECT_EQ(failures_, 0);
}

TEST_F(RolloutServingTest, ACanaryWithMoreErrorsIsRolledBackAfterTheFailureLimit) {
  RolloutPolicy policy = Policy();
  policy.steps = {50, 100};
  StartRollout(4, policy);
  Send(200);
  std::vector<RolloutEvent> events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "analysis") << events[0].figures.dump();
  Send(200);
  events = Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "rolled_back") << events[0].figures.dump();
  EXPECT_NE(events[0].figures.dump().find("error_rate"), std::string::npos);
  EXPECT_EQ(ProductionVersion(), 1);
  failures_ = 0;
  EXPECT_EQ(Send(40)["1"], 40);  // all traffic back on production
  EXPECT_EQ(failures_, 0);
}

TEST_F(RolloutServingTest, ASlowerCanaryIsRolledBack) {
  RolloutPolicy policy = Policy();
  // Steps short of 100 %, so that one analysis passed by chance advances instead of
  // promoting: the stable side's p99 is microseconds, and on a busy machine one
  // preemption in its top 1 % can hide a 20x slower canary for a window.
  policy.steps = {20, 40, 60, 80, 100};
  policy.max_p99_ratio = 3;
  policy.max_prediction_shift = 1;
  StartRollout(6, policy);
  // Many requests per window, so that p99 is not one scheduling hiccup on a busy machine.
  for (int window = 0; window < 4 && Current().state.phase == RolloutPhase::kProgressing;
       ++window) {
    Send(1000);
    Tick();
  }
  EXPECT_EQ(Current().state.phase, RolloutPhase::kRolledBack);
  auto events = api_->rollouts->store().Events("fraud", 10);
  ASSERT_TRUE(events.ok());
  EXPECT_NE(events->back().figures.dump().find("latency_p99"), std::string::npos);
}

TEST_F(RolloutServingTest, ACanaryWorseOnLabelledFeedbackIsRolledBack) {
  RolloutPolicy policy = Policy();
  policy.steps = {50, 100};
  policy.max_prediction_shift = 1;
  policy.min_labels = 20;
  StartRollout(5, policy);
  // Requests, then their ground truth (the pattern the models were trained on: a > 8).
  json feedback = json::array();
  for (int i = 0; i < 200; ++i) {
    const int a = (i * 7) % 17;
    json body = {{"instances", {{{"a", a}, {"b", (i * 3) % 17}, {"c", (i * 5) % 17},
                                 {"d", i % 17}}}}};
    auto reply = server::HttpCall("127.0.0.1", http_->port(), "POST",
                                  "/v1/models/fraud:predict", body.dump());
    ASSERT_TRUE(reply.ok());
    ASSERT_EQ(reply->status, 200) << reply->body;
    feedback.push_back({{"prediction_id", json::parse(reply->body)["prediction_ids"][0]},
                        {"label", a > 8 ? 1 : 0}});
  }
  auto sent = server::HttpCall("127.0.0.1", http_->port(), "POST", "/api/v1/feedback",
                               json{{"feedback", feedback}}.dump());
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->status, 200) << sent->body;
  std::vector<RolloutEvent> events = Tick();
  Send(200);
  std::vector<RolloutEvent> more = Tick();
  events.insert(events.end(), more.begin(), more.end());
  EXPECT_EQ(Current().state.phase, RolloutPhase::kRolledBack);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().figures.dump().find("\"quality\""), std::string::npos)
      << events.back().figures.dump();
}

TEST_F(RolloutServingTest, AShadowAnswersNothingButIsCompared) {
  StartRollout(3, Policy(), RolloutKind::kShadow);
  std::map<std::string, int> served = Send(100);
  EXPECT_EQ(served["1"], 100);  // the shadow never answers
  auto windows = api_->endpoints->TakeFigures("fraud", Current().id);
  ASSERT_TRUE(windows.has_value());
  EXPECT_EQ(windows->first.requests, 100);
  EXPECT_EQ(windows->second.requests, 100);  // it saw every request
}

TEST_F(RolloutServingTest, ARestartedServerResumesTheRollout) {
  StartRollout(2, Policy());
  Send(250);
  ASSERT_EQ(Tick()[0].type, "advanced");
  // A new serving stack on the same workspace: the rollout continues at 50%.
  http_->Shutdown();
  http_->Wait();
  api_.reset();
  auto online = std::make_shared<features::SharedOnlineStore>(temp_.path() / "online2");
  api_ = api::OpenServing(*workspace_, online).value();
  api_->rollouts->Stop();
  auto router = std::make_shared<server::Router>();
  ASSERT_TRUE(api::AddInferenceRoutes(*router, *workspace_, api_).ok());
  http_ = server::testing::StartServer(server::testing::TestConfig(), router);
  std::map<std::string, int> served = Send(200);
  EXPECT_GT(served["2"], 60);
  EXPECT_GT(served["1"], 60);
  EXPECT_EQ(Tick()[0].type, "promoted");
}

TEST_F(RolloutServingTest, PromotionAndRollbackUnderLoadFailNoRequest) {
  StartRollout(2, Policy());
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      int i = 0;
      while (!stop) {
        json body = {{"instances", {{t, i % 17, 3, 4}}}};
        auto reply = server::HttpCall("127.0.0.1", http_->port(), "POST",
                                      "/v1/models/fraud:predict", body.dump());
        if (!reply.ok() || reply->status != 200) ++failed;
        ++done;
        ++i;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(api_->rollouts->store().Promote("fraud", "test", "").ok());
  ASSERT_TRUE(api_->endpoints->Refresh().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(api_->rollouts->store().Rollback("fraud", "test", "instant").ok());
  ASSERT_TRUE(api_->endpoints->Refresh().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(done, 30);
  EXPECT_EQ(ProductionVersion(), 1);
}

}  // namespace
}  // namespace ferry::serving
