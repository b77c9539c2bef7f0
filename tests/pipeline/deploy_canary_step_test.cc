// The deploy-canary step: a canary rollout on an endpoint with a policy from a file and
// params; skipped when not blessed, reproducing or already served; store errors.

#include <nlohmann/json.hpp>

#include "pipeline/model_step_fixture.h"
#include "serving/rollout_store.h"

namespace ferry::pipeline {
namespace {

class DeployCanaryStepTest : public ModelStepFixture {
 protected:
  void SetUp() override {
    ModelStepFixture::SetUp();
    const registry::ModelVersion v1 = RegisterModel("fraud", TrainModel("weak", false));
    DeployProduction("fraud", v1);
    v2_ = RegisterModel("fraud", TrainModel("good", true));
  }

  StepRun Deploy(const StepValue& model_version, const std::string& params,
                 std::optional<StepValue> evaluation = std::nullopt, bool reproducing = false) {
    std::map<std::string, StepValue> inputs = {{"model_version", model_version}};
    std::string refs = "model_version: v";
    if (evaluation) {
      inputs["evaluation"] = *evaluation;
      refs += ", evaluation: e";
    }
    return RunStep(
        RunDeployCanaryStep,
        "{id: deploy, uses: deploy-canary, inputs: {" + refs + "}, params: {" + params + "}}",
        std::move(inputs), reproducing);
  }

  absl::StatusOr<serving::Rollout> Latest(const std::string& endpoint) {
    auto rollouts = serving::RolloutStore::Open(*workspace_);
    if (!rollouts.ok()) return rollouts.status();
    return (*rollouts)->Get(endpoint);
  }

  registry::ModelVersion v2_;
};

TEST_F(DeployCanaryStepTest, StartsACanaryRolloutOfTheVersion) {
  StepRun run = Deploy(ModelValue(v2_), "endpoint: fraud", EvaluationValue(true));
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_FALSE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "canary of fraud@2 on endpoint fraud started at 5%");
  auto rollout = Latest("fraud");
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->candidate_version, 2);
  EXPECT_EQ(rollout->stable_version, 1);
  EXPECT_EQ(rollout->kind, serving::RolloutKind::kCanary);
  EXPECT_EQ(rollout->created_by, "ada");

  ASSERT_EQ(run.outputs.count("rollout"), 1u);
  EXPECT_EQ(run.outputs["rollout"].ref, "outputs/rollout.json");
  auto bytes = workspace_->objects().GetBytes(
      core::Digest::FromHex(run.outputs["rollout"].sha256).value(), 1 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const nlohmann::json json = nlohmann::json::parse(*bytes);
  EXPECT_EQ(json, serving::RolloutToJson(*rollout));
}

TEST_F(DeployCanaryStepTest, ThePolicyFileAndPolicyParamsShapeTheRollout) {
  ASSERT_TRUE(
      core::WriteFileAtomically(temp_ / "canary.yaml", "steps: [10, 50, 100]\nmin_requests: 50\n")
          .ok());
  StepRun run = Deploy(ModelValue(v2_),
                       "endpoint: fraud, policy: canary.yaml, policy.steps: \"20,100\", "
                       "policy.interval: 2m");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_EQ(run.outcome->note, "canary of fraud@2 on endpoint fraud started at 20%");
  auto rollout = Latest("fraud");
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->policy.steps, (std::vector<int>{20, 100}));
  EXPECT_EQ(rollout->policy.min_requests, 50);
  EXPECT_EQ(rollout->policy.interval, std::chrono::seconds(120));
}

TEST_F(DeployCanaryStepTest, SkippedWhenNotBlessedReproducingOrAlreadyServed) {
  StepRun run = Deploy(ModelValue(v2_), "endpoint: fraud", EvaluationValue(false));
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_TRUE(run.outcome->note.starts_with("not blessed: ")) << run.outcome->note;
  EXPECT_TRUE(run.outputs.empty());

  run = Deploy(ModelValue(v2_), "endpoint: fraud", std::nullopt, /*reproducing=*/true);
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "not deployed while reproducing");
  EXPECT_FALSE(Latest("fraud").ok());  // no rollout was started

  auto v1 = models_->Resolve(registry::ParseModelRef("fraud@1").value());
  ASSERT_TRUE(v1.ok());
  run = Deploy(ModelValue(*v1), "endpoint: fraud");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note, "endpoint fraud already serves fraud@1");
  EXPECT_FALSE(Latest("fraud").ok());

  // No endpoint yet: the first version is deployed by a person.
  run = Deploy(ModelValue(v2_), "endpoint: nosuch");
  ASSERT_TRUE(run.outcome.ok()) << run.outcome.status();
  EXPECT_TRUE(run.outcome->skipped);
  EXPECT_EQ(run.outcome->note,
            "endpoint nosuch does not exist: deploy a first version with `ferry deploy nosuch "
            "--model fraud@2`");
}

TEST_F(DeployCanaryStepTest, StoreAndPolicyErrorsFailTheStep) {
  ASSERT_TRUE(Deploy(ModelValue(v2_), "endpoint: fraud").outcome.ok());
  const registry::ModelVersion v3 = RegisterModel("fraud", TrainModel("good3", true));
  const struct {
    std::string params;
    std::string expected;
  } cases[] = {
      {"endpoint: fraud", "already has a canary rollout of fraud@2"},
      {"endpoint: fraud, policy: ../canary.yaml", "inside the pipeline's folder"},
      {"endpoint: fraud, policy: /etc/hostname", "inside the pipeline's folder"},
      {"endpoint: fraud, policy: \"canary.yaml\\0x\"", "inside the pipeline's folder"},
      {"endpoint: fraud, policy: \"a\\\\..\\\\canary.yaml\"", "inside the pipeline's folder"},
      {"endpoint: fraud, policy: missing.yaml", "missing.yaml"},
      {"endpoint: fraud, policy.steps: \"50,10\"", "steps"},
      {"endpoint: fraud, policy.color: red", "param policy.color"},
  };
  for (const auto& c : cases) {
    StepRun run = Deploy(ModelValue(v3), c.params);
    ASSERT_FALSE(run.outcome.ok()) << c.params;
    const std::string message(run.outcome.status().message());
    EXPECT_TRUE(message.starts_with("step deploy: ")) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.params << ": " << message;
    EXPECT_TRUE(run.outputs.empty());
  }
  auto rollout = Latest("fraud");
  ASSERT_TRUE(rollout.ok());
  EXPECT_EQ(rollout->candidate_version, 2);
}

}  // namespace
}  // namespace ferry::pipeline
