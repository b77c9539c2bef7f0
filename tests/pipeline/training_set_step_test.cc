// The training-set step: the point-in-time join as a dataset version with the
// retrieval's lineage, errors, and reproduction.

#include <algorithm>

#include "pipeline/step_fixture.h"
#include "testing/customer_features.h"

namespace ferry::pipeline {
namespace {

class TrainingSetStepTest : public StepFixture {
 protected:
  void SetUp() override {
    StepFixture::SetUp();
    AddDataset("customer_daily", testing::kCustomerDailyCsv);
    auto defs = features::ParseFeatureDefinitions(testing::kCustomerFeatureDefinitions, "f.yaml");
    ASSERT_TRUE(defs.ok()) << defs.status();
    ASSERT_TRUE(features_->Apply(*defs, {}).ok());
    entities_ = AddDataset("labels",
                           "customer_id,event_timestamp,label\n"
                           "c1,2026-01-03T00:00:00Z,1\n"
                           "c2,2026-01-03T00:00:00Z,0\n"
                           "c1,2026-01-06T00:00:00Z,0\n"
                           "c3,2026-01-06T00:00:00Z,1\n");
  }

  StepRun Join(const std::string& params, const StepValue& entities) {
    return RunStep(
        RunTrainingSetStep,
        "{id: ts, uses: training-set, inputs: {entities: labels}, params: {" + params + "}}",
        {{"entities", entities}});
  }

  std::string Export(const StepValue& value) {
    const auto file = temp_ / "export.csv";
    auto exported = datasets_->Export(dataset::ParseDatasetRef(value.ref).value(), file);
    EXPECT_TRUE(exported.ok()) << exported.status();
    return core::ReadFileToString(file, 1 << 20).value_or("");
  }

  StepValue entities_;
};

TEST_F(TrainingSetStepTest, JoinsTheFeatureServiceIntoANewDatasetVersionWithLineage) {
  StepRun run = Join("features: fraud", entities_);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  ASSERT_EQ(run.outputs.count("data"), 1u);
  const StepValue& data = run.outputs["data"];
  EXPECT_EQ(data.kind, ValueKind::kDataset);
  EXPECT_EQ(data.ref, "p_ts@1");
  EXPECT_EQ(data.run_id, run.run_id);
  EXPECT_EQ(Export(data),
            "customer_id,event_timestamp,label,avg_amount,txn_count\n"
            "c1,2026-01-03T00:00:00Z,1,10.5,3\n"
            "c2,2026-01-03T00:00:00Z,0,7.25,1\n"
            "c1,2026-01-06T00:00:00Z,0,10.5,3\n"
            "c3,2026-01-06T00:00:00Z,1,,\n");
  EXPECT_EQ(run.outcome->note, "training set p_ts@1: 4 rows, 5 columns from feature service fraud");

  auto version = datasets_->Resolve(dataset::ParseDatasetRef(data.ref).value());
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->source, "p_ts.csv");
  auto lineage = datasets_->Lineage(*version);
  ASSERT_TRUE(lineage.ok()) << lineage.status();
  std::vector<std::string> inputs;
  for (const lineage::Edge& edge : lineage->inputs) {
    inputs.push_back(edge.relation + " " + edge.from.kind + " " + edge.from.id);
  }
  std::sort(inputs.begin(), inputs.end());
  EXPECT_EQ(inputs, std::vector<std::string>({
                        "entity_table dataset_version labels@1",
                        "feature_source dataset_version customer_daily@1",
                        "feature_view feature_view customer_stats",
                        "output run " + run.run_id,
                    }));
}

TEST_F(TrainingSetStepTest, DatasetAndFullFeatureNamesParams) {
  StepRun run = Join("features: fraud, dataset: fraud_train, full_feature_names: true", entities_);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(run.outputs["data"].ref, "fraud_train@1");
  const std::string csv = Export(run.outputs["data"]);
  EXPECT_TRUE(csv.starts_with(
      "customer_id,event_timestamp,label,customer_stats__avg_amount,customer_stats__txn_count\n"))
      << csv;
}

TEST_F(TrainingSetStepTest, ErrorsNameTheStepAndStoreNothing) {
  const StepValue no_keys = AddDataset("nokeys", "user,event_timestamp\nu1,2026-01-01T00:00:00Z\n");
  const struct {
    std::string params;
    StepValue entities;
    std::string expected;
  } cases[] = {
      {"features: nosuch", entities_, "nosuch"},
      {"features: fraud", no_keys, "customer_id"},
      {"features: fraud, full_feature_names: maybe", entities_, "param full_feature_names"},
      {"features: fraud, dataset: \"no good\"", entities_, "step ts: "},
  };
  for (const auto& c : cases) {
    StepRun run = Join(c.params, c.entities);
    ASSERT_FALSE(run.outcome.ok()) << c.params;
    const std::string message(run.outcome.status().message());
    EXPECT_TRUE(message.starts_with("step ts: ")) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_TRUE(run.outputs.empty());
  }
  EXPECT_FALSE(datasets_->Log("p_ts").ok());
}

TEST_F(TrainingSetStepTest, ReproducingGivesTheRecordedOutputWithoutANewVersion) {
  StepRun first = Join("features: fraud", entities_);
  ASSERT_TRUE(first.outcome.ok()) << first.outcome.status();
  AddDataset("p_ts", "x\n1\n");  // another version meanwhile
  StepRun again = RunStep(RunTrainingSetStep,
                          "{id: ts, uses: training-set, inputs: {entities: labels}, params: "
                          "{features: fraud}}",
                          {{"entities", entities_}}, /*reproducing=*/true, first.outputs);
  ASSERT_TRUE(again.outcome.ok()) << again.outcome.status();
  EXPECT_EQ(again.outputs, first.outputs);
  EXPECT_EQ(datasets_->Log("p_ts")->size(), 2u);
}

}  // namespace
}  // namespace ferry::pipeline
