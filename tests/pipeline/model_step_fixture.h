#pragma once

// ModelStepFixture: StepFixture with what the model steps (evaluate, register,
// deploy-canary) need -- labelled rows of a known pattern, small XGBoost models trained
// on them (a good one and a weak one), model files stored as a run's artifacts (step
// file values), registered versions and endpoints.

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "pipeline/step_fixture.h"
#include "serving/deployment_store.h"
#include "table/random.h"
#include "testing/xgboost_model.h"

namespace ferry::pipeline {

class ModelStepFixture : public StepFixture {
 protected:
  // Rows x1, x2 (uniform in [0, 1)) and label = x1 + x2 / 2 plus noise > 0.75.
  struct Rows {
    std::vector<float> features;  // row-major, 2 a row
    std::vector<float> labels;
  };
  static Rows MakeRows(int count, uint64_t seed) {
    table::SplitMix64 random(seed);
    Rows rows;
    for (int i = 0; i < count; ++i) {
      const auto x1 = static_cast<float>(random.NextOpenUnit());
      const auto x2 = static_cast<float>(random.NextOpenUnit());
      const double noise = (random.NextOpenUnit() - 0.5) * 0.4;
      rows.features.insert(rows.features.end(), {x1, x2});
      rows.labels.push_back(x1 + x2 / 2 + noise > 0.75 ? 1.0f : 0.0f);
    }
    return rows;
  }
  static std::string RowsCsv(const Rows& rows) {
    std::string csv = "x1,x2,label\n";
    for (size_t i = 0; i < rows.labels.size(); ++i) {
      csv += fmt::format("{},{},{}\n", rows.features[2 * i], rows.features[2 * i + 1],
                         static_cast<int>(rows.labels[i]));
    }
    return csv;
  }

  // A binary model on x1, x2: `good` learns the pattern; otherwise it learns labels
  // that are noise.
  std::filesystem::path TrainModel(const std::string& name, bool good,
                                   std::vector<std::string> names = {"x1", "x2"}) {
    Rows rows = MakeRows(400, 1);
    if (!good) {
      table::SplitMix64 random(99);
      for (float& label : rows.labels) label = random.NextOpenUnit() < 0.5 ? 1.0f : 0.0f;
    }
    const auto path = temp_ / (name + ".json");
    testing::TrainXGBoostModel(path, 2, names, rows.features, rows.labels,
                               {.rounds = good ? 20 : 3, .max_depth = 3});
    return path;
  }

  // Stores `file` as the artifact "outputs/<name>" of a new run (the run that "made"
  // it): a file value as a step's output would be.
  StepValue FileValue(const std::filesystem::path& file, const std::string& name) {
    tracking::CreateRunOptions options;
    options.experiment = "p";
    options.name = "maker";
    auto run = tracking_->CreateRun(options);
    EXPECT_TRUE(run.ok()) << run.status();
    auto artifact = tracking_->LogArtifact(run->run_id, file, "outputs/" + name);
    EXPECT_TRUE(artifact.ok()) << artifact.status();
    return StepValue{ValueKind::kFile, "outputs/" + name, artifact->digest, run->run_id};
  }

  // An evaluation file saying `blessed`, as a step value.
  StepValue EvaluationValue(bool blessed) {
    const auto file = temp_ / "evaluation.json";
    EXPECT_TRUE(core::WriteFileAtomically(
                    file, std::string(R"({"blessed": )") + (blessed ? "true" : "false") +
                              R"(, "candidate": {"auc": 0.9, "logloss": null}, "reasons": )"
                              R"(["auc 0.9 below min_auc 0.95"]})")
                    .ok());
    return FileValue(file, "evaluation.json");
  }

  registry::ModelVersion RegisterModel(const std::string& name, const std::filesystem::path& file) {
    registry::RegisterOptions options;
    options.actor = "ada";
    auto version = models_->Register(name, file, options);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : registry::ModelVersion{};
  }
  static StepValue ModelValue(const registry::ModelVersion& version) {
    return StepValue{ValueKind::kModel, version.Ref(), version.artifact_digest, ""};
  }

  // Points NAME@production at `version` and an endpoint at NAME@production.
  void DeployProduction(const std::string& endpoint, const registry::ModelVersion& version) {
    ASSERT_TRUE(
        models_->SetAlias(registry::ParseModelRef(version.Ref()).value(), "production", "ada", "")
            .ok());
    if (!deployments_) {
      deployments_ = std::move(serving::DeploymentStore::Open(*workspace_)).value();
    }
    serving::DeployOptions options;
    options.endpoint = endpoint;
    options.model = registry::ParseModelRef(version.name + "@production").value();
    options.actor = "ada";
    ASSERT_TRUE(deployments_->Put(options).ok());
  }

  std::map<std::string, double> Metrics(const std::string& run_id) {
    std::map<std::string, double> out;
    auto run = tracking_->GetRun(run_id);
    EXPECT_TRUE(run.ok()) << run.status();
    if (run.ok()) {
      for (const auto& m : run->metrics) out[m.key] = m.value;
    }
    return out;
  }

  std::unique_ptr<serving::DeploymentStore> deployments_;
};

}  // namespace ferry::pipeline
