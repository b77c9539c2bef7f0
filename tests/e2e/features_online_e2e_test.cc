// End-to-end tests of the online feature store: `ferry features materialize`,
// `ferry features online`, and the HTTP routes of a running `ferry server`.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;
using std::chrono_literals::operator""s;

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
      - {name: tier, type: string}
)";

constexpr char kCustomers[] =
    "event_timestamp,customer_id,amount,tier\n"
    "2026-01-01T00:00:00Z,c1,10.5,bronze\n"
    "2026-01-05T00:00:00Z,c1,11.5,silver\n"
    "2026-01-03T00:00:00Z,c2,20.0,gold\n";

class FeaturesOnlineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    Write("customers.csv", kCustomers);
    Write("features.yaml", kDefinitions);
    ASSERT_EQ(Ferry({"data", "add", "customers", "customers.csv"}).exit_code, 0);
    CommandResult applied = Ferry({"features", "apply", "features.yaml"});
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }
  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ / name) << contents;
  }

  testing::TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
};

TEST_F(FeaturesOnlineE2eTest, MaterializeThenServeOnlineFeaturesOverHttpAndTheCli) {
  CommandResult materialized = Ferry({"features", "materialize", "--end", "2026-01-04", "--json"});
  ASSERT_EQ(materialized.exit_code, 0) << materialized.err;
  json runs = json::parse(materialized.out)["views"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["keys_written"], 2);
  EXPECT_EQ(runs[0]["end"], "2026-01-04T00:00:00Z");

  // The CLI, no server running.
  CommandResult online = Ferry({"features", "online", "--entity", "customer_id=c1", "--entity",
                                "customer_id=c3", "--features", "customer_stats:amount", "--json"});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  json answer = json::parse(online.out);
  EXPECT_EQ(answer["results"][1]["values"], json({10.5, nullptr}));
  EXPECT_EQ(answer["results"][1]["statuses"], json({"PRESENT", "NOT_FOUND"}));

  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  HttpResult http = HttpRequest(port, "POST", "/api/v1/features/online",
                                R"({"features": ["customer_stats:amount", "customer_stats:tier"],
                                    "entities": {"customer_id": ["c1", "c2"]}})");
  ASSERT_EQ(http.status, 200) << http.body;
  answer = json::parse(http.body);
  EXPECT_EQ(answer["metadata"]["feature_names"], json({"customer_id", "amount", "tier"}));
  EXPECT_EQ(answer["results"][2]["values"], json({"bronze", "gold"}));

  // Beside the server: reading works, writing is refused with what to do instead.
  CommandResult beside = Ferry(
      {"features", "online", "--entity", "customer_id=c2", "--features", "customer_stats:tier"});
  EXPECT_EQ(beside.exit_code, 0) << beside.err;
  EXPECT_NE(beside.out.find("gold"), std::string::npos) << beside.out;
  CommandResult refused = Ferry({"features", "materialize-incremental", "--end", "2026-01-10"});
  EXPECT_EQ(refused.exit_code, 6);
  EXPECT_NE(refused.err.find("--server"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("Nothing was written"), std::string::npos) << refused.err;

  // Through the server instead.
  CommandResult through = Ferry({"features", "materialize-incremental", "--end", "2026-01-10",
                                 "--server", "127.0.0.1:" + std::to_string(port), "--json"});
  ASSERT_EQ(through.exit_code, 0) << through.err;
  runs = json::parse(through.out)["views"];
  EXPECT_EQ(runs[0]["start"], "2026-01-04T00:00:00Z");
  EXPECT_EQ(runs[0]["keys_written"], 1);
  http = HttpRequest(
      port, "POST", "/api/v1/features/online",
      R"({"features": ["customer_stats:amount"], "entities": {"customer_id": ["c1"]}})");
  EXPECT_EQ(json::parse(http.body)["results"][1]["values"], json({11.5})) << http.body;

  http =
      HttpRequest(port, "POST", "/api/v1/features/online",
                  R"({"features": ["customer_stats:amount"], "entities": {"customer_id": [1]}})");
  EXPECT_EQ(http.status, 400) << http.body;

  // Feature freshness on /metrics: the view's newest event and its last materialization.
  http = HttpRequest(port, "GET", "/metrics");
  ASSERT_EQ(http.status, 200);
  for (const char* series :
       {"ferry_feature_view_newest_event_timestamp_seconds{view=\"customer_stats\"}",
        "ferry_feature_view_freshness_seconds{view=\"customer_stats\"}",
        "ferry_feature_view_materialized_timestamp_seconds{view=\"customer_stats\"}"}) {
    EXPECT_NE(http.body.find(series), std::string::npos) << series;
  }

  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(10s), 0);

  CommandResult list = Ferry({"features", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("(up to 2026-01-10T00:00:00Z)"), std::string::npos) << list.out;
  CommandResult show = Ferry({"features", "show", "customer_stats", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json::parse(show.out)["last_materialization"]["window_start"], "2026-01-04T00:00:00Z");

  // Reordered features are another layout: show says the online values need a new run.
  std::string reordered = kDefinitions;
  reordered.replace(reordered.find("      - {name: amount"), std::string::npos,
                    "      - {name: tier, type: string}\n      - {name: amount, type: float64}\n");
  Write("features.yaml", reordered);
  ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  show = Ferry({"features", "show", "customer_stats"});
  EXPECT_NE(show.out.find("the features changed since"), std::string::npos) << show.out;
}

TEST_F(FeaturesOnlineE2eTest, OnlineLookupsExplainWhatIsMissing) {
  CommandResult before = Ferry(
      {"features", "online", "--entity", "customer_id=c1", "--features", "customer_stats:amount"});
  EXPECT_EQ(before.exit_code, 4);
  EXPECT_NE(before.err.find("nothing is materialized yet"), std::string::npos) << before.err;
  ASSERT_EQ(Ferry({"features", "materialize"}).exit_code, 0);
  CommandResult wrong = Ferry(
      {"features", "online", "--entity", "merchant_id=1", "--features", "customer_stats:amount"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("merchant_id is not a join key"), std::string::npos) << wrong.err;
  CommandResult unknown = Ferry(
      {"features", "online", "--entity", "customer_id=c1", "--features", "customer_stats:nope"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
}

TEST_F(FeaturesOnlineE2eTest, PushedRowsAreServedAtOnceAndBadPushesChangeNothing) {
  ASSERT_EQ(Ferry({"features", "materialize"}).exit_code, 0);
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  HttpResult pushed =
      HttpRequest(port, "POST", "/api/v1/features/push",
                  R"({"view": "customer_stats", "rows": [{"customer_id": "c3", "event_timestamp":)"
                  R"( "2026-01-06T00:00:00Z", "amount": 3.5, "tier": "new"}, {"customer_id": "c1",)"
                  R"( "event_timestamp": "2026-01-02T00:00:00Z", "amount": 1}]})");
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_EQ(json::parse(pushed.body),
            json::parse(R"({"view": "customer_stats", "rows": 2, "written": 1, "kept": 1})"));
  const std::string lookup =
      R"({"features": ["customer_stats:amount"], "entities": {"customer_id": ["c3", "c1"]}})";
  HttpResult online = HttpRequest(port, "POST", "/api/v1/features/online", lookup);
  ASSERT_EQ(online.status, 200) << online.body;
  // c3 as pushed; c1 keeps its newer materialized value (the pushed row was older).
  EXPECT_EQ(json::parse(online.body)["results"][1]["values"], json::array({3.5, 11.5}))
      << online.body;

  HttpResult bad =
      HttpRequest(port, "POST", "/api/v1/features/push",
                  R"({"view": "customer_stats", "rows": [{"customer_id": "c4", "event_timestamp":)"
                  R"( "2026-01-06T00:00:00Z", "amount": 1}, {"customer_id": "c5", "amount": 2}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("rows[1]: \\\"event_timestamp\\\" (the event time) missing"),
            std::string::npos)
      << bad.body;
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/features/push", R"({"view": "nothing", "rows": []})")
                .status,
            404);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/features/push", R"({"rows": []})").status, 400);
  HttpResult after = HttpRequest(
      port, "POST", "/api/v1/features/online",
      R"({"features": ["customer_stats:amount"], "entities": {"customer_id": ["c4"]}})");
  EXPECT_EQ(json::parse(after.body)["results"][1]["statuses"][0], "NOT_FOUND") << after.body;
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace ferry::e2e
