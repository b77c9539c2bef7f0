// A workspace whose online store is Redis (`online_store: redis://HOST:PORT`), with a real
// redis-server started by the test: the CLI materializes into it and reads it, and two
// `ferry server` processes on the same workspace share it -- what one pushes, the other
// serves -- which the embedded RocksDB store (one writing process) cannot do. Redis going
// away gives prompt errors, and a restarted Redis is used again (after a short backoff).

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "subprocess.h"
#include "testing/redis_server.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

constexpr char kDefinitions[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customers
    timestamp_field: event_timestamp
    features:
      - {name: amount, type: float64}
)";

// Points the workspace's config at `target` (`ferry init` wrote online_store: rocksdb).
void SetOnlineStore(const std::filesystem::path& dir, const std::string& target) {
  const std::filesystem::path path = dir / ".ferry" / "config.yaml";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string config = text.str();
  const size_t at = config.find("online_store: rocksdb");
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, std::string("online_store: rocksdb").size(), "online_store: " + target);
  std::ofstream(path, std::ios::trunc) << config;
}

// A workspace whose online store is a Redis server of the test's own.
class RedisOnlineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start()) << "redis-server did not start";
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    SetOnlineStore(dir_.path(), "redis://127.0.0.1:" + std::to_string(redis_.port()));
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_.path());
  }

  testing::TempDir dir_;
  testing::RedisServer redis_{dir_.path() / "redis"};
};

TEST_F(RedisOnlineE2eTest, TwoServersShareOneRedisOnlineStore) {
  testing::TempDir& dir = dir_;
  testing::RedisServer& redis = redis_;
  const auto ferry = [this](std::vector<std::string> args) { return Ferry(std::move(args)); };
  std::ofstream(dir.path() / "customers.csv") << "event_timestamp,customer_id,amount\n"
                                                 "2026-01-01T00:00:00Z,c1,10.5\n"
                                                 "2026-01-02T00:00:00Z,c2,20.0\n";
  std::ofstream(dir.path() / "features.yaml") << kDefinitions;
  ASSERT_EQ(ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  ASSERT_EQ(ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  CommandResult materialized = ferry({"features", "materialize"});
  ASSERT_EQ(materialized.exit_code, 0) << materialized.err;
  CommandResult online = ferry({"features", "online", "--entity", "customer_id=c1", "--features",
                                "customer_stats:amount", "--json"});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_EQ(json::parse(online.out)["results"][1]["values"][0], 10.5) << online.out;

  Child a({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir.path());
  const int port_a = WaitForServerPort(a);
  ASSERT_GT(port_a, 0);
  Child b({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir.path());
  const int port_b = WaitForServerPort(b);
  ASSERT_GT(port_b, 0);
  HttpResult pushed =
      HttpRequest(port_a, "POST", "/api/v1/features/push",
                  R"({"view": "customer_stats", "rows": [{"customer_id": "c3", "event_timestamp":)"
                  R"( "2026-01-03T00:00:00Z", "amount": 3.5}]})");
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  const std::string lookup =
      R"({"features": ["customer_stats:amount"], "entities": {"customer_id": ["c3", "c1"]}})";
  HttpResult served = HttpRequest(port_b, "POST", "/api/v1/features/online", lookup);
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(json::parse(served.body)["results"][1]["values"], json::array({3.5, 10.5}))
      << served.body;

  // Redis goes away: a clear, prompt error naming it; back (empty), it is used again.
  redis.Stop();
  const auto start = std::chrono::steady_clock::now();
  HttpResult down = HttpRequest(port_b, "POST", "/api/v1/features/online", lookup);
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_NE(down.body.find("redis://127.0.0.1:"), std::string::npos) << down.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(redis.Start());
  HttpResult rematerialized = HttpRequest(port_a, "POST", "/api/v1/features/materialize", "{}");
  ASSERT_EQ(rematerialized.status, 200) << rematerialized.body;
  // Server b failed to connect while Redis was down: it tries again after a short backoff
  // (50 ms, doubling), meanwhile answering 503 at once.
  HttpResult again = HttpRequest(port_b, "POST", "/api/v1/features/online", lookup);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (again.status == 503 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    again = HttpRequest(port_b, "POST", "/api/v1/features/online", lookup);
  }
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["results"][1]["values"][1], 10.5) << again.body;

  for (Child* server : {&a, &b}) {
    server->Signal(SIGTERM);
    EXPECT_EQ(server->Wait(std::chrono::seconds(10)), 0);
  }
}

// Redis down: an endpoint that takes missing features answers by entity key without them
// (as for a key Redis does not have), one that refuses them answers 503 naming Redis --
// promptly, never hanging.
TEST_F(RedisOnlineE2eTest, ARedisOutageDegradesEndpointsByTheirMissingFeaturePolicy) {
  testing::TempDir& dir = dir_;
  testing::RedisServer& redis = redis_;
  const auto ferry = [this](std::vector<std::string> args) { return Ferry(std::move(args)); };
  std::ofstream(dir.path() / "customers.csv") << "event_timestamp,customer_id,amount\n"
                                                 "2026-01-01T00:00:00Z,c1,10.5\n";
  std::ofstream(dir.path() / "features.yaml")
      << kDefinitions << "feature_services:\n  - name: scoring\n"
      << "    features: [\"customer_stats:amount\"]\n";
  ASSERT_EQ(ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
  ASSERT_EQ(ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  ASSERT_EQ(ferry({"features", "materialize"}).exit_code, 0);
  testing::WriteXGBoostModel(dir.path() / "m.json", 1, {"amount"}, 3);
  std::ofstream(dir.path() / "signature.json") << R"({"feature_service": "scoring"})";
  CommandResult registered = ferry(
      {"models", "register", "scored", "--artifact", "m.json", "--signature", "signature.json"});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;

  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir.path());
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  for (const auto& [endpoint, policy] : {std::pair{"strict", "error"}, {"lenient", "missing"}}) {
    HttpResult deployed =
        HttpRequest(port, "PUT", std::string("/api/v1/endpoints/") + endpoint,
                    json{{"model", "scored@1"}, {"missing_features", policy}}.dump());
    ASSERT_EQ(deployed.status, 200) << deployed.body;
  }
  const auto predict = [&](const std::string& endpoint, const std::string& customer) {
    return HttpRequest(port, "POST", "/v1/models/" + endpoint + ":predict",
                       json{{"instances", {{{"customer_id", customer}}}}}.dump());
  };
  ASSERT_EQ(predict("strict", "c1").status, 200);
  HttpResult unknown = predict("lenient", "nobody");  // every feature missing
  ASSERT_EQ(unknown.status, 200) << unknown.body;

  redis.Stop();
  const auto start = std::chrono::steady_clock::now();
  HttpResult strict = predict("strict", "c1");
  EXPECT_EQ(strict.status, 503) << strict.body;
  EXPECT_NE(strict.body.find("redis://127.0.0.1:" + std::to_string(redis.port())),
            std::string::npos)
      << strict.body;
  HttpResult lenient = predict("lenient", "c1");
  ASSERT_EQ(lenient.status, 200) << lenient.body;
  EXPECT_EQ(json::parse(lenient.body)["predictions"], json::parse(unknown.body)["predictions"]);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::milliseconds(10'000)), 0);
}

TEST(RedisOnlineConfigE2eTest, ABadOnlineStoreInTheConfigIsRefused) {
  testing::TempDir dir;
  ASSERT_EQ(RunCommand({FERRY_BINARY, "init"}, dir.path()).exit_code, 0);
  SetOnlineStore(dir.path(), "memcached://127.0.0.1:11211");
  CommandResult r = RunCommand({FERRY_BINARY, "features", "list"}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("online_store"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ferry::e2e
