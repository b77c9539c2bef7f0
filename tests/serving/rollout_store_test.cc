// RolloutStore: starting (and the refusals), manual promote and instant rollback for an
// endpoint that follows an alias and one pinned to a version, and the event history.

#include "serving/rollout_store.h"

#include <gtest/gtest.h>

#include "core/strings.h"
#include "rollout_fixture.h"

namespace ferry::serving {
namespace {

std::string MessageOf(const absl::Status& status) {
  return std::string(core::View(status.message()));
}

using RolloutStoreTest = RolloutFixture;

TEST_F(RolloutStoreTest, StartRecordsTheRolloutAliasHoldAndEvent) {
  auto rollout = Start("fraud", "fraud-model@2");
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->id, 1);
  EXPECT_EQ(rollout->stable_version, 1);
  EXPECT_EQ(rollout->candidate_version, 2);
  EXPECT_EQ(rollout->state.phase, RolloutPhase::kProgressing);
  EXPECT_EQ(rollout->state.step_started_at, clock_->NowMicros());
  EXPECT_EQ(AliasVersion("canary"), 2);
  // Even with its alias removed by hand, the candidate is held.
  ASSERT_TRUE(models_->DeleteAlias("fraud-model", "canary", "bob", "").ok());
  absl::Status held = models_->DeleteVersion(Ref("fraud-model@2"));
  EXPECT_NE(MessageOf(held).find("the candidate of rollout on endpoint fraud; run `ferry deploy"
                                 " promote fraud` or `ferry deploy rollback fraud` first"),
            std::string::npos)
      << held;

  auto active = rollouts_->Active();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].policy, RolloutPolicy{});
  auto events = rollouts_->Events("fraud", 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "started");
  EXPECT_EQ((*events)[0].reason, "canary fraud-model@2 at 5% against fraud-model@1");
  EXPECT_EQ((*events)[0].figures["policy"]["interval"], "1m");
  EXPECT_EQ((*events)[0].actor, "ada");
}

struct RefusalCase {
  std::string endpoint;
  std::string candidate;
  absl::StatusCode code;
  std::string message;
};

class RolloutRefusalTest : public RolloutFixture,
                           public ::testing::WithParamInterface<RefusalCase> {};

TEST_P(RolloutRefusalTest, StartIsRefusedWithAClearMessage) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  auto refused = Start(GetParam().endpoint, GetParam().candidate);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), GetParam().code) << refused.status();
  EXPECT_EQ(MessageOf(refused.status()), GetParam().message);
  EXPECT_EQ(rollouts_->Active()->size(), 1u) << "nothing of a refused start is kept";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RolloutRefusalTest,
    ::testing::Values(
        RefusalCase{"nowhere", "fraud-model@3", absl::StatusCode::kNotFound,
                    "no endpoint named \"nowhere\"; deploy it first (`ferry deploy nowhere"
                    " --model NAME@production`)"},
        RefusalCase{"pinned", "other-model@1", absl::StatusCode::kFailedPrecondition,
                    "endpoint pinned serves model fraud-model; other-model@1 is a version of"
                    " another model"},
        RefusalCase{"pinned", "fraud-model@1", absl::StatusCode::kFailedPrecondition,
                    "fraud-model@1 is what endpoint pinned serves now; a rollout needs another"
                    " version"},
        RefusalCase{"fraud", "fraud-model@3", absl::StatusCode::kFailedPrecondition,
                    "endpoint fraud already has a canary rollout of fraud-model@2"
                    " (progressing); promote it, roll it back or wait for it to finish first"},
        RefusalCase{"pinned", "fraud-model@3", absl::StatusCode::kFailedPrecondition,
                    "fraud-model@canary belongs to the rollout on endpoint fraud; a model has"
                    " one canary rollout at a time"},
        RefusalCase{"pinned", "fraud-model@9", absl::StatusCode::kFailedPrecondition,
                    "fraud-model@canary belongs to the rollout on endpoint fraud; a model has"
                    " one canary rollout at a time"},
        RefusalCase{"pinned", "fraud-model@production", absl::StatusCode::kInvalidArgument,
                    "a rollout's candidate is a version, NAME@V (e.g. fraud-model@2), not"
                    " \"fraud-model@production\""}),
    [](const auto& info) { return std::to_string(info.index); });

TEST(RolloutVerbsTest, AreNotEndpointNames) {
  for (const char* verb : {"promote", "rollback", "pause", "resume"}) {
    absl::Status refused = ValidateEndpointName(verb);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << verb;
    EXPECT_NE(MessageOf(refused).find("is reserved"), std::string::npos) << refused;
  }
}

TEST_F(RolloutStoreTest, AMissingCandidateVersionIsNotFound) {
  auto refused = Start("fraud", "fraud-model@9");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();
  EXPECT_EQ(AliasVersion("canary"), 0);
}

TEST_F(RolloutStoreTest, ABadPolicyIsRefused) {
  RolloutPolicy policy;
  policy.steps = {50, 20, 100};
  auto refused = Start("fraud", "fraud-model@2", RolloutKind::kCanary, policy);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RolloutStoreTest, ManualPromoteThenInstantRollbackOfAnAliasFollowingEndpoint) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  auto promoted = rollouts_->Promote("fraud", "bob", "looks good");
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ(promoted->type, "manual_promote");
  EXPECT_EQ(promoted->phase, RolloutPhase::kPromoted);
  EXPECT_EQ(promoted->actor, "bob");
  EXPECT_EQ(AliasVersion("production"), 2);
  EXPECT_EQ(AliasVersion("canary"), 0);
  EXPECT_EQ(rollouts_->Get("fraud")->previous_version, 1);
  EXPECT_EQ(rollouts_->Promote("fraud", "bob").status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto rolled_back = rollouts_->Rollback("fraud", "bob");
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.status();
  EXPECT_EQ(rolled_back->type, "manual_rollback");
  EXPECT_EQ(rolled_back->reason, "instant rollback to fraud-model@1");
  EXPECT_EQ(AliasVersion("production"), 1);
  absl::Status again = rollouts_->Rollback("fraud", "bob").status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MessageOf(again),
            "cannot roll back the canary rollout of fraud-model@2 on endpoint fraud: it is"
            " rolled_back (roll back applies to a progressing, paused or promoted rollout)");

  auto events = rollouts_->Events("fraud", 10);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> types;
  for (const RolloutEvent& e : *events) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"started", "manual_promote", "manual_rollback"}));
  EXPECT_EQ(rollouts_->Events("fraud", 1)->front().type, "manual_rollback");
  EXPECT_TRUE(Start("fraud", "fraud-model@3").ok()) << "a finished rollout frees the endpoint";
}

TEST_F(RolloutStoreTest, InstantRollbackRefusesWhenProductionMovedSince) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  ASSERT_TRUE(rollouts_->Promote("fraud", "bob").ok());
  ASSERT_TRUE(models_->SetAlias(Ref("fraud-model@3"), "production", "carol", "").ok());
  absl::Status refused = rollouts_->Rollback("fraud", "bob").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_EQ(AliasVersion("production"), 3);
}

TEST_F(RolloutStoreTest, APinnedEndpointIsRepointedOnPromotionAndBackOnRollback) {
  ASSERT_TRUE(Start("pinned", "fraud-model@3").ok());
  ASSERT_TRUE(rollouts_->Promote("pinned", "bob").ok());
  EXPECT_EQ(deployments_->Get("pinned")->model.ToString(), "fraud-model@3");
  EXPECT_EQ(deployments_->Get("pinned")->updated_by, "bob");
  EXPECT_EQ(AliasVersion("production"), 1) << "the alias is not the pinned endpoint's";
  ASSERT_TRUE(rollouts_->Rollback("pinned", "bob").ok());
  EXPECT_EQ(deployments_->Get("pinned")->model.ToString(), "fraud-model@1");
}

TEST_F(RolloutStoreTest, ManualRollbackOfAnActiveRolloutLeavesProductionAlone) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  auto event = rollouts_->Rollback("fraud", "bob");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->reason, "rolled back by hand at 5%");
  EXPECT_EQ(event->weight, 0);
  EXPECT_EQ(AliasVersion("production"), 1);
  EXPECT_EQ(AliasVersion("canary"), 0);
}

TEST_F(RolloutStoreTest, ACanaryAliasAnEndpointFollowsIsLeftInPlace) {
  ASSERT_TRUE(deployments_->Put({"fraud-canary", Ref("fraud-model@production"),
                                 MissingFeaturePolicy::kError, "ada", {}})
                  .ok());
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  ASSERT_TRUE(deployments_->Put({"fraud-canary", Ref("fraud-model@canary"),
                                 MissingFeaturePolicy::kError, "ada", {}})
                  .ok());
  ASSERT_TRUE(rollouts_->Rollback("fraud", "bob").ok())
      << "an alias held by an endpoint does not block the rollback";
  EXPECT_EQ(AliasVersion("canary"), 2);
}

TEST_F(RolloutStoreTest, EventsAndRolloutsHaveTheirJson) {
  ASSERT_TRUE(Start("fraud", "fraud-model@2").ok());
  const nlohmann::json rollout = RolloutToJson(*rollouts_->Get("fraud"));
  EXPECT_EQ(rollout["kind"], "canary");
  EXPECT_EQ(rollout["model"], "fraud-model@2");
  EXPECT_EQ(rollout["step"], 1);
  EXPECT_EQ(rollout["steps"], 5);
  EXPECT_EQ(rollout["phase"], "progressing");
  EXPECT_TRUE(rollout["previous_version"].is_null());
  const nlohmann::json event = RolloutEventToJson(rollouts_->Events("fraud", 1)->front());
  EXPECT_EQ(event["type"], "started");
  EXPECT_EQ(event["at"], "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(rollouts_->Get("pinned").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry::serving
