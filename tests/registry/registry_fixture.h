#pragma once

// A workspace with every store the registry needs, a source dataset, feature
// definitions (entity customer, view customer_stats over customer_daily, service
// fraud = avg_amount float64, txn_count int64) and helpers to make runs and models.

#include <gtest/gtest.h>

#include "core/file.h"
#include "features/feature_registry.h"
#include "registry/model_registry.h"
#include "testing/customer_features.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"
#include "tracking/tracking_store.h"
#include "testing/postgres_server.h"

namespace ferry::registry {

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", clock_)).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    features_ = std::move(features::FeatureRegistry::Open(*workspace_, *datasets_)).value();
    tracking_ = std::move(tracking::TrackingStore::Open(*workspace_, *datasets_)).value();
    models_ = std::move(ModelRegistry::Open(*workspace_, *datasets_, *features_, *tracking_)).value();
    AddDataset("customer_daily", testing::kCustomerDailyCsv);
    auto defs = features::ParseFeatureDefinitions(testing::kCustomerFeatureDefinitions, "f.yaml");
    ASSERT_TRUE(defs.ok()) << defs.status();
    ASSERT_TRUE(features_->Apply(*defs, {}).ok());
    testing::WriteXGBoostModel(temp_ / "model.json", 2, {"avg_amount", "txn_count"});
  }

  void AddDataset(const std::string& name, const std::string& csv) {
    ASSERT_TRUE(core::WriteFileAtomically(temp_ / "data.csv", csv).ok());
    auto added = datasets_->Add(name, temp_ / "data.csv", {});
    ASSERT_TRUE(added.ok()) << added.status();
  }

  std::string NewRun(const std::string& train) {
    tracking::CreateRunOptions options;
    options.experiment = "fraud";
    options.initial.metrics = {{"auc", 0.91, 0, 0}};
    options.initial.params = {{"max_depth", "2"}};
    if (!train.empty()) options.initial.inputs = {{train, tracking::InputRole::kTrain}};
    auto run = tracking_->CreateRun(options);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->run_id : "";
  }

  absl::StatusOr<ModelVersion> Register(const std::string& name, RegisterOptions options = {}) {
    options.actor = "ada";
    return models_->Register(name, temp_ / "model.json", options);
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_ =
      std::make_shared<core::ManualClock>(1'767'225'600'000'000);
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<features::FeatureRegistry> features_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<ModelRegistry> models_;
};

}  // namespace ferry::registry
