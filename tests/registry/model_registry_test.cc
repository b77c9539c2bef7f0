#include "registry/model_registry.h"

#include <gtest/gtest.h>

#include <cmath>

#include "registry_fixture.h"

namespace ferry::registry {
namespace {

using ModelRegistryTest = RegistryFixture;

TEST_F(ModelRegistryTest, RegisterRecordsTheModelRunMetricsAndReference) {
  const std::string run = NewRun("customer_daily@1");
  RegisterOptions options;
  options.run_id = run;
  options.tags = {{"owner", "risk"}};
  options.metrics = {{"f1", std::nan("")}};
  options.signature = Signature{"fraud", {}, {{"score", table::ColumnType::kFloat64}}};
  auto v = Register("fraud", options);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->version, 1);
  EXPECT_EQ(v->num_features, 2);
  EXPECT_EQ(v->feature_names, (std::vector<std::string>{"avg_amount", "txn_count"}));
  EXPECT_EQ(v->signature.inputs,
            (std::vector<SignatureField>{{"avg_amount", table::ColumnType::kFloat64},
                                         {"txn_count", table::ColumnType::kInt64}}));
  EXPECT_EQ(v->metrics.at("auc"), 0.91);
  EXPECT_TRUE(std::isnan(v->metrics.at("f1")));
  EXPECT_EQ(v->reference_dataset, "customer_daily@1");
  EXPECT_EQ(v->reference_profile.size(), 64u);
  EXPECT_EQ(v->created_by, "ada");

  auto again = Register("fraud");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, 2);
  auto latest = models_->Resolve(*ParseModelRef("fraud"));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, 2);
  auto first = models_->Resolve(*ParseModelRef("fraud@1"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->tags.at("owner"), "risk");
  EXPECT_EQ(first->signature, v->signature);
  EXPECT_TRUE(std::isnan(first->metrics.at("f1")));
  // The artifact survives gc: its object root is listed.
  ASSERT_TRUE(datasets_->CollectGarbage().ok());
  EXPECT_TRUE(workspace_->objects().Verify(*core::Digest::FromHex(v->artifact_digest)).ok());
}

TEST_F(ModelRegistryTest, BadArtifactsSignaturesAndReferencesAreRefused) {
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "not_a_model.csv", "a,b\n1,2\n").ok());
  auto bad = models_->Register("fraud", temp_ / "not_a_model.csv", {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("not_a_model.csv: not a loadable XGBoost model"),
            std::string::npos)
      << bad.status();
  EXPECT_EQ(models_->Register("fraud", temp_ / "missing.json", {}).status().code(),
            absl::StatusCode::kNotFound);

  RegisterOptions flavor;
  flavor.flavor = "pickle";
  EXPECT_EQ(Register("fraud", flavor).status().code(), absl::StatusCode::kInvalidArgument);

  RegisterOptions unknown_run;
  unknown_run.run_id = "0123";
  EXPECT_EQ(Register("fraud", unknown_run).status().code(), absl::StatusCode::kNotFound);

  RegisterOptions unknown_service;
  unknown_service.signature = Signature{"nope", {}, {}};
  EXPECT_EQ(Register("fraud", unknown_service).status().code(), absl::StatusCode::kNotFound);

  RegisterOptions wrong_type;
  wrong_type.signature = Signature{"fraud",
                                   {{"avg_amount", table::ColumnType::kFloat64},
                                    {"txn_count", table::ColumnType::kString}},
                                   {}};
  auto typed = Register("fraud", wrong_type);
  EXPECT_EQ(typed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typed.status().message().find("\"txn_count\" is string but feature service"),
            std::string::npos)
      << typed.status();

  RegisterOptions wrong_count;
  wrong_count.signature = Signature{"", {{"avg_amount", table::ColumnType::kFloat64}}, {}};
  auto counted = Register("fraud", wrong_count);
  EXPECT_NE(counted.status().message().find("the model takes 2 features"), std::string::npos)
      << counted.status();

  RegisterOptions renamed;
  renamed.signature = Signature{"",
                                {{"txn_count", table::ColumnType::kInt64},
                                 {"avg_amount", table::ColumnType::kFloat64}},
                                {}};
  auto swapped = Register("fraud", renamed);
  EXPECT_NE(swapped.status().message().find("trained with \"avg_amount\" there"),
            std::string::npos)
      << swapped.status();

  RegisterOptions reference;
  reference.reference_dataset = "nope@1";
  EXPECT_EQ(Register("fraud", reference).status().code(), absl::StatusCode::kNotFound);
  // Nothing of the refused attempts was registered.
  EXPECT_EQ(models_->GetModel("fraud").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, AliasesMoveWithAHistoryAndHoldTheirVersion) {
  ASSERT_TRUE(Register("fraud").ok());
  ASSERT_TRUE(Register("fraud").ok());
  ASSERT_TRUE(models_->SetAlias(*ParseModelRef("fraud@1"), "production", "ada", "first").ok());
  clock_->Advance(std::chrono::seconds(1));
  auto moved = models_->SetAlias(*ParseModelRef("fraud@2"), "production", "bob", "better auc");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->previous, 1);
  EXPECT_EQ(models_->Resolve(*ParseModelRef("fraud@production"))->version, 2);
  EXPECT_TRUE(models_->SetAlias(*ParseModelRef("fraud@2"), "production", "bob", "again").ok());
  auto history = models_->AliasHistory("fraud", "production");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u) << "setting an alias where it points records nothing";
  EXPECT_EQ((*history)[1].actor, "bob");
  EXPECT_EQ((*history)[1].reason, "better auc");
  EXPECT_EQ((*history)[1].version, 2);

  absl::Status refused = models_->DeleteVersion(*ParseModelRef("fraud@2"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("alias production"), std::string::npos) << refused;
  ASSERT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud@1")).ok());
  EXPECT_EQ(models_->Resolve(*ParseModelRef("fraud@1")).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(models_->DeleteAlias("fraud", "production", "bob", "retire").ok());
  ASSERT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud@2")).ok());
  EXPECT_EQ(models_->AliasHistory("fraud", "")->back().version, std::nullopt);
  // Numbers are never reused.
  auto third = Register("fraud");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->version, 3);
  EXPECT_EQ(models_->DeleteAlias("fraud", "production", "bob", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(models_->SetAlias(*ParseModelRef("fraud@9"), "canary", "a", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, TagsOnVersionsAndModels) {
  ASSERT_TRUE(Register("fraud").ok());
  ASSERT_TRUE(models_->SetTag(*ParseModelRef("fraud@1"), "stage", "review").ok());
  ASSERT_TRUE(models_->SetTag(*ParseModelRef("fraud"), "team", "risk").ok());
  EXPECT_EQ(models_->Resolve(*ParseModelRef("fraud@1"))->tags.at("stage"), "review");
  EXPECT_EQ(models_->GetModel("fraud")->tags.at("team"), "risk");
  ASSERT_TRUE(models_->SetTag(*ParseModelRef("fraud@1"), "stage", std::nullopt).ok());
  EXPECT_EQ(models_->SetTag(*ParseModelRef("fraud@1"), "stage", std::nullopt).code(),
            absl::StatusCode::kNotFound);
  auto list = models_->ListModels();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].latest_version, 1);
}

}  // namespace
}  // namespace ferry::registry
