// The split step: fractions, determinism, key groups, time order, exact values, errors
// and reproduction.

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "core/strings.h"
#include "pipeline/step_fixture.h"
#include "table/csv_writer.h"

namespace ferry::pipeline {
namespace {

class SplitStepTest : public StepFixture {
 protected:
  // `rows` rows: id, user (rows / 10 users), ts (one per minute, 5 rows each), amount.
  static std::string Rows(int rows) {
    std::string csv = "id,user,ts,amount\n";
    for (int i = 0; i < rows; ++i) {
      std::string ts;
      table::AppendIsoTimestamp(
          ts, 1'767'225'600'000'000 + int64_t{(i * 7919) % rows / 5} * 60'000'000);
      csv += std::to_string(i) + ",u" + std::to_string((i * 31) % (rows / 10)) + "," + ts + "," +
             std::to_string(i) + ".25\n";
    }
    return csv;
  }

  StepRun Split(const std::string& params, const StepValue& data, const std::string& outputs = "") {
    return RunStep(
        RunSplitStep,
        "{id: split, uses: split, inputs: {data: d}" + outputs + ", params: {" + params + "}}",
        {{"data", data}});
  }

  dataset::VersionRecord Version(const StepValue& value) {
    auto version = datasets_->Resolve(dataset::ParseDatasetRef(value.ref).value());
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : dataset::VersionRecord{};
  }

  // Every value of `column` in the version, as text (nulls as "<null>").
  std::vector<std::string> Column(const StepValue& value, const std::string& column) {
    std::vector<std::string> out;
    const absl::Status read = datasets_->ReadBatches(
        Version(value), {column}, 1024, [&](table::RecordBatch batch) -> absl::Status {
          const table::ColumnArray& c = batch.columns.front();
          for (size_t r = 0; r < c.size(); ++r) {
            if (c.IsNull(r)) {
              out.push_back("<null>");
            } else if (c.type == table::ColumnType::kString) {
              out.emplace_back(c.StringAt(r));
            } else if (c.type == table::ColumnType::kFloat64) {
              out.push_back(fmt::format("{}", c.float64_values[r]));
            } else if (c.type == table::ColumnType::kBool) {
              out.push_back(c.bool_values[r] ? "true" : "false");
            } else {
              out.push_back(std::to_string(c.int64_values[r]));
            }
          }
          return absl::OkStatus();
        });
    EXPECT_TRUE(read.ok()) << read;
    return out;
  }

  int64_t VersionCount(const std::string& dataset) {
    auto log = datasets_->Log(dataset);
    return log.ok() ? static_cast<int64_t>(log->size()) : 0;
  }
};

TEST_F(SplitStepTest, RandomSplitGivesRoughlyTheFractionsAndLogsRowCounts) {
  const StepValue data = AddDataset("d", Rows(10'000));
  StepRun run = Split("train: 0.7, validation: 0.1, test: 0.2, seed: 3", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  ASSERT_EQ(run.outputs.size(), 3u);
  EXPECT_EQ(run.outputs["train"].ref, "p_split_train@1");
  EXPECT_EQ(run.outputs["validation"].ref, "p_split_validation@1");
  EXPECT_EQ(run.outputs["test"].ref, "p_split_test@1");
  const int64_t train = *Version(run.outputs["train"]).rows;
  const int64_t validation = *Version(run.outputs["validation"]).rows;
  const int64_t test = *Version(run.outputs["test"]).rows;
  EXPECT_EQ(train + validation + test, 10'000);
  EXPECT_NEAR(train, 7'000, 250);
  EXPECT_NEAR(validation, 1'000, 150);
  EXPECT_NEAR(test, 2'000, 200);
  EXPECT_NE(run.outcome->note.find("train " + std::to_string(train)), std::string::npos)
      << run.outcome->note;

  auto logged = tracking_->GetRun(run.run_id);
  ASSERT_TRUE(logged.ok()) << logged.status();
  std::map<std::string, double> metrics;
  for (const auto& m : logged->metrics) metrics[m.key] = m.value;
  EXPECT_EQ(metrics["rows_train"], train);
  EXPECT_EQ(metrics["rows_validation"], validation);
  EXPECT_EQ(metrics["rows_test"], test);

  // Every row lands in exactly one part.
  std::vector<std::string> ids;
  for (const char* part : {"train", "validation", "test"}) {
    for (std::string& id : Column(run.outputs[part], "id")) ids.push_back(std::move(id));
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 10'000u);
}

TEST_F(SplitStepTest, SameDataAndParamsGiveByteIdenticalOutputs) {
  const StepValue data = AddDataset("d", Rows(2'000));
  StepRun first = Split("seed: 11, dataset_prefix: a", data);
  StepRun second = Split("seed: 11, dataset_prefix: b", data);
  StepRun other_seed = Split("seed: 12, dataset_prefix: c", data);
  ASSERT_TRUE(first.outcome.ok()) << first.outcome.status();
  ASSERT_TRUE(second.outcome.ok()) << second.outcome.status();
  ASSERT_TRUE(other_seed.outcome.ok()) << other_seed.outcome.status();
  for (const char* part : {"train", "validation", "test"}) {
    EXPECT_EQ(first.outputs[part].sha256, second.outputs[part].sha256) << part;
    EXPECT_EQ(Version(first.outputs[part]).content_sha256,
              Version(second.outputs[part]).content_sha256);
  }
  EXPECT_EQ(first.outputs["train"].ref, "a_train@1");
  EXPECT_EQ(second.outputs["train"].ref, "b_train@1");
  EXPECT_NE(first.outputs["train"].sha256, other_seed.outputs["train"].sha256);
}

TEST_F(SplitStepTest, RowsWithEqualKeysLandInOneSplit) {
  const StepValue data = AddDataset("d", Rows(5'000));
  StepRun run = Split("key: user, seed: 5, validation: 0.2, train: 0.6", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  std::map<std::string, std::set<std::string>> parts_of_user;
  int64_t total = 0;
  for (const char* part : {"train", "validation", "test"}) {
    for (const std::string& user : Column(run.outputs[part], "user")) {
      parts_of_user[user].insert(part);
      ++total;
    }
  }
  EXPECT_EQ(total, 5'000);
  EXPECT_EQ(parts_of_user.size(), 500u);
  std::map<std::string, int> users_in;
  for (const auto& [user, parts] : parts_of_user) {
    EXPECT_EQ(parts.size(), 1u) << user;
    ++users_in[*parts.begin()];
  }
  // 500 groups: the fractions hold roughly.
  EXPECT_NEAR(users_in["train"], 300, 45);
  EXPECT_NEAR(users_in["validation"], 100, 35);
}

TEST_F(SplitStepTest, TimeSplitPutsEarliestInTrainAndNeverCutsEqualTimes) {
  const StepValue data = AddDataset("d", Rows(1'000));  // 200 distinct times, 5 rows each
  StepRun run = Split("by: time, time_column: ts, train: 0.61, validation: 0.17, test: 0.22", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  const auto train = Column(run.outputs["train"], "ts");
  const auto validation = Column(run.outputs["validation"], "ts");
  const auto test = Column(run.outputs["test"], "ts");
  ASSERT_FALSE(train.empty());
  ASSERT_FALSE(validation.empty());
  ASSERT_FALSE(test.empty());
  EXPECT_LT(*std::max_element(train.begin(), train.end()),
            *std::min_element(validation.begin(), validation.end()));
  EXPECT_LT(*std::max_element(validation.begin(), validation.end()),
            *std::min_element(test.begin(), test.end()));
  // Cuts move to the edge of a run of 5 equal times: 610 -> 610, 780 -> 780.
  EXPECT_EQ(train.size(), 610u);
  EXPECT_EQ(validation.size(), 170u);
  EXPECT_EQ(test.size(), 220u);
  // Each part keeps the input's order.
  const auto ids = Column(run.outputs["train"], "id");
  EXPECT_TRUE(std::is_sorted(
      ids.begin(), ids.end(),
      [](const std::string& a, const std::string& b) { return std::stoi(a) < std::stoi(b); }));
}

TEST_F(SplitStepTest, TimeSplitMovesACutToTheNearerEdgeOfEqualTimes) {
  // Times 1 (x4), 2 (x4), 3 (x2). A 0.5 cut (row 5) falls inside the 2s [4, 8), 1 row
  // from their start and 3 from their end: the 2s go to test.
  std::string csv = "n,t\n";
  for (int t : {1, 1, 1, 1, 2, 2, 2, 2, 3, 3}) csv += "0," + std::to_string(t) + "\n";
  const StepValue data = AddDataset("d", csv);
  StepRun run = Split("by: time, time_column: t, train: 0.5, test: 0.5", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(Column(run.outputs["train"], "t"), std::vector<std::string>({"1", "1", "1", "1"}));
  EXPECT_EQ(Column(run.outputs["test"], "t").size(), 6u);
  // At 0.7 (row 7: 3 from the start of the 2s, 1 from the end) the 2s go to train.
  run = Split("by: time, time_column: t, train: 0.7, test: 0.3, dataset_prefix: q", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(Column(run.outputs["train"], "t").size(), 8u);
  EXPECT_EQ(Column(run.outputs["test"], "t"), std::vector<std::string>({"3", "3"}));
}

TEST_F(SplitStepTest, ValuesRoundTripExactly) {
  const std::string csv =
      "i,f,b,s,t\n"
      "1,0.1,true,\"a,b\",2026-01-01T00:00:00Z\n"
      "-9223372036854775808,1e-300,false,\"say \"\"hi\"\"\",2026-01-01 10:30:00.123456\n"
      "3,123456789.123456789,,\"\",2026-01-02T00:00:00+02:00\n"
      "4,nan,true, x ,\n"
      ",-inf,false,plain,2026-01-03T00:00:00Z\n"
      "6,2.5e+20,true,\"line\nbreak\",2026-01-04T00:00:00Z\n";
  const StepValue data = AddDataset("d", csv);
  StepRun run = Split("train: 1, test: 0", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  const dataset::VersionRecord in = Version(data);
  const dataset::VersionRecord out = Version(run.outputs["train"]);
  EXPECT_EQ(in.schema_json, out.schema_json);
  for (const char* column : {"i", "f", "b", "s", "t"}) {
    EXPECT_EQ(Column(data, column), Column(run.outputs["train"], column)) << column;
  }
  EXPECT_EQ(*Version(run.outputs["test"]).rows, 0);
}

TEST_F(SplitStepTest, AnEmptyPartIsAHeaderOnlyDataset) {
  const StepValue data = AddDataset("d", Rows(100));
  StepRun run = Split("train: 0.9, test: 0.1", data);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  const dataset::VersionRecord validation = Version(run.outputs["validation"]);
  EXPECT_EQ(*validation.rows, 0);
  EXPECT_NE(validation.schema_json.find("\"amount\""), std::string::npos);
}

TEST_F(SplitStepTest, OnlyDeclaredOutputsAreWritten) {
  const StepValue data = AddDataset("d", Rows(100));
  StepRun run = Split("", data, ", outputs: [train, test]");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(run.outputs.size(), 2u);
  EXPECT_EQ(VersionCount("p_split_validation"), 0);
}

TEST_F(SplitStepTest, BadParamsAndMissingColumnsAreErrorsNamingTheStep) {
  const StepValue data = AddDataset("d", Rows(100));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train: 0.5, test: 0.2", "must sum to 1"},
      {"train: 1.5, test: -0.5", "param train"},
      {"train: half", "param train"},
      {"by: shuffle", "param by"},
      {"key: nobody", "no column \"nobody\""},
      {"by: time, time_column: when", "no column \"when\""},
      {"by: time, time_column: user", "not times or numbers"},
      {"by: time, time_column: ts, key: user", "param key"},
      {"seed: x", "param seed"},
      {"dataset_prefix: \"bad name\"", "param dataset_prefix"},
  };
  for (const auto& [params, expected] : cases) {
    StepRun run = Split(params, data);
    ASSERT_FALSE(run.outcome.ok()) << params;
    const std::string message(run.outcome.status().message());
    EXPECT_TRUE(message.starts_with("step split: ")) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << params << ": " << message;
    EXPECT_TRUE(run.outputs.empty()) << params;
  }
  EXPECT_EQ(VersionCount("p_split_train"), 0);
}

TEST_F(SplitStepTest, AnEmptyTimeIsAnErrorNamingTheRow) {
  const StepValue data = AddDataset("d", "n,t\n1,2026-01-01T00:00:00Z\n2,\n");
  StepRun run = Split("by: time, time_column: t", data);
  ASSERT_FALSE(run.outcome.ok());
  EXPECT_NE(run.outcome.status().message().find("row 2"), std::string::npos)
      << run.outcome.status();
}

TEST_F(SplitStepTest, ReproducingGivesTheRecordedOutputsWithoutNewVersions) {
  const StepValue data = AddDataset("d", Rows(500));
  StepRun first = Split("seed: 4", data);
  ASSERT_TRUE(first.outcome.ok()) << first.outcome.status();
  // Another version of a part meanwhile: a normal run would add a new one after it.
  AddDataset("p_split_train", "x\n1\n");
  StepRun again =
      RunStep(RunSplitStep, "{id: split, uses: split, inputs: {data: d}, params: {seed: 4}}",
              {{"data", data}}, /*reproducing=*/true, first.outputs);
  ASSERT_TRUE(again.outcome.ok()) << again.outcome.status();
  EXPECT_EQ(again.outputs, first.outputs);
  EXPECT_EQ(VersionCount("p_split_train"), 2);
  EXPECT_EQ(VersionCount("p_split_validation"), 1);
  EXPECT_EQ(VersionCount("p_split_test"), 1);
}

}  // namespace
}  // namespace ferry::pipeline
