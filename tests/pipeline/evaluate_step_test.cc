// The evaluate step: candidate against the endpoint's production model or a named
// baseline, the gate both ways, floors, other objectives, and errors.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "pipeline/model_step_fixture.h"

namespace ferry::pipeline {
namespace {

class EvaluateStepTest : public ModelStepFixture {
 protected:
  void SetUp() override {
    ModelStepFixture::SetUp();
    test_ = AddDataset("t", RowsCsv(MakeRows(500, 7)));
  }

  StepRun Evaluate(const StepValue& candidate, const std::string& params) {
    return RunStep(RunEvaluateStep,
                   "{id: evaluate, uses: evaluate, inputs: {model: m, test: t}, params: {label: "
                   "label" +
                       (params.empty() ? "" : ", " + params) + "}}",
                   {{"model", candidate}, {"test", test_}});
  }

  nlohmann::json Evaluation(const StepRun& run) {
    const auto it = run.outputs.find("evaluation");
    EXPECT_NE(it, run.outputs.end());
    if (it == run.outputs.end()) return nullptr;
    EXPECT_EQ(it->second.ref, "outputs/evaluation.json");
    auto digest = core::Digest::FromHex(it->second.sha256);
    auto bytes = workspace_->objects().GetBytes(*digest, 1 << 20);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return nlohmann::json::parse(bytes.value_or("null"));
  }

  StepValue test_;
};

TEST_F(EvaluateStepTest, ABetterCandidateThanProductionIsBlessed) {
  DeployProduction("fraud", RegisterModel("fraud", TrainModel("weak", false)));
  StepRun run = Evaluate(FileValue(TrainModel("good", true), "model.json"),
                         "endpoint: fraud, min_improvement: 0.05");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  EXPECT_TRUE(run.outcome->note.starts_with("blessed: auc 0.9")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("vs production fraud@1 0."), std::string::npos)
      << run.outcome->note;
  EXPECT_NE(run.outcome->note.find(">= 0.05)"), std::string::npos) << run.outcome->note;

  const nlohmann::json evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["blessed"], true);
  EXPECT_EQ(evaluation["metric"], "auc");
  EXPECT_EQ(evaluation["higher_is_better"], true);
  EXPECT_EQ(evaluation["rows"], 500);
  EXPECT_EQ(evaluation["baseline"]["model"], "fraud@1");
  EXPECT_EQ(evaluation["min_improvement"], 0.05);
  const double candidate = evaluation["candidate"]["auc"];
  const double baseline = evaluation["baseline"]["metrics"]["auc"];
  EXPECT_GT(candidate, 0.9);
  EXPECT_LT(baseline, 0.7);
  EXPECT_DOUBLE_EQ(evaluation["improvement"].get<double>(), candidate - baseline);
  for (const char* metric : {"auc", "logloss", "accuracy", "precision", "recall"}) {
    EXPECT_TRUE(evaluation["candidate"][metric].is_number()) << metric;
    EXPECT_TRUE(evaluation["baseline"]["metrics"][metric].is_number()) << metric;
  }
  EXPECT_EQ(evaluation["floors"], nlohmann::json::array());
  EXPECT_EQ(evaluation["reasons"].size(), 1u);

  const auto metrics = Metrics(run.run_id);
  EXPECT_DOUBLE_EQ(metrics.at("candidate_auc"), candidate);
  EXPECT_DOUBLE_EQ(metrics.at("baseline_auc"), baseline);
  EXPECT_TRUE(metrics.contains("candidate_logloss"));
  EXPECT_TRUE(metrics.contains("baseline_recall"));
  EXPECT_EQ(metrics.at("blessed"), 1);
}

TEST_F(EvaluateStepTest, AWorseCandidateIsNotBlessedAndTheStepSucceeds) {
  DeployProduction("fraud", RegisterModel("fraud", TrainModel("good", true)));
  StepRun run = Evaluate(FileValue(TrainModel("weak", false), "model.json"), "endpoint: fraud");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  EXPECT_TRUE(run.outcome->note.starts_with("not blessed: auc 0.")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find(" < 0)"), std::string::npos) << run.outcome->note;
  const nlohmann::json evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["blessed"], false);
  EXPECT_LT(evaluation["improvement"].get<double>(), 0);
  EXPECT_EQ(Metrics(run.run_id).at("blessed"), 0);
}

TEST_F(EvaluateStepTest, AFailingFloorBlocksEvenABetterCandidate) {
  DeployProduction("fraud", RegisterModel("fraud", TrainModel("weak", false)));
  StepRun run = Evaluate(FileValue(TrainModel("good", true), "model.json"),
                         "endpoint: fraud, min_auc: 0.7, max_logloss: 0.01");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->note.starts_with("not blessed: ")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("above max_logloss 0.01"), std::string::npos)
      << run.outcome->note;
  const nlohmann::json evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["blessed"], false);
  ASSERT_EQ(evaluation["floors"].size(), 2u);
  // Params in name order: max_logloss, min_auc.
  EXPECT_EQ(evaluation["floors"][0]["metric"], "logloss");
  EXPECT_EQ(evaluation["floors"][0]["bound"], "max");
  EXPECT_EQ(evaluation["floors"][0]["passed"], false);
  EXPECT_EQ(evaluation["floors"][1]["metric"], "auc");
  EXPECT_EQ(evaluation["floors"][1]["bound"], "min");
  EXPECT_EQ(evaluation["floors"][1]["threshold"], 0.7);
  EXPECT_EQ(evaluation["floors"][1]["passed"], true);
  ASSERT_EQ(evaluation["reasons"].size(), 1u);
  EXPECT_NE(evaluation["reasons"][0].get<std::string>().find("max_logloss"), std::string::npos);
}

TEST_F(EvaluateStepTest, WithoutABaselineTheFloorsDecide) {
  // No endpoint named fraud: the first model of a new endpoint.
  StepRun run =
      Evaluate(FileValue(TrainModel("good", true), "model.json"), "endpoint: fraud, min_auc: 0.8");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->note.starts_with("blessed: auc 0.9")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("no baseline (no endpoint named fraud)"), std::string::npos)
      << run.outcome->note;
  nlohmann::json evaluation = Evaluation(run);
  EXPECT_TRUE(evaluation["baseline"].is_null());
  EXPECT_TRUE(evaluation["improvement"].is_null());
  EXPECT_EQ(evaluation["blessed"], true);

  run =
      Evaluate(FileValue(TrainModel("weak", false), "model.json"), "endpoint: fraud, min_auc: 0.8");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->note.starts_with("not blessed: auc 0.")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("no baseline"), std::string::npos) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("below min_auc 0.8"), std::string::npos) << run.outcome->note;

  // An endpoint whose model has no production alias: no baseline either.
  RegisterModel("fraud", TrainModel("weak", false));
  deployments_ = std::move(serving::DeploymentStore::Open(*workspace_)).value();
  serving::DeployOptions pinned;
  pinned.endpoint = "fraud";
  pinned.model = registry::ParseModelRef("fraud@1").value();
  ASSERT_TRUE(deployments_->Put(pinned).ok());
  run = Evaluate(FileValue(TrainModel("good", true), "model.json"), "endpoint: fraud");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_NE(run.outcome->note.find("no baseline (fraud, which endpoint fraud serves, has no "
                                   "production alias)"),
            std::string::npos)
      << run.outcome->note;
}

TEST_F(EvaluateStepTest, RecentScoresOnlyTheLatestRowsByTime) {
  // 300 old rows whose labels are flipped (the world then) and 200 recent ones that follow
  // the pattern the good model learned (the world now).
  const Rows rows = MakeRows(500, 7);
  std::string csv = "event_timestamp,x1,x2,label\n";
  for (size_t i = 0; i < rows.labels.size(); ++i) {
    const bool old = i < 300;
    const int label = static_cast<int>(rows.labels[i]);
    csv += fmt::format("2026-01-{:02d}T{:02d}:00:00Z,{},{},{}\n", old ? 1 : 10, i % 24,
                       rows.features[2 * i], rows.features[2 * i + 1], old ? 1 - label : label);
  }
  test_ = AddDataset("timed", csv);
  const StepValue good = FileValue(TrainModel("good", true), "model.json");
  StepRun recent = Evaluate(good, "recent: 2d");
  ASSERT_TRUE(recent.outcome.ok()) << recent.outcome.status();
  EXPECT_EQ(Evaluation(recent)["rows"], 200);
  EXPECT_GT(Evaluation(recent)["candidate"]["auc"].get<double>(), 0.9);
  StepRun all = Evaluate(good, "");
  ASSERT_TRUE(all.outcome.ok()) << all.outcome.status();
  EXPECT_EQ(Evaluation(all)["rows"], 500);
  EXPECT_LT(Evaluation(all)["candidate"]["auc"].get<double>(), 0.6);

  StepRun bad = Evaluate(good, "recent: soon");
  ASSERT_FALSE(bad.outcome.ok());
  EXPECT_NE(bad.outcome.status().message().find("param recent: \"soon\" is not a duration"),
            std::string::npos)
      << bad.outcome.status();
  StepRun not_time = Evaluate(good, "recent: 1d, time_column: x1");
  ASSERT_FALSE(not_time.outcome.ok());
  EXPECT_NE(not_time.outcome.status().message().find("\"x1\" holds float64"), std::string::npos)
      << not_time.outcome.status();
}

TEST_F(EvaluateStepTest, ABaselineParamNamesTheVersionToBeat) {
  RegisterModel("fraud", TrainModel("weak", false));
  RegisterModel("fraud", TrainModel("good", true));
  StepRun run = Evaluate(FileValue(TrainModel("weak2", false), "model.json"),
                         "baseline: fraud@2, metric: logloss");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->note.starts_with("not blessed: logloss ")) << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("vs baseline fraud@2"), std::string::npos);
  const nlohmann::json evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["higher_is_better"], false);
  EXPECT_EQ(evaluation["baseline"]["model"], "fraud@2");
}

TEST_F(EvaluateStepTest, RegressionAndMultiClassModelsGetTheirMetrics) {
  const Rows rows = MakeRows(300, 1);
  std::vector<float> targets;
  std::vector<float> classes;
  for (size_t i = 0; i < rows.labels.size(); ++i) {
    targets.push_back(rows.features[2 * i] * 3);
    classes.push_back(std::floor(rows.features[2 * i] * 3));
  }
  const auto regression = temp_ / "reg.json";
  testing::TrainXGBoostModel(regression, 2, {"x1", "x2"}, rows.features, targets,
                             {.objective = "reg:squarederror", .rounds = 10, .max_depth = 3});
  StepRun run = RunStep(RunEvaluateStep,
                        "{id: evaluate, uses: evaluate, inputs: {model: m, test: r}, params: "
                        "{label: y, max_rmse: 1}}",
                        {{"model", FileValue(regression, "model.json")},
                         {"test", AddDataset("r", "x1,x2,y\n0.1,0.5,0.3\n0.5,0.5,1.5\n")}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  nlohmann::json evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["metric"], "rmse");
  EXPECT_EQ(evaluation["blessed"], true);
  EXPECT_TRUE(evaluation["candidate"]["mae"].is_number());

  const auto multi = temp_ / "multi.json";
  testing::TrainXGBoostModel(
      multi, 2, {"x1", "x2"}, rows.features, classes,
      {.objective = "multi:softprob", .rounds = 5, .max_depth = 3, .num_class = 3});
  run = RunStep(RunEvaluateStep,
                "{id: evaluate, uses: evaluate, inputs: {model: m, test: c}, params: {label: k}}",
                {{"model", FileValue(multi, "model.json")},
                 {"test", AddDataset("c", "x1,x2,k\n0.1,0.5,0\n0.5,0.5,1\n0.9,0.1,2\n")}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  evaluation = Evaluation(run);
  EXPECT_EQ(evaluation["metric"], "accuracy");
  EXPECT_TRUE(evaluation["candidate"]["logloss"].is_number());
  EXPECT_FALSE(evaluation["candidate"].contains("auc"));
}

TEST_F(EvaluateStepTest, ErrorsNameTheStep) {
  RegisterModel("fraud", TrainModel("weak", false));
  const StepValue good = FileValue(TrainModel("good", true), "model.json");
  const StepValue renamed = FileValue(TrainModel("renamed", true, {"x1", "x3"}), "model.json");
  const StepValue nameless = FileValue(TrainModel("nameless", true, {}), "model.json");
  const struct {
    StepValue model;
    std::string params;
    std::string expected;
  } cases[] = {
      {renamed, "", "no column \"x3\" (a feature of the candidate)"},
      {nameless, "", "names no features"},
      {good, "metric: rmse", "param metric"},
      {good, "min_rmse: 1", "param min_rmse"},
      {good, "min_auc: high", "param min_auc"},
      {good, "baseline: fraud@9", "has no version 9"},
      {good, "baseline: \"fraud@\"", "param baseline"},
      {good, "baseline: fraud@1, endpoint: fraud", "not both"},
  };
  for (const auto& c : cases) {
    StepRun run = Evaluate(c.model, c.params);
    ASSERT_FALSE(run.outcome.ok()) << c.params;
    const std::string message(run.outcome.status().message());
    EXPECT_TRUE(message.starts_with("step evaluate: ")) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_TRUE(run.outputs.empty());
  }
  // A label column that is missing.
  StepRun run = RunStep(RunEvaluateStep,
                        "{id: evaluate, uses: evaluate, inputs: {model: m, test: t}, params: "
                        "{label: is_fraud}}",
                        {{"model", good}, {"test", test_}});
  ASSERT_FALSE(run.outcome.ok());
  EXPECT_NE(run.outcome.status().message().find("no column \"is_fraud\" (the label)"),
            std::string::npos)
      << run.outcome.status();
}

}  // namespace
}  // namespace ferry::pipeline
