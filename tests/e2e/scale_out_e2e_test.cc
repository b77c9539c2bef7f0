// Scale-out on loopback: three `ferry server` processes on one workspace folder, with
// the metadata on one PostgreSQL server and the online features on one Redis, both
// started by the test. One server leads (rollout analysis, alerts, triggers); all serve.
// A canary rollout proceeds while requests spread over the three servers; its leader is
// killed with SIGKILL mid-rollout; another server takes over within 10 s and completes
// it, nothing done twice; a sticky key picks the same model on every server. Redis,
// restarted while rows are pushed through every server, keeps every row a server
// acknowledged.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.h"
#include "testing/postgres_server.h"
#include "testing/redis_server.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kServers = 3;

class ScaleOutE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start()) << "redis-server did not start";
    const std::string url = testing::SharedPostgres().NewDatabase();
    ASSERT_FALSE(url.empty());
    const std::string online = "redis://127.0.0.1:" + std::to_string(redis_.port());
    CommandResult init = Ferry({"init", "--metadata", url, "--online-store", online});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // Rollout analysis looked at every 100 ms; deployments polled at the default pace
    // (every 5 s while the change feed is connected: changes must arrive by the feed).
    std::ofstream(dir_ / ".ferry" / "config.yaml", std::ios::trunc)
        << "version: 1\nmetadata: \"" << url << "\"\nonline_store: " << online
        << "\nserver:\n  access_log: false\nserving:\n  rollout_tick_ms: 100\n";
    testing::WriteXGBoostModel(dir_ / "m1.json", 4, {"a", "b", "c", "d"}, 3);
    testing::WriteXGBoostModel(dir_ / "m2.json", 4, {"a", "b", "c", "d"}, 8);
    for (const char* file : {"m1.json", "m2.json"}) {
      CommandResult r = Ferry({"models", "register", "fraud", "--artifact", file});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    ASSERT_EQ(Ferry({"models", "alias", "fraud@1", "production"}).exit_code, 0);
    for (int i = 0; i < kServers; ++i) {
      servers_.push_back(std::make_unique<Child>(
          std::vector<std::string>{FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_));
      ports_.push_back(WaitForServerPort(*servers_.back()));
      ASSERT_GT(ports_.back(), 0);
    }
  }

  void TearDown() override {
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (!servers_[i]) continue;
      servers_[i]->Signal(SIGTERM);
      // A clean stop exits 0 (under the sanitizers, also: no leak at exit).
      EXPECT_EQ(servers_[i]->Wait(std::chrono::milliseconds(10'000)), 0) << "server " << i;
      // What each server logged, when something went wrong.
      if (HasFailure()) std::cerr << "--- server " << i << ":\n" << servers_[i]->Stderr();
    }
  }

  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_, {{"USER", "ada"}});
  }

  json Get(int server, const std::string& target) {
    HttpResult r = HttpRequest(ports_[server], "GET", target);
    return r.status == 200 ? json::parse(r.body) : json();
  }

  // The servers that say they lead.
  std::vector<int> Leaders() {
    std::vector<int> leaders;
    for (int i = 0; i < kServers; ++i) {
      if (servers_[i] && Get(i, "/api/v1/workspace")["server"]["leads"] == true) {
        leaders.push_back(i);
      }
    }
    return leaders;
  }

  // The version that answered a request whose sticky key "a" is `key`.
  std::string Infer(int server, int key) {
    json request{{"inputs", json::array()}};
    for (const char* name : {"a", "b", "c", "d"}) {
      request["inputs"].push_back({{"name", name},
                                   {"shape", {1}},
                                   {"datatype", "FP32"},
                                   {"data", {std::string(name) == "a" ? key : 1}}});
    }
    HttpResult r = HttpRequest(ports_[server], "POST", "/v2/models/fraud/infer", request.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body)["model_version"].get<std::string>() : "";
  }

  // The weight this server routes by now (its in-memory view), -1 without a canary.
  int RolloutWeight(int server) {
    json endpoint = Get(server, "/api/v1/endpoints/fraud");
    return endpoint.is_object() && endpoint.contains("rollout")
               ? endpoint["rollout"]["weight"].get<int>()
               : -1;
  }

  testing::TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
  // Durable (append-only file, fsync before each reply), as docs/deploy.md asks of a
  // Redis whose acknowledged writes must survive a restart.
  testing::RedisServer redis_{temp_.path() / "redis", /*durable=*/true};
  std::vector<std::unique_ptr<Child>> servers_;
  std::vector<int> ports_;
};

TEST_F(ScaleOutE2eTest, ACanaryCompletesAcrossALeadersDeathWithOneSplitEverywhere) {
  const std::vector<int> first = Leaders();
  ASSERT_EQ(first.size(), 1u);
  const int leader = first[0];
  const int deployer = (leader + 1) % kServers;
  const int starter = (leader + 2) % kServers;

  // A deployment made through one server reaches the others within a second.
  HttpResult deployed =
      HttpRequest(ports_[deployer], "PUT", "/api/v1/endpoints/fraud",
                  json{{"model", "fraud@production"}, {"missing_features", "error"}}.dump());
  ASSERT_EQ(deployed.status, 200) << deployed.body;
  const auto deployed_at = Clock::now();
  for (int i = 0; i < kServers; ++i) {
    while (Get(i, "/api/v1/endpoints/fraud")["state"] != "READY" &&
           Clock::now() - deployed_at < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_LT(Clock::now() - deployed_at, std::chrono::seconds(1)) << "server " << i;
  }

  HttpResult started = HttpRequest(ports_[starter], "POST", "/api/v1/endpoints/fraud/rollout",
                                   json{{"canary", "fraud@2"},
                                        {"policy",
                                         {{"steps", {25, 50, 100}},
                                          {"interval", "1s"},
                                          {"min_requests", 10},
                                          {"max_p99_ratio", 100},
                                          {"max_prediction_shift", 1},
                                          {"progress_deadline", "60s"},
                                          {"sticky_key", "a"}}}}
                                       .dump());
  ASSERT_EQ(started.status, 201) << started.body;

  // Traffic over every live server; the leader dies once the canary reaches 50%.
  constexpr int kKeys = 40;
  int checked_batches = 0;
  std::set<std::string> versions_seen;
  std::optional<Clock::time_point> killed_at;
  std::optional<std::chrono::milliseconds> takeover;
  std::string phase;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (phase != "promoted" && Clock::now() < deadline) {
    std::vector<int> alive;
    for (int i = 0; i < kServers; ++i) {
      if (servers_[i]) alive.push_back(i);
    }
    std::vector<int> before;
    for (int i : alive) before.push_back(RolloutWeight(i));
    std::map<int, std::set<std::string>> answers;  // key -> versions over the servers
    for (int key = 0; key < kKeys; ++key) {
      for (int i : alive) {
        const std::string version = Infer(i, key);
        answers[key].insert(version);
        versions_seen.insert(version);
      }
    }
    std::vector<int> after;
    for (int i : alive) after.push_back(RolloutWeight(i));
    // When every server routed by one weight throughout, a key went to one model on all.
    const bool steady =
        std::all_of(before.begin(), before.end(), [&](int w) { return w == before[0]; }) &&
        before == after && before[0] > 0 && before[0] < 100;
    if (steady) {
      ++checked_batches;
      for (const auto& [key, versions] : answers) {
        EXPECT_EQ(versions.size(), 1u) << "key " << key << " at weight " << before[0];
      }
    }
    if (!killed_at && before[0] == 50 && steady) {
      servers_[leader]->Signal(SIGKILL);
      EXPECT_EQ(servers_[leader]->Wait(std::chrono::milliseconds(5000)), 128 + SIGKILL);
      servers_[leader].reset();
      killed_at = Clock::now();
    }
    if (killed_at && !takeover && !Leaders().empty()) {
      takeover = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - *killed_at);
    }
    json rollout = Get(starter, "/api/v1/endpoints/fraud/rollout");
    phase = rollout.is_object() ? rollout["phase"].get<std::string>() : "";
  }
  ASSERT_TRUE(killed_at.has_value()) << "the canary never reached 50% while steady";
  ASSERT_TRUE(takeover.has_value()) << "no server took over";
  EXPECT_LT(*takeover, std::chrono::seconds(10));
  ASSERT_EQ(phase, "promoted");
  EXPECT_GE(checked_batches, 2);
  EXPECT_EQ(versions_seen, (std::set<std::string>{"1", "2"}));

  // The new leader's term follows the dead one's; nothing was done twice.
  const std::vector<int> now = Leaders();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0], leader);
  json workspace = Get(now[0], "/api/v1/workspace");
  EXPECT_EQ(workspace["leader"]["term"], 2) << workspace;
  json rollout = Get(now[0], "/api/v1/endpoints/fraud/rollout");
  std::map<std::string, int> counts;
  std::vector<int> advanced_to;
  for (const json& event : rollout["events"]) {
    ++counts[event["type"].get<std::string>()];
    if (event["type"] == "advanced") advanced_to.push_back(event["weight"].get<int>());
  }
  EXPECT_EQ(counts["started"], 1) << rollout;
  EXPECT_EQ(counts["promoted"], 1) << rollout;
  EXPECT_EQ(advanced_to, std::vector<int>({50})) << rollout;

  // Every live server now answers with the promoted version, whatever the key.
  for (int i = 0; i < kServers; ++i) {
    if (!servers_[i]) continue;
    const auto until = Clock::now() + std::chrono::seconds(2);
    while (Infer(i, 7) != "2" && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int key = 0; key < 10; ++key) {
      ASSERT_EQ(Infer(i, key), "2")
          << "server " << i << ": " << Get(i, "/api/v1/endpoints/fraud").dump();
    }
  }
}

TEST_F(ScaleOutE2eTest, RedisRestartedMidTrafficLosesNoAcknowledgedWrite) {
  std::ofstream(dir_ / "customers.csv") << "event_timestamp,customer_id,amount\n"
                                           "2026-01-01T00:00:00Z,c-0,0\n";
  std::ofstream(dir_ / "features.yaml") << R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customers
    timestamp_field: event_timestamp
    ttl: 3650d
    features:
      - {name: amount, type: float64}
)";
  ASSERT_EQ(Ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  // A materialization acknowledged before the restart.
  HttpResult materialized = HttpRequest(ports_[0], "POST", "/api/v1/features/materialize", "{}");
  ASSERT_EQ(materialized.status, 200) << materialized.body;

  // Rows pushed round-robin through the three servers, one per request; Redis is
  // restarted while they flow. A 200 is an acknowledgement; a refusal (503) is not.
  std::vector<int> acknowledged;
  int refused = 0;
  bool restarted = false;
  const auto push = [&](int id) {
    const json row{{"customer_id", "c-" + std::to_string(id)},
                   {"event_timestamp", "2026-01-02T00:00:00Z"},
                   {"amount", id}};
    HttpResult r = HttpRequest(ports_[id % kServers], "POST", "/api/v1/features/push",
                               json{{"view", "customer_stats"}, {"rows", {row}}}.dump());
    if (r.status == 200) {
      acknowledged.push_back(id);
    } else {
      EXPECT_EQ(r.status, 503) << r.body;
      ++refused;
    }
  };
  int id = 1;
  for (; id <= 300; ++id) push(id);
  redis_.Stop();
  for (; id <= 330; ++id) push(id);  // while Redis is down
  ASSERT_TRUE(redis_.Start());
  restarted = true;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (; id <= 630 || (acknowledged.back() < 600 && Clock::now() < deadline); ++id) push(id);
  ASSERT_TRUE(restarted);
  EXPECT_GE(refused, 30);                // nothing was acknowledged while Redis was down
  EXPECT_GE(acknowledged.size(), 500u);  // and pushes went on after it came back

  // Every acknowledged row is there, read through any server; the materialized one too.
  json request{{"features", {"customer_stats:amount"}},
               {"entities", {{"customer_id", json::array()}}}};
  request["entities"]["customer_id"].push_back("c-0");
  for (int a : acknowledged) request["entities"]["customer_id"].push_back("c-" + std::to_string(a));
  HttpResult read = HttpRequest(ports_[1], "POST", "/api/v1/features/online", request.dump());
  ASSERT_EQ(read.status, 200) << read.body;
  const json values = json::parse(read.body)["results"][1]["values"];
  ASSERT_EQ(values.size(), acknowledged.size() + 1);
  EXPECT_EQ(values[0], 0.0);
  for (size_t i = 0; i < acknowledged.size(); ++i) {
    ASSERT_EQ(values[i + 1], static_cast<double>(acknowledged[i])) << "c-" << acknowledged[i];
  }
}

}  // namespace
}  // namespace ferry::e2e
