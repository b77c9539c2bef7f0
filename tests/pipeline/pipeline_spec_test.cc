#include "pipeline/pipeline_spec.h"

#include <gtest/gtest.h>

namespace ferry::pipeline {
namespace {

constexpr char kSpec[] = R"(
name: fraud_retrain
description: retrain on drift
params: {rounds: 200, eta: 0.1}
max_concurrent_runs: 1
triggers:
  - schedule: "0 3 * * *"
  - dataset: transactions
  - alert: FraudFeatureDrift
  - manual: {}
steps:
  - id: training_set
    uses: training-set
    inputs: {entities: labels@latest}
    params: {features: fraud}
  - id: split
    uses: split
    inputs: {data: steps.training_set.data}
    outputs: [train, validation, test]
    params: {seed: 7}
  - id: train
    run: python3 train.py --rounds ${params.rounds} --eta ${params.eta}
    inputs: {train: steps.split.train, valid: steps.split.validation}
    outputs: [model]
    retries: 2
    timeout: 30m
    env: {OMP_NUM_THREADS: "2"}
  - id: baseline
    run: python3 baseline.py
    inputs: {train: steps.split.train}
    outputs: [model]
  - id: evaluate
    uses: evaluate
    inputs: {model: steps.train.model, test: steps.split.test}
    params: {label: is_fraud, min_auc: 0.7, max_logloss: 0.5}
  - id: compare
    run: python3 compare.py
    deps: [lib/metrics.py]
    inputs: {baseline: steps.baseline.model, reference: transactions@3}
)";

TEST(PipelineSpecTest, ParsesEveryPartOfASpec) {
  absl::StatusOr<PipelineSpec> spec = ParsePipelineSpec(kSpec, "fraud.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "fraud_retrain");
  EXPECT_EQ(spec->params.at("rounds"), "200");
  ASSERT_EQ(spec->triggers.size(), 4u);
  EXPECT_EQ(spec->triggers[0].kind, Trigger::Kind::kSchedule);
  EXPECT_TRUE(spec->triggers[0].schedule.has_value());
  EXPECT_EQ(spec->triggers[1].value, "transactions");
  EXPECT_EQ(spec->triggers[2].kind, Trigger::Kind::kAlert);
  EXPECT_EQ(spec->triggers[3].kind, Trigger::Kind::kManual);
  ASSERT_EQ(spec->steps.size(), 6u);
  const StepSpec& train = *spec->step("train");
  EXPECT_FALSE(train.uses.has_value());
  EXPECT_EQ(train.retries, 2);
  EXPECT_EQ(train.timeout.count(), 1800);
  EXPECT_EQ(train.env.at("OMP_NUM_THREADS"), "2");
  EXPECT_EQ(train.inputs.at("valid").ToString(), "steps.split.validation");
  EXPECT_EQ(*spec->step("training_set")->uses, BuiltinStep::kTrainingSet);
  EXPECT_EQ(spec->step("training_set")->inputs.at("entities").ToString(), "labels");
  // A built-in step without `outputs:` declares all of its outputs.
  EXPECT_EQ(spec->step("training_set")->outputs, std::vector<std::string>{"data"});
  EXPECT_EQ(spec->step("compare")->inputs.at("reference").ToString(), "transactions@3");
  EXPECT_EQ(spec->step("compare")->deps, std::vector<std::string>{"lib/metrics.py"});
  EXPECT_EQ(*SubstituteParams(train.run, spec->params), "python3 train.py --rounds 200 --eta 0.1");
}

TEST(PipelineSpecTest, LevelsPutEveryStepAfterWhatItReads) {
  absl::StatusOr<PipelineSpec> spec = ParsePipelineSpec(kSpec, "fraud.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const auto levels = StepLevels(*spec);
  std::vector<std::vector<std::string>> ids;
  for (const auto& level : levels) {
    ids.emplace_back();
    for (const StepSpec* step : level) ids.back().push_back(step->id);
  }
  const std::vector<std::vector<std::string>> expected = {
      {"training_set"}, {"split"}, {"train", "baseline"}, {"evaluate", "compare"}};
  EXPECT_EQ(ids, expected);
}

TEST(PipelineSpecTest, BadSpecsAreRefusedNamingTheStep) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {i: steps.b.out}}\n  - {id: b, run: y, "
       "inputs: {i: steps.a.out}, outputs: [out]}\n",
       "input i reads output \"out\" of step a, which declares no such output"},
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {i: steps.b.out}, outputs: [out]}\n  - {id: "
       "b, run: y, inputs: {i: steps.a.out}, outputs: [out]}\n",
       "the steps read each other in a cycle: a -> b -> a"},
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {i: steps.a.out}, outputs: [out]}\n",
       "cycle: a -> a"},
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {i: steps.ghost.out}}\n",
       "step a: input i reads step \"ghost\", which does not exist"},
      {"name: p\nsteps:\n  - {id: a, run: x}\n  - {id: a, run: y}\n",
       "step a: another step has this id"},
      {"name: p\nsteps:\n  - {id: a, run: x, uses: split}\n", "step a: give exactly one of uses"},
      {"name: p\nsteps:\n  - {id: a}\n", "step a: give exactly one of uses"},
      {"name: p\nsteps:\n  - {id: a, uses: train-lightgbm}\n",
       "unknown built-in step \"train-lightgbm\""},
      {"name: p\nsteps:\n  - {id: a, run: \"x ${params.nope}\"}\n",
       "${params.nope} names no declared param"},
      {"name: p\nsteps:\n  - {id: a, run: \"x ${inputs.data}\"}\n", "only ${params.NAME}"},
      {"name: p\nsteps:\n  - {id: a, run: x, retries: 11}\n", "retries: expected 0..10"},
      {"name: p\nsteps:\n  - {id: a, run: x, timeout: soon}\n", "timeout: expected a duration"},
      {"name: p\nsteps:\n  - {id: a, run: x, env: {1X: y}}\n", "\"1X\" is not a variable name"},
      {"name: p\nsteps:\n  - {id: a, uses: split, inputs: {rows: d}}\n",
       "step a: inputs: split reads no input \"rows\" (its inputs: data)"},
      {"name: p\nsteps:\n  - {id: a, uses: split}\n", "split needs the input \"data\""},
      {"name: p\nsteps:\n  - {id: a, uses: train-xgboost, inputs: {train: d}}\n",
       "train-xgboost needs the param \"label\""},
      {"name: p\nsteps:\n  - {id: a, uses: train-xgboost, inputs: {train: d}, params: {label: "
       "y, roundz: 3}}\n",
       "train-xgboost takes no param \"roundz\""},
      {"name: p\nsteps:\n  - {id: a, uses: split, inputs: {data: d}, outputs: [holdout]}\n",
       "split makes no output \"holdout\" (its outputs: train, validation, test)"},
      {"name: p\nsteps:\n  - {id: a, uses: split, inputs: {data: d}, deps: [x.py]}\n",
       "deps: only command steps"},
      {"name: p\nsteps:\n  - {id: a, run: x, deps: [../x.py]}\n",
       "must be a relative path inside"},
      {"name: p\nsteps:\n  - {id: a, run: x, outputs: [m, m]}\n", "output \"m\" is declared twice"},
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {d: \"bad name!\"}}\n", "inputs.d"},
      {"name: p\nsteps:\n  - {id: a, run: x, inputs: {d: steps.a}}\n", "steps.STEP.OUTPUT"},
      {"name: p\ntriggers:\n  - schedule: \"61 * * * *\"\nsteps:\n  - {id: a, run: x}\n",
       "minute: 61"},
      {"name: p\ntriggers:\n  - {dataset: d, alert: a}\nsteps:\n  - {id: a, run: x}\n",
       "each trigger is one of"},
      {"name: p\nsteps: []\n", "a pipeline needs a list of steps"},
      {"steps:\n  - {id: a, run: x}\n", "a pipeline needs a name"},
      {"name: p\nstep:\n  - {id: a, run: x}\n", "unknown key \"step\""},
      {"name: p\nsteps:\n  - {id: a, run: x, retry: 2}\n", "unknown key \"retry\""},
      {"name: \"bad name\"\nsteps:\n  - {id: a, run: x}\n", "pipeline name"},
      {"name: p\nsteps: [\n", "not valid YAML"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PipelineSpec> spec = ParsePipelineSpec(c.yaml, "p.yaml");
    ASSERT_FALSE(spec.ok()) << c.yaml;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(c.message), std::string::npos)
        << c.yaml << "\n -> " << spec.status().message();
    EXPECT_TRUE(std::string(spec.status().message()).starts_with("p.yaml"))
        << spec.status().message();
  }
}

TEST(PipelineSpecTest, ErrorsCarryTheLine) {
  absl::StatusOr<PipelineSpec> spec =
      ParsePipelineSpec("name: p\nsteps:\n  - id: a\n    run: x\n    retries: lots\n", "p.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(std::string(spec.status().message()).starts_with("p.yaml:5: step a: retries"))
      << spec.status();
}

}  // namespace
}  // namespace ferry::pipeline
