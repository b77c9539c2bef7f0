// The register step: a model file as a version with its run, metrics, reference and
// tags; skipped when not blessed or reproducing.

#include "pipeline/model_step_fixture.h"

namespace ferry::pipeline {
namespace {

class RegisterStepTest : public ModelStepFixture {
 protected:
  StepRun Register(std::map<std::string, StepValue> inputs, const std::string& params,
                   bool reproducing = false) {
    std::string refs = "model: m";
    if (inputs.contains("evaluation")) refs += ", evaluation: e";
    if (inputs.contains("reference")) refs += ", reference: r";
    return RunStep(
        RunRegisterStep,
        "{id: register, uses: register, inputs: {" + refs + "}, params: {" + params + "}}",
        std::move(inputs), reproducing);
  }
};

TEST_F(RegisterStepTest, RegistersTheModelWithItsRunMetricsReferenceAndTags) {
  const StepValue model = FileValue(TrainModel("good", true), "model.json");
  const StepValue reference = AddDataset("train", RowsCsv(MakeRows(50, 3)));
  StepRun run =
      Register({{"model", model}, {"evaluation", EvaluationValue(true)}, {"reference", reference}},
               "name: fraud, description: nightly");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "registered fraud@1");
  ASSERT_EQ(run.outputs.count("model_version"), 1u);
  const StepValue& out = run.outputs["model_version"];
  EXPECT_EQ(out.kind, ValueKind::kModel);
  EXPECT_EQ(out.ref, "fraud@1");
  EXPECT_EQ(out.sha256, model.sha256);

  auto version = models_->Resolve(registry::ParseModelRef("fraud@1").value());
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->run_id, model.run_id);  // the run that made the file
  EXPECT_EQ(version->description, "nightly");
  EXPECT_EQ(version->metrics, (std::map<std::string, double>{{"auc", 0.9}}));
  EXPECT_EQ(version->reference_dataset, "train@1");
  EXPECT_EQ(version->created_by, "ada");
  EXPECT_EQ(version->tags.at("ferry.pipeline"), "p");
  EXPECT_EQ(version->tags.at("ferry.step_run"), run.run_id);
  EXPECT_EQ(version->feature_names, (std::vector<std::string>{"x1", "x2"}));
}

TEST_F(RegisterStepTest, AFeatureServiceParamMustSupplyTheModelsInputs) {
  StepRun run = Register({{"model", FileValue(TrainModel("good", true), "model.json")}},
                         "name: fraud, feature_service: nosuch");
  ASSERT_FALSE(run.outcome.ok());
  EXPECT_TRUE(std::string(run.outcome.status().message()).starts_with("step register: "))
      << run.outcome.status();
  EXPECT_NE(run.outcome.status().message().find("nosuch"), std::string::npos);
  EXPECT_FALSE(models_->GetModel("fraud").ok());
}

TEST_F(RegisterStepTest, NotBlessedIsSkippedWithoutRegistering) {
  StepRun run = Register({{"model", FileValue(TrainModel("good", true), "model.json")},
                          {"evaluation", EvaluationValue(false)}},
                         "name: fraud");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "not blessed: auc 0.9 below min_auc 0.95");
  EXPECT_TRUE(run.outputs.empty());
  EXPECT_FALSE(models_->GetModel("fraud").ok());
}

TEST_F(RegisterStepTest, ReproducingIsSkipped) {
  StepRun run = Register({{"model", FileValue(TrainModel("good", true), "model.json")}},
                         "name: fraud", /*reproducing=*/true);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "not registered again while reproducing");
  EXPECT_FALSE(models_->GetModel("fraud").ok());
}

TEST_F(RegisterStepTest, ErrorsNameTheStep) {
  const StepValue model = FileValue(TrainModel("good", true), "model.json");
  const StepValue not_json = FileValue(temp_ / "good.json", "evaluation.json");  // a model
  const struct {
    std::map<std::string, StepValue> inputs;
    std::string params;
    std::string expected;
  } cases[] = {
      {{{"model", model}}, "name: \"bad name\"", "bad name"},
      {{{"model", model}, {"evaluation", not_json}}, "name: fraud", "not an evaluation file"},
  };
  for (const auto& c : cases) {
    StepRun run = Register(c.inputs, c.params);
    ASSERT_FALSE(run.outcome.ok()) << c.params;
    const std::string message(run.outcome.status().message());
    EXPECT_TRUE(message.starts_with("step register: ")) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace ferry::pipeline
