// End-to-end tests of `ferry features ...` (apply, list, show, historical), and the
// point-in-time join checked against pandas.merge_asof (pandas_merge_asof_check.py).

#include <gtest/gtest.h>

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
