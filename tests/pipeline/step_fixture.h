#pragma once

// StepFixture: a temporary workspace with every store a built-in step uses, and a way to
// run one step the way the executor does -- a tracking run for the step, a
// StoreStepContext with the step's params (defaults filled in from the catalog) and
// inputs, its outputs read back afterwards.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/file.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/pipeline_services.h"
#include "pipeline/store_step_context.h"
#include "registry/model_registry.h"
#include "store/workspace.h"
#include "testing/temp_dir.h"
#include "tracking/tracking_store.h"
#include "testing/postgres_server.h"

namespace ferry::pipeline {

class StepFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", clock_)).value();
    stores_ = std::move(PipelineServices::Open(*workspace_, temp_.path())).value();
    datasets_ = stores_->datasets.get();
    features_ = stores_->features.get();
    tracking_ = stores_->tracking.get();
    models_ = stores_->registry.get();
    services_ = stores_->steps.get();
  }

  // Adds `csv` as the next version of dataset `name`; returns it as a step input.
  StepValue AddDataset(const std::string& name, const std::string& csv) {
    const auto file = temp_ / (name + ".csv");
    EXPECT_TRUE(core::WriteFileAtomically(file, csv).ok());
    auto added = datasets_->Add(name, file, {});
    EXPECT_TRUE(added.ok()) << added.status();
    return DatasetValue(added->version);
  }
  static StepValue DatasetValue(const dataset::VersionRecord& version) {
    return StepValue{ValueKind::kDataset, version.Ref(), version.content_sha256, ""};
  }

  struct StepRun {
    absl::StatusOr<StepOutcome> outcome;
    std::map<std::string, StepValue> outputs;
    std::string run_id;
  };

  using StepFunction = absl::StatusOr<StepOutcome> (*)(StepContext&);

  // Runs `function` (RunSplitStep, ...) as the `uses:` step `yaml_step` (one step of a
  // pipeline named "p", e.g. "{id: split, uses: split, inputs: {data: d}, params: {seed:
  // 3}}") with `inputs` given as values (the spec's references only make the DAG).
  // `reproducing` and `recorded` as in StepAttempt.
  StepRun RunStep(StepFunction function, const std::string& yaml_step,
                  std::map<std::string, StepValue> inputs, bool reproducing = false,
                  std::map<std::string, StepValue> recorded = {}) {
    StepRun result;
    auto spec = ParsePipelineSpec("name: p\nsteps:\n  - " + yaml_step + "\n", "p.yaml");
    if (!spec.ok()) {
      result.outcome = spec.status();
      return result;
    }
    specs_.push_back(std::make_unique<PipelineSpec>(*std::move(spec)));
    const StepSpec& step = specs_.back()->steps.front();
    StepAttempt attempt;
    attempt.pipeline = "p";
    attempt.step = &step;
    attempt.params = BuiltinDefaultParams(*step.uses);
    for (const auto& [key, value] : step.params) attempt.params[key] = value;
    attempt.inputs = std::move(inputs);
    attempt.work_dir = temp_ / ("work_" + std::to_string(++attempts_));
    std::filesystem::create_directories(attempt.work_dir);
    tracking::CreateRunOptions run_options;
    run_options.experiment = "p";
    run_options.name = step.id;
    auto run = tracking_->CreateRun(run_options);
    EXPECT_TRUE(run.ok()) << run.status();
    attempt.run_id = run.ok() ? run->run_id : "";
    attempt.threads = 2;
    attempt.reproducing = reproducing;
    attempt.recorded_outputs = std::move(recorded);
    attempt.actor = "ada";
    attempt.cancelled = [this] { return cancel_; };
    StoreStepContext context(*services_, std::move(attempt));
    result.outcome = function(context);
    result.outputs = context.outputs();
    result.run_id = context.run_id();
    return result;
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_ =
      std::make_shared<core::ManualClock>(1'767'225'600'000'000);
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<PipelineServices> stores_;
  // Shorthands for stores_'s members.
  dataset::DatasetStore* datasets_ = nullptr;
  features::FeatureRegistry* features_ = nullptr;
  tracking::TrackingStore* tracking_ = nullptr;
  registry::ModelRegistry* models_ = nullptr;
  StepServices* services_ = nullptr;
  std::vector<std::unique_ptr<PipelineSpec>> specs_;
  int attempts_ = 0;
  bool cancel_ = false;
};

}  // namespace ferry::pipeline
