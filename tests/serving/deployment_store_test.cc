#include "serving/deployment_store.h"

#include <gtest/gtest.h>

#include "registry/registry_fixture.h"

namespace ferry::serving {
namespace {

using registry::ParseModelRef;

class DeploymentStoreTest : public registry::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    ASSERT_TRUE(Register("fraud-model").ok());
    ASSERT_TRUE(Register("fraud-model").ok());
    ASSERT_TRUE(models_->SetAlias(*ParseModelRef("fraud-model@1"), "production", "ada", "").ok());
    deployments_ = std::move(DeploymentStore::Open(*workspace_)).value();
  }

  absl::StatusOr<Deployment> Deploy(const std::string& endpoint, const std::string& ref,
                                    MissingFeaturePolicy policy = MissingFeaturePolicy::kError) {
    absl::StatusOr<registry::ModelRef> parsed = ParseModelRef(ref);
    if (!parsed.ok()) return parsed.status();
    return deployments_->Put({endpoint, *parsed, policy, "ada", {}});
  }

  // The resolved version of `endpoint` per Resolve(); -1 when absent, 0 when unresolved.
  int64_t ResolvedVersion(const std::string& endpoint) {
    auto all = deployments_->Resolve();
    EXPECT_TRUE(all.ok()) << all.status();
    for (const ResolvedDeployment& r : *all) {
      if (r.deployment.endpoint == endpoint) return r.version.value_or(0);
    }
    return -1;
  }

  std::unique_ptr<DeploymentStore> deployments_;
};

TEST_F(DeploymentStoreTest, PutGetListDelete) {
  auto fraud = Deploy("fraud", "fraud-model@production");
  ASSERT_TRUE(fraud.ok()) << fraud.status();
  EXPECT_EQ(fraud->model.alias, "production");
  EXPECT_EQ(fraud->generation, 1);
  EXPECT_EQ(fraud->updated_by, "ada");
  ASSERT_TRUE(Deploy("audit", "fraud-model@2", MissingFeaturePolicy::kMissing).ok());

  auto got = deployments_->Get("audit");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->model.ToString(), "fraud-model@2");
  EXPECT_EQ(got->missing_features, MissingFeaturePolicy::kMissing);
  auto list = deployments_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].endpoint, "audit");
  EXPECT_EQ((*list)[1].endpoint, "fraud");

  auto resolved = deployments_->Resolve();
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_EQ(resolved->size(), 2u);
  EXPECT_EQ((*resolved)[0].version, 2);
  EXPECT_EQ((*resolved)[1].version, 1);
  EXPECT_EQ((*resolved)[1].flavor, "xgboost");
  EXPECT_EQ((*resolved)[1].artifact_digest,
            models_->Resolve(*ParseModelRef("fraud-model@1"))->artifact_digest);

  ASSERT_TRUE(deployments_->Delete("audit").ok());
  EXPECT_EQ(deployments_->Get("audit").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(deployments_->Delete("audit").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(deployments_->List()->size(), 1u);
  EXPECT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud-model@2")).ok())
      << "deleting the endpoint released its hold";
}

TEST_F(DeploymentStoreTest, AnEndpointFollowsItsAliasWhenItMoves) {
  ASSERT_TRUE(Deploy("fraud", "fraud-model@production").ok());
  EXPECT_EQ(ResolvedVersion("fraud"), 1);
  ASSERT_TRUE(models_->SetAlias(*ParseModelRef("fraud-model@2"), "production", "bob", "").ok());
  EXPECT_EQ(ResolvedVersion("fraud"), 2);
  EXPECT_EQ(deployments_->Get("fraud")->generation, 1) << "the deployment itself did not change";
}

TEST_F(DeploymentStoreTest, DeletingWhatAnEndpointServesIsRefused) {
  ASSERT_TRUE(Deploy("pinned", "fraud-model@2").ok());
  ASSERT_TRUE(Deploy("fraud", "fraud-model@production").ok());
  absl::Status version = models_->DeleteVersion(*ParseModelRef("fraud-model@2"));
  EXPECT_EQ(version.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(version.message(),
            "fraud-model@2 is deployed on endpoint pinned; run `ferry deploy delete pinned` or"
            " deploy another version first");
  auto alias = models_->DeleteAlias("fraud-model", "production", "bob", "");
  EXPECT_EQ(alias.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(alias.status().message().find("endpoint fraud"), std::string::npos) << alias.status();

  // Pointing the endpoints elsewhere moves their holds.
  ASSERT_TRUE(Deploy("pinned", "fraud-model@1").ok());
  ASSERT_TRUE(Deploy("fraud", "fraud-model@1").ok());
  EXPECT_TRUE(models_->DeleteAlias("fraud-model", "production", "bob", "").ok());
  EXPECT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud-model@2")).ok());
  EXPECT_EQ(models_->DeleteVersion(*ParseModelRef("fraud-model@1")).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DeploymentStoreTest, PuttingTheSameDeploymentTwiceChangesNothing) {
  auto first = Deploy("fraud", "fraud-model@production");
  ASSERT_TRUE(first.ok());
  clock_->Advance(std::chrono::seconds(5));
  auto again = Deploy("fraud", "fraud-model@production");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->generation, 1);
  EXPECT_EQ(again->updated_at, first->updated_at);

  auto policy = Deploy("fraud", "fraud-model@production", MissingFeaturePolicy::kMissing);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->generation, 2);
  EXPECT_EQ(policy->created_at, first->created_at);
  EXPECT_GT(policy->updated_at, first->updated_at);
  auto moved = Deploy("fraud", "fraud-model@2", MissingFeaturePolicy::kMissing);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->generation, 3);
  EXPECT_EQ(deployments_->Get("fraud")->generation, 3);
}

TEST_F(DeploymentStoreTest, BadEndpointNamesAreRefused) {
  struct Case {
    std::string name;
    std::string message_part;
  };
  const Case cases[] = {
      {"", "1 to 128 characters"},
      {std::string(129, 'a'), "1 to 128 characters"},
      {"-fraud", "must start with a letter or digit"},
      {"fraud/v2", "must start with a letter or digit"},
      {"list", "is reserved"},
      {"status", "is reserved"},
      {"delete", "is reserved"},
  };
  for (const Case& c : cases) {
    absl::Status status = ValidateEndpointName(c.name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(status.message().find(c.message_part), std::string::npos) << status;
    EXPECT_EQ(Deploy(c.name, "fraud-model@1").status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateEndpointName("fraud.v2_eu-1").ok());
  EXPECT_TRUE(ValidateEndpointName("listing").ok());
  EXPECT_TRUE(deployments_->List()->empty());
}

TEST_F(DeploymentStoreTest, ABareModelNameIsRefused) {
  auto bare = Deploy("fraud", "fraud-model");
  EXPECT_EQ(bare.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bare.status().message().find("fraud-model@production"), std::string::npos)
      << bare.status();
  EXPECT_EQ(deployments_->Get("fraud").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DeploymentStoreTest, UnknownModelVersionOrAliasIsNotFound) {
  struct Case {
    std::string ref;
    std::string message_part;
  };
  const Case cases[] = {
      {"nosuch@1", "no model named \"nosuch\""},
      {"fraud-model@9", "has no version 9"},
      {"fraud-model@canary", "has no alias \"canary\""},
  };
  for (const Case& c : cases) {
    auto put = Deploy("fraud", c.ref);
    EXPECT_EQ(put.status().code(), absl::StatusCode::kNotFound) << c.ref;
    EXPECT_NE(put.status().message().find(c.message_part), std::string::npos) << put.status();
  }
  EXPECT_TRUE(deployments_->List()->empty());
}

TEST_F(DeploymentStoreTest, AFailedPutLeavesTheDeploymentAndItsHoldAsTheyWere) {
  ASSERT_TRUE(Deploy("fraud", "fraud-model@2").ok());
  EXPECT_EQ(Deploy("fraud", "fraud-model@9").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Deploy("fraud", "fraud-model@canary", MissingFeaturePolicy::kMissing).status().code(),
            absl::StatusCode::kNotFound);
  auto got = deployments_->Get("fraud");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->model.ToString(), "fraud-model@2");
  EXPECT_EQ(got->missing_features, MissingFeaturePolicy::kError);
  EXPECT_EQ(got->generation, 1);
  EXPECT_EQ(models_->DeleteVersion(*ParseModelRef("fraud-model@2")).code(),
            absl::StatusCode::kFailedPrecondition)
      << "the hold survived the failed move";
}

TEST_F(DeploymentStoreTest, AReferenceEditedAwayByHandResolvesToNothing) {
  ASSERT_TRUE(Deploy("fraud", "fraud-model@production").ok());
  ASSERT_TRUE(workspace_->metadata()
                  .Write([](store::Transaction& tx) {
                    return tx.Execute("DELETE FROM model_holds").status();
                  })
                  .ok());
  ASSERT_TRUE(models_->DeleteAlias("fraud-model", "production", "ada", "").ok());
  auto resolved = deployments_->Resolve();
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ((*resolved)[0].version, std::nullopt);
  EXPECT_EQ((*resolved)[0].artifact_digest, "");
}

TEST(MissingFeaturePolicyTest, NamesRoundTrip) {
  for (MissingFeaturePolicy p : {MissingFeaturePolicy::kError, MissingFeaturePolicy::kMissing}) {
    EXPECT_EQ(ParseMissingFeaturePolicy(MissingFeaturePolicyName(p)).value(), p);
  }
  EXPECT_EQ(ParseMissingFeaturePolicy("nan").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::serving
