// End-to-end tests of `ferry features ...` (apply, list, show, historical), the same
// over a real `ferry server`'s HTTP API (with a dataset's upload and download), and the
// point-in-time join checked against pandas.merge_asof (pandas_merge_asof_check.py).

#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kDefinitions[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customer_daily
    timestamp_field: event_timestamp
    ttl: 30d
    features:
      - {name: avg_amount, type: float64}
      - {name: txn_count, type: int64}
feature_services:
  - name: fraud
    features: ["customer_stats:*"]
)";

class FeaturesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    WriteFile("daily.csv",
              "customer_id,event_timestamp,avg_amount,txn_count\n"
              "c1,2026-01-01T00:00:00Z,10.5,3\n"
              "c1,2026-01-03T00:00:00Z,12.5,4\n"
              "c2,2026-01-02T00:00:00Z,7.25,1\n");
    WriteFile("entities.csv",
              "customer_id,event_timestamp,label\n"
              "c1,2026-01-02T00:00:00Z,0\n"
              "c2,2026-01-05T00:00:00Z,1\n"
              "c3,2026-01-05T00:00:00Z,0\n");
    WriteFile("features.yaml", kDefinitions);
    ASSERT_EQ(Ferry({"data", "add", "customer_daily", "daily.csv"}).exit_code, 0);
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }
  void WriteFile(const std::string& name, const std::string& contents) {
    std::FILE* f = std::fopen((dir_ / name).c_str(), "wb");
    std::fwrite(contents.data(), 1, contents.size(), f);
    std::fclose(f);
  }
  std::string ReadFile(const std::string& name) {
    std::FILE* f = std::fopen((dir_ / name).c_str(), "rb");
    std::string text;
    char buffer[4096];
    for (size_t n; f && (n = std::fread(buffer, 1, sizeof(buffer), f)) > 0;) text.append(buffer, n);
    if (f) std::fclose(f);
    return text;
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(FeaturesE2eTest, ApplyListShowHistoricalExport) {
  CommandResult apply = Ferry({"features", "apply", "features.yaml"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_NE(apply.out.find("created feature_view customer_stats (version 1)"), std::string::npos)
      << apply.out;
  CommandResult again = Ferry({"features", "apply", "features.yaml"});
  EXPECT_NE(again.out.find("no changes: 3 definitions already registered"), std::string::npos)
      << again.out;

  auto list = nlohmann::json::parse(Ferry({"features", "list", "--json"}).out);
  ASSERT_EQ(list["feature_views"].size(), 1u);
  EXPECT_EQ(list["feature_views"][0]["source_version"], "customer_daily@1");
  EXPECT_EQ(list["feature_views"][0]["newest_event"], "2026-01-03T00:00:00.000000Z");

  CommandResult historical = Ferry({"features", "historical", "--entities", "entities.csv",
                                    "--service", "fraud", "--out", "train", "--json"});
  ASSERT_EQ(historical.exit_code, 0) << historical.err;
  auto result = nlohmann::json::parse(historical.out);
  EXPECT_EQ(result["version"]["ref"], "train@1");
  EXPECT_EQ(result["rows"], 3);
  EXPECT_EQ(result["views"][0]["matched"], 2);
  ASSERT_EQ(Ferry({"data", "export", "train@1", "train.csv"}).exit_code, 0);
  EXPECT_EQ(ReadFile("train.csv"),
            "customer_id,event_timestamp,label,avg_amount,txn_count\n"
            "c1,2026-01-02T00:00:00Z,0,10.5,3\n"
            "c2,2026-01-05T00:00:00Z,1,7.25,1\n"
            "c3,2026-01-05T00:00:00Z,0,,\n");

  // The training set is a dataset version like any other, and the view knows its consumer.
  auto show = nlohmann::json::parse(Ferry({"features", "show", "customer_stats", "--json"}).out);
  ASSERT_EQ(show["consumers"].size(), 1u);
  EXPECT_EQ(show["consumers"][0]["id"], "train@1");
  CommandResult same = Ferry({"features", "historical", "--entities", "entities.csv",
                              "--features", "customer_stats:avg_amount,customer_stats:txn_count",
                              "--out", "train"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("unchanged: training set train@1"), std::string::npos) << same.out;
}

TEST_F(FeaturesE2eTest, DatasetDownloadAndHistoricalRetrievalOverHttp) {
  ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  // Several MiB: the download goes out in many pieces.
  ASSERT_EQ(Ferry({"demo", "transactions", "--rows", "100000", "--out", "big.csv"}).exit_code, 0);
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);

  HttpResult uploaded =
      HttpPostFile(port, "/api/v1/datasets/big/versions?filename=big.csv", dir_ / "big.csv");
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const std::string sha =
      nlohmann::json::parse(uploaded.body)["version"]["content_sha256"].get<std::string>();
  HttpResult downloaded = HttpRequest(port, "GET", "/api/v1/datasets/big/versions/1/content");
  ASSERT_EQ(downloaded.status, 200) << downloaded.body.substr(0, 200);
  EXPECT_GT(downloaded.body.size(), 4u << 20);
  EXPECT_TRUE(downloaded.body == ReadFile("big.csv")) << "downloaded bytes differ";
  EXPECT_NE(downloaded.headers.find("ETag: \"sha256:" + sha + "\""), std::string::npos)
      << downloaded.headers;
  EXPECT_NE(downloaded.headers.find("Content-Disposition: attachment; filename=\"big.csv\""),
            std::string::npos)
      << downloaded.headers;
  EXPECT_EQ(HttpRequest(port, "GET", "/api/v1/datasets/big/versions/2/content").status, 404);

  // The training set as CSV, from the entity table in the body...
  const std::string expected =
      "customer_id,event_timestamp,label,avg_amount,txn_count\n"
      "c1,2026-01-02T00:00:00Z,0,10.5,3\n"
      "c2,2026-01-05T00:00:00Z,1,7.25,1\n"
      "c3,2026-01-05T00:00:00Z,0,,\n";
  HttpResult csv =
      HttpPostFile(port, "/api/v1/features/historical?service=fraud", dir_ / "entities.csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, expected);
  EXPECT_NE(csv.headers.find("X-Ferry-Rows: 3"), std::string::npos) << csv.headers;
  // ... or from a dataset version, stored as a new version that the CLI exports.
  ASSERT_EQ(HttpPostFile(port, "/api/v1/datasets/ents/versions?filename=entities.csv",
                         dir_ / "entities.csv")
                .status,
            201);
  HttpResult stored = HttpRequest(
      port, "POST",
      "/api/v1/features/historical?features=customer_stats:*&entities=ents@1&out=train");
  ASSERT_EQ(stored.status, 201) << stored.body;
  const nlohmann::json result = nlohmann::json::parse(stored.body);
  EXPECT_EQ(result["version"]["ref"], "train@1");
  EXPECT_EQ(result["views"][0]["matched"], 2);
  HttpResult bad = HttpRequest(port, "POST", "/api/v1/features/historical?service=nope", "x\n");
  EXPECT_EQ(bad.status, 404) << bad.body;

  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(20)), 0) << server.Stderr();
  ASSERT_EQ(Ferry({"data", "export", "train@1", "train.csv"}).exit_code, 0);
  EXPECT_EQ(ReadFile("train.csv"), expected);
  EXPECT_TRUE(fs::is_empty(dir_ / ".ferry/uploads"));
}

TEST_F(FeaturesE2eTest, BadInputGivesClearErrorsAndExitCodes) {
  WriteFile("bad.yaml", "entities:\n  - name: customer\n    join_keys: [{name: customer_id}]\n");
  CommandResult bad = Ferry({"features", "apply", "bad.yaml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yaml:3: entities[0].join_keys[0].type: required"),
            std::string::npos)
      << bad.err;
  WriteFile("wrong.yaml", std::string(kDefinitions).replace(
                              std::string(kDefinitions).find("avg_amount, type: float64"), 25,
                              "avg_amount, type: string"));
  CommandResult wrong = Ferry({"features", "apply", "wrong.yaml"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("feature \"avg_amount\" is declared string but customer_daily has it"
                           " as float64"),
            std::string::npos)
      << wrong.err;
  // Nothing was registered by the failed applies.
  EXPECT_NE(Ferry({"features", "list"}).out.find("no features yet"), std::string::npos);

  ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
  CommandResult unknown = Ferry({"features", "historical", "--entities", "entities.csv",
                                 "--features", "customer_stats:nope", "--out", "t"});
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_NE(unknown.err.find("has no feature \"nope\""), std::string::npos) << unknown.err;
  CommandResult no_entities = Ferry({"features", "historical", "--entities", "missing.csv",
                                     "--service", "fraud", "--out", "t"});
  EXPECT_EQ(no_entities.exit_code, 3) << no_entities.err;
  CommandResult both = Ferry({"features", "historical", "--entities", "entities.csv",
                              "--service", "fraud", "--features", "customer_stats:avg_amount",
                              "--out", "t"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(Ferry({"features", "show", "nothing"}).exit_code, 3);
  EXPECT_EQ(Ferry({"data", "log", "t"}).exit_code, 3);  // no training set was stored
}

TEST_F(FeaturesE2eTest, MatchesPandasMergeAsofOnRandomData) {
  for (const char* seed : {"11", "12"}) {
    CommandResult check = RunCommand({"/usr/bin/python3", FERRY_PANDAS_CHECK, FERRY_BINARY,
                                      (dir_ / (std::string("pandas-") + seed)).string(), seed},
                                     dir_);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find(" 0 differences"), std::string::npos) << check.out;
  }
}

}  // namespace
}  // namespace ferry::e2e
