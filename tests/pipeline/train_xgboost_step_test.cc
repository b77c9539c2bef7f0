#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "core/strings.h"
#include "pipeline/xgboost_training.h"
#include "step_fixture.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr char kStep[] =
    "{id: train, uses: train-xgboost, inputs: {train: d}, params: {label: y, rounds: 20}}";
constexpr char kStepWithValidation[] =
    "{id: train, uses: train-xgboost, inputs: {train: d, validation: v}, params: {label: y, "
    "rounds: 20}}";

struct Rows {
  std::string csv;
  std::vector<float> features;  // x1, x2, x3, n, flag per row
  std::vector<float> labels;
};

// `count` rows of x1, x2, x3 (float64, x3 sometimes empty), n (int64), flag (bool) and
// y = x1 + x2 > 0 (or a coin flip with `noise_labels`), from a fixed seed.
Rows MakeRows(int count, uint32_t seed, bool noise_labels = false) {
  std::mt19937 random(seed);
  auto uniform = [&random] { return static_cast<double>(random()) / 4294967296.0 * 2 - 1; };
  Rows rows;
  rows.csv = "x1,x2,x3,n,flag,y\n";
  for (int i = 0; i < count; ++i) {
    const double x1 = std::round(uniform() * 1000) / 1000;
    const double x2 = std::round(uniform() * 1000) / 1000;
    const double x3 = std::round(uniform() * 1000) / 1000;
    const int n = static_cast<int>(random() % 10);
    const bool flag = random() % 2 == 0;
    const bool x3_missing = i % 7 == 3;
    const int y = noise_labels ? static_cast<int>(random() % 2) : (x1 + x2 > 0 ? 1 : 0);
    rows.csv += Cat(x1, ",", x2, ",", x3_missing ? "" : Cat(x3), ",", n, ",",
                    flag ? "true" : "false", ",", y, "\n");
    for (double v : {x1, x2, x3_missing ? NAN : x3, static_cast<double>(n), flag ? 1.0 : 0.0}) {
      rows.features.push_back(static_cast<float>(v));
    }
    rows.labels.push_back(static_cast<float>(y));
  }
  return rows;
}

class TrainXgboostStepTest : public StepFixture {
 protected:
  // Runs the step on one thread unless `step` sets threads: libgomp's threads wait for
  // each other at every parallel region, and on a busy 2-core machine two of them made
  // a 30-round training of 3,000 rows take seconds instead of milliseconds.
  StepRun Train(std::string step, std::map<std::string, StepValue> inputs) {
    if (step.find("threads:") == std::string::npos) {
      step.replace(step.find("params: {"), 9, "params: {threads: 1, ");
    }
    return RunStep(RunTrainXgboostStep, step, std::move(inputs));
  }

  std::string ModelBytes(const StepRun& run) {
    const auto it = run.outputs.find("model");
    if (it == run.outputs.end()) return "";
    auto digest = core::Digest::FromHex(it->second.sha256);
    auto bytes = workspace_->objects().GetBytes(*digest, size_t{64} << 20);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }

  // A booster loaded from a step's saved model; freed by the test.
  BoosterHandle LoadBooster(const StepRun& run) {
    const std::string bytes = ModelBytes(run);
    BoosterHandle booster = nullptr;
    EXPECT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
    EXPECT_EQ(XGBoosterLoadModelFromBuffer(booster, bytes.data(), bytes.size()), 0)
        << XGBGetLastError();
    return booster;
  }

  std::vector<double> Series(const StepRun& run, const std::string& key) {
    std::vector<double> values;
    auto history = tracking_->MetricHistory(run.run_id, key);
    if (!history.ok()) return values;
    for (const tracking::MetricPoint& point : *history) values.push_back(point.value);
    return values;
  }
};

TEST_F(TrainXgboostStepTest, LearnsAClearPatternAndNamesItsFeatures) {
  const StepRun run = Train(kStep, {{"train", AddDataset("d", MakeRows(2000, 1).csv)}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_NE(run.outcome->note.find("20 rounds, train-logloss "), std::string::npos)
      << run.outcome->note;
  EXPECT_NE(run.outcome->note.find("2,000 rows x 5 features"), std::string::npos)
      << run.outcome->note;
  EXPECT_EQ(ModelBytes(run).substr(0, 1), "{");  // UBJSON by default

  BoosterHandle booster = LoadBooster(run);
  const Rows holdout = MakeRows(1000, 2);
  DMatrixHandle matrix = nullptr;
  ASSERT_EQ(XGDMatrixCreateFromMat(holdout.features.data(), 1000, 5, NAN, &matrix), 0);
  bst_ulong length = 0;
  const float* predictions = nullptr;
  ASSERT_EQ(XGBoosterPredict(booster, matrix, 0, 0, 0, &length, &predictions), 0)
      << XGBGetLastError();
  ASSERT_EQ(length, 1000u);
  int right = 0;
  for (size_t i = 0; i < length; ++i) right += (predictions[i] > 0.5f) == (holdout.labels[i] > 0);
  EXPECT_GT(right, 940);

  bst_ulong names_length = 0;
  const char** names = nullptr;
  ASSERT_EQ(XGBoosterGetStrFeatureInfo(booster, "feature_name", &names_length, &names), 0);
  EXPECT_EQ(std::vector<std::string>(names, names + names_length),
            (std::vector<std::string>{"x1", "x2", "x3", "n", "flag"}));
  ASSERT_EQ(XGBoosterGetStrFeatureInfo(booster, "feature_type", &names_length, &names), 0);
  EXPECT_EQ(std::vector<std::string>(names, names + names_length),
            (std::vector<std::string>{"float", "float", "float", "int", "i"}));
  XGDMatrixFree(matrix);
  XGBoosterFree(booster);
}

TEST_F(TrainXgboostStepTest, SameInputsAndParamsGiveByteIdenticalModels) {
  const StepValue data = AddDataset("d", MakeRows(3000, 3).csv);
  const StepValue validation = AddDataset("v", MakeRows(500, 4).csv);
  const std::string step =
      "{id: train, uses: train-xgboost, inputs: {train: d, validation: v}, params: {label: y, "
      "rounds: 30, subsample: 0.7, colsample_bytree: 0.8, seed: 5}}";
  const StepRun first = Train(step, {{"train", data}, {"validation", validation}});
  const StepRun second = Train(step, {{"train", data}, {"validation", validation}});
  ASSERT_TRUE(first.outcome.ok()) << first.outcome.status();
  ASSERT_TRUE(second.outcome.ok()) << second.outcome.status();
  EXPECT_EQ(first.outputs.at("model").sha256, second.outputs.at("model").sha256);
  EXPECT_EQ(core::Sha256::Of(ModelBytes(first)).ToHex(), first.outputs.at("model").sha256);

  const std::string other_seed =
      "{id: train, uses: train-xgboost, inputs: {train: d, validation: v}, params: {label: y, "
      "rounds: 30, subsample: 0.7, colsample_bytree: 0.8, seed: 6}}";
  const StepRun third = Train(other_seed, {{"train", data}, {"validation", validation}});
  ASSERT_TRUE(third.outcome.ok()) << third.outcome.status();
  EXPECT_NE(first.outputs.at("model").sha256, third.outputs.at("model").sha256);
}

TEST_F(TrainXgboostStepTest, LogsEveryRoundsMetricsAndItsInputsIntoTheRun) {
  const StepRun run =
      Train(kStepWithValidation, {{"train", AddDataset("d", MakeRows(2000, 1).csv)},
                                  {"validation", AddDataset("v", MakeRows(500, 2).csv)}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  const std::vector<double> train = Series(run, "train-logloss");
  const std::vector<double> validation = Series(run, "validation-logloss");
  ASSERT_EQ(train.size(), 20u);
  ASSERT_EQ(validation.size(), 20u);
  EXPECT_LT(train.back(), train.front());
  EXPECT_LT(validation.back(), validation.front());
  auto history = tracking_->MetricHistory(run.run_id, "validation-logloss");
  for (int i = 0; i < 20; ++i) EXPECT_EQ((*history)[i].step, i);
  EXPECT_NE(run.outcome->note.find("validation-logloss"), std::string::npos) << run.outcome->note;

  auto logged = tracking_->GetRun(run.run_id);
  ASSERT_TRUE(logged.ok()) << logged.status();
  ASSERT_EQ(logged->inputs.size(), 2u);
  std::sort(logged->inputs.begin(), logged->inputs.end(),
            [](const auto& a, const auto& b) { return a.dataset_version < b.dataset_version; });
  EXPECT_EQ(logged->inputs[0].dataset_version, "d@1");
  EXPECT_EQ(logged->inputs[0].role, tracking::InputRole::kTrain);
  EXPECT_EQ(logged->inputs[1].dataset_version, "v@1");
  EXPECT_EQ(logged->inputs[1].role, tracking::InputRole::kValidation);
}

TEST_F(TrainXgboostStepTest, EvalMetricsAreThoseAsked) {
  const StepRun run = Train(
      "{id: train, uses: train-xgboost, inputs: {train: d, validation: v}, params: {label: y, "
      "rounds: 5, eval_metric: \"logloss, auc\", format: json}}",
      {{"train", AddDataset("d", MakeRows(1000, 1).csv)},
       {"validation", AddDataset("v", MakeRows(300, 2).csv)}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(Series(run, "train-auc").size(), 5u);
  EXPECT_EQ(Series(run, "validation-logloss").size(), 5u);
  EXPECT_GT(Series(run, "validation-auc").back(), 0.95);
  EXPECT_EQ(ModelBytes(run).substr(0, 2), "{\"");  // JSON
}

TEST_F(TrainXgboostStepTest, EarlyStoppingKeepsTheModelUpToTheBestRound) {
  // Labels that are coin flips: validation loss gets worse after a few rounds.
  const StepRun run = Train(
      "{id: train, uses: train-xgboost, inputs: {train: d, validation: v}, params: {label: y, "
      "rounds: 200, early_stopping_rounds: 5, eta: 0.5}}",
      {{"train", AddDataset("d", MakeRows(1000, 1, true).csv)},
       {"validation", AddDataset("v", MakeRows(500, 2, true).csv)}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  const std::vector<double> validation = Series(run, "validation-logloss");
  ASSERT_LT(validation.size(), 200u);
  const size_t best = std::min_element(validation.begin(), validation.end()) - validation.begin();
  EXPECT_EQ(validation.size(), best + 6);  // stopped 5 rounds after the best
  EXPECT_EQ(Series(run, "best_iteration"), std::vector<double>{static_cast<double>(best)});
  EXPECT_EQ(Series(run, "best_score"), std::vector<double>{validation[best]});
  auto logged = tracking_->GetRun(run.run_id);
  ASSERT_TRUE(logged.ok());
  const auto tag = std::find_if(logged->tags.begin(), logged->tags.end(),
                                [](const tracking::Tag& t) { return t.key == "early_stopping"; });
  ASSERT_NE(tag, logged->tags.end());
  EXPECT_EQ(tag->value, Cat("best round ", best, " of ", best + 6, " by validation-logloss"));
  EXPECT_NE(run.outcome->note.find(Cat("(best ", best, ")")), std::string::npos);

  BoosterHandle booster = LoadBooster(run);
  int rounds = 0;
  ASSERT_EQ(XGBoosterBoostedRounds(booster, &rounds), 0);
  EXPECT_EQ(rounds, static_cast<int>(best) + 1);
  bst_ulong names = 0;
  const char** feature_names = nullptr;
  ASSERT_EQ(XGBoosterGetStrFeatureInfo(booster, "feature_name", &names, &feature_names), 0);
  EXPECT_EQ(names, 5u);  // the cut model keeps its feature names
  XGBoosterFree(booster);
}

TEST_F(TrainXgboostStepTest, EarlyStoppingWithoutValidationIsRefused) {
  const StepRun run = Train(
      "{id: train, uses: train-xgboost, inputs: {train: d}, params: {label: y, "
      "early_stopping_rounds: 5}}",
      {{"train", AddDataset("d", MakeRows(100, 1).csv)}});
  ASSERT_EQ(run.outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(run.outcome.status().message().find("step train: early_stopping_rounds needs the "
                                                "input validation"),
            std::string::npos)
      << run.outcome.status();
}

TEST_F(TrainXgboostStepTest, StringFeatureIsRefusedUntilExcluded) {
  std::string csv = "city,x1,y\n";
  for (int i = 0; i < 50; ++i) csv += Cat(i % 2 ? "paris" : "oslo", ",", i, ",", i % 2, "\n");
  const StepValue data = AddDataset("d", csv);
  const StepRun refused = Train(kStep, {{"train", data}});
  ASSERT_EQ(refused.outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.outcome.status().message().find(
                "step train: input d@1: column \"city\" is string: XGBoost takes numeric "
                "features only"),
            std::string::npos)
      << refused.outcome.status();
  EXPECT_NE(refused.outcome.status().message().find("exclude: city"), std::string::npos);

  const StepRun excluded = Train(
      "{id: train, uses: train-xgboost, inputs: {train: d}, params: {label: y, rounds: 2, "
      "exclude: city}}",
      {{"train", data}});
  EXPECT_TRUE(excluded.outcome.ok()) << excluded.outcome.status();
}

TEST_F(TrainXgboostStepTest, MissingLabelIsRefusedNamingTheRow) {
  const StepRun run = Train(kStep, {{"train", AddDataset("d", "x1,y\n1,0\n2,1\n3,\n4,1\n")}});
  ASSERT_EQ(run.outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(run.outcome.status().message().find("step train: input d@1: row 3 has no label"),
            std::string::npos)
      << run.outcome.status();
}

TEST_F(TrainXgboostStepTest, UnknownColumnsAreRefusedNamingThem) {
  const StepValue data = AddDataset("d", MakeRows(50, 1).csv);
  struct Case {
    std::string params;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"label: y, features: \"x1, nope\"",
            "step train: param features: there is no column \"nope\" in d@1 (its columns: x1, "
            "x2, x3, n, flag, y)"},
           {"label: y, exclude: nope", "param exclude: there is no column \"nope\""},
           {"label: z", "the label column \"z\" is not in d@1"},
           {"label: y, features: \"x1, y\"", "\"y\" is the label, not a feature"},
       }) {
    const StepRun run = Train(Cat("{id: train, uses: train-xgboost, inputs: {train: d}, "
                                  "params: {",
                                  c.params, "}}"),
                              {{"train", data}});
    ASSERT_EQ(run.outcome.status().code(), absl::StatusCode::kInvalidArgument) << c.params;
    EXPECT_NE(run.outcome.status().message().find(c.message), std::string::npos)
        << run.outcome.status();
  }
}

TEST_F(TrainXgboostStepTest, FeaturesParamPicksAndOrdersColumns) {
  const StepRun run = Train(
      "{id: train, uses: train-xgboost, inputs: {train: d}, params: {label: y, rounds: 3, "
      "features: \"x2, x1\", threads: 2}}",
      {{"train", AddDataset("d", MakeRows(200, 1).csv)}});
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  BoosterHandle booster = LoadBooster(run);
  bst_ulong length = 0;
  const char** names = nullptr;
  ASSERT_EQ(XGBoosterGetStrFeatureInfo(booster, "feature_name", &length, &names), 0);
  EXPECT_EQ(std::vector<std::string>(names, names + length),
            (std::vector<std::string>{"x2", "x1"}));
  XGBoosterFree(booster);
}

TEST_F(TrainXgboostStepTest, BadParamsAndLibxgboostErrorsNameTheStep) {
  const StepValue data = AddDataset("d", MakeRows(50, 1).csv);
  for (const auto& [params, message] : std::vector<std::pair<std::string, std::string>>{
           {"label: y, tree_method: gpu", "step train: param tree_method: expected hist"},
           {"label: y, objective: \"multi:softprob\"", "param num_class is required"},
           {"label: y, objective: \"no:such\"", "step train: libxgboost: "},
           {"label: y, eta: 2", "step train: param eta: expected a number in 0..1"},
           {"label: y, format: pickle", "param format: expected ubj or json"},
       }) {
    const StepRun run = Train(Cat("{id: train, uses: train-xgboost, inputs: {train: d}, "
                                  "params: {",
                                  params, "}}"),
                              {{"train", data}});
    ASSERT_FALSE(run.outcome.ok()) << params;
    EXPECT_NE(run.outcome.status().message().find(message), std::string::npos)
        << run.outcome.status();
  }
}

TEST_F(TrainXgboostStepTest, OtherTreeMethodsTrainToo) {
  const StepValue data = AddDataset("d", MakeRows(500, 1).csv);
  const StepValue validation = AddDataset("v", MakeRows(200, 2).csv);
  for (const std::string method : {"approx", "exact"}) {
    const StepRun run = Train(Cat("{id: train, uses: train-xgboost, inputs: {train: d, "
                                  "validation: v}, params: {label: y, rounds: 5, "
                                  "tree_method: ",
                                  method, "}}"),
                              {{"train", data}, {"validation", validation}});
    ASSERT_TRUE(run.outcome.ok()) << method << ": " << run.outcome.status();
    const std::vector<double> loss = Series(run, "validation-logloss");
    ASSERT_EQ(loss.size(), 5u);
    EXPECT_LT(loss.back(), loss.front());
  }
}

TEST_F(TrainXgboostStepTest, CancellationStopsBetweenRounds) {
  cancel_ = true;
  const StepRun run = Train(kStep, {{"train", AddDataset("d", MakeRows(100, 1).csv)}});
  EXPECT_EQ(run.outcome.status().code(), absl::StatusCode::kCancelled) << run.outcome.status();
  EXPECT_TRUE(run.outputs.empty());
}

TEST(XGBoostTrainingTest, ParsesEvaluationLines) {
  auto metrics = ParseEvalLine("[12]\ttrain-logloss:0.51234\tvalidation-ndcg@5:0.875");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->size(), 2u);
  EXPECT_EQ((*metrics)[0].name, "train-logloss");
  EXPECT_DOUBLE_EQ((*metrics)[0].value, 0.51234);
  EXPECT_EQ((*metrics)[1].name, "validation-ndcg@5");
  EXPECT_DOUBLE_EQ((*metrics)[1].value, 0.875);
  EXPECT_TRUE(ParseEvalLine("[0]").ok());
  EXPECT_FALSE(ParseEvalLine("train-logloss:0.5").ok());
  EXPECT_FALSE(ParseEvalLine("[0]\ttrain-logloss:x").ok());
  EXPECT_FALSE(ParseEvalLine("[0]\tlogloss").ok());
}

TEST(XGBoostTrainingTest, KnowsWhichMetricsGrowBetter) {
  for (const char* metric : {"auc", "aucpr", "map", "ndcg@5", "pre@10"}) {
    EXPECT_TRUE(HigherIsBetter(metric)) << metric;
  }
  for (const char* metric : {"logloss", "error", "rmse", "mlogloss", "merror", "mae"}) {
    EXPECT_FALSE(HigherIsBetter(metric)) << metric;
  }
}

}  // namespace
}  // namespace ferry::pipeline
