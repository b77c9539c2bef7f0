#include "registry/model_holds.h"

#include <gtest/gtest.h>

#include "core/status.h"
#include "registry_fixture.h"

namespace ferry::registry {
namespace {

using ModelHoldsTest = RegistryFixture;

const ModelHolder kEndpoint{"endpoint fraud", "deployed on",
                            "run `ferry deploy delete fraud` or deploy another version first"};

TEST_F(ModelHoldsTest, AHeldVersionIsNotDeletedAndTheRefusalSaysWhoHoldsIt) {
  ASSERT_TRUE(Register("fraud-model").ok());
  ASSERT_TRUE(Register("fraud-model").ok());
  ASSERT_TRUE(workspace_->metadata()
                  .Write([](store::Transaction& tx) {
                    return AddHold(tx, kEndpoint, *ParseModelRef("fraud-model@2"), 1);
                  })
                  .ok());
  absl::Status refused = models_->DeleteVersion(*ParseModelRef("fraud-model@2"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "fraud-model@2 is deployed on endpoint fraud; run `ferry deploy delete fraud` or"
            " deploy another version first");
  EXPECT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud-model@1")).ok())
      << "only the held version is kept";

  int64_t removed = 0;
  ASSERT_TRUE(workspace_->metadata()
                  .Write([&](store::Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(removed, RemoveHolds(tx, "endpoint fraud"));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(removed, 1);
  EXPECT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud-model@2")).ok());
}

TEST_F(ModelHoldsTest, AHeldAliasMovesButIsNotDeleted) {
  ASSERT_TRUE(Register("fraud-model").ok());
  ASSERT_TRUE(Register("fraud-model").ok());
  ASSERT_TRUE(models_->SetAlias(*ParseModelRef("fraud-model@1"), "production", "ada", "").ok());
  for (int i = 0; i < 2; ++i) {  // holding twice is one hold
    ASSERT_TRUE(workspace_->metadata()
                    .Write([](store::Transaction& tx) {
                      return AddHold(tx, kEndpoint, *ParseModelRef("fraud-model@production"), 1);
                    })
                    .ok());
  }
  auto moved = models_->SetAlias(*ParseModelRef("fraud-model@2"), "production", "ada", "");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud-model@1")).ok())
      << "the alias holds its target, the hold holds the alias";
  auto refused = models_->DeleteAlias("fraud-model", "production", "ada", "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "fraud-model@production is deployed on endpoint fraud; run `ferry deploy delete"
            " fraud` or deploy another version first");
  EXPECT_EQ(models_->Resolve(*ParseModelRef("fraud-model@production"))->version, 2);

  ASSERT_TRUE(
      workspace_->metadata()
          .Write([](store::Transaction& tx) { return RemoveHolds(tx, "endpoint fraud").status(); })
          .ok());
  EXPECT_TRUE(models_->DeleteAlias("fraud-model", "production", "ada", "").ok());
}

TEST_F(ModelHoldsTest, EveryHolderIsNamed) {
  ASSERT_TRUE(Register("fraud-model").ok());
  const ModelHolder other{"endpoint shadow", "deployed on", "run `ferry deploy delete shadow`"};
  ASSERT_TRUE(workspace_->metadata()
                  .Write([&](store::Transaction& tx) -> absl::Status {
                    RETURN_IF_ERROR(AddHold(tx, kEndpoint, *ParseModelRef("fraud-model@1"), 1));
                    return AddHold(tx, other, *ParseModelRef("fraud-model@1"), 1);
                  })
                  .ok());
  absl::Status refused = models_->DeleteVersion(*ParseModelRef("fraud-model@1"));
  EXPECT_NE(refused.message().find("endpoint fraud"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("it is also deployed on endpoint shadow"), std::string::npos)
      << refused;
}

TEST_F(ModelHoldsTest, HoldingWhatDoesNotExistIsRefused) {
  ASSERT_TRUE(Register("fraud-model").ok());
  struct Case {
    std::string ref;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"fraud-model@9", absl::StatusCode::kNotFound},
      {"fraud-model@canary", absl::StatusCode::kNotFound},
      {"nosuch@1", absl::StatusCode::kNotFound},
      {"fraud-model", absl::StatusCode::kInvalidArgument},  // the latest is not a hold
  };
  for (const Case& c : cases) {
    absl::Status status = workspace_->metadata().Write(
        [&](store::Transaction& tx) { return AddHold(tx, kEndpoint, *ParseModelRef(c.ref), 1); });
    EXPECT_EQ(status.code(), c.code) << c.ref << ": " << status;
  }
}

}  // namespace
}  // namespace ferry::registry
