#pragma once

// A workspace with fraud-model versions 1-3 (production -> 1), an endpoint "fraud" that
// follows fraud-model@production and one, "pinned", that serves fraud-model@1; a
// RolloutStore on it, and a controller whose figures come from `window_`.

#include <gtest/gtest.h>

#include "registry/registry_fixture.h"
#include "serving/deployment_store.h"
#include "serving/rollout_controller.h"
#include "serving/rollout_store.h"

namespace ferry::serving {

class RolloutFixture : public registry::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(Register("fraud-model").ok());
    ASSERT_TRUE(Register("other-model").ok());
    ASSERT_TRUE(models_->SetAlias(Ref("fraud-model@1"), "production", "ada", "").ok());
    deployments_ = std::move(DeploymentStore::Open(*workspace_)).value();
    ASSERT_TRUE(deployments_->Put({"fraud", Ref("fraud-model@production"),
                                   MissingFeaturePolicy::kError, "ada", {}})
                    .ok());
    ASSERT_TRUE(
        deployments_->Put({"pinned", Ref("fraud-model@1"), MissingFeaturePolicy::kError, "ada", {}})
            .ok());
    OpenRollouts();
  }

  // (Re)opens the store and the controller, as a restarted server does.
  void OpenRollouts(store::Workspace* workspace = nullptr) {
    controller_.reset();
    rollouts_ = std::move(RolloutStore::Open(workspace ? *workspace : *workspace_)).value();
    controller_ = std::make_unique<RolloutController>(
        *rollouts_, clock_, [this](const Rollout& r) { return window_(r); },
        [this](const RolloutEvent& e) { sunk_.push_back(e); });
  }

  static registry::ModelRef Ref(const std::string& text) {
    return registry::ParseModelRef(text).value();
  }

  // A window where the canary does as well as production.
  static WindowFigures Healthy() {
    WindowFigures f;
    f.stable = {1000, 5, 0.010, std::nullopt, 0};
    f.canary = {1000, 5, 0.011, std::nullopt, 0};
    f.prediction_shift = 0.02;
    f.quality_metric = "auc";
    return f;
  }

  absl::StatusOr<Rollout> Start(const std::string& endpoint, const std::string& candidate,
                                RolloutKind kind = RolloutKind::kCanary,
                                RolloutPolicy policy = {}) {
    absl::StatusOr<registry::ModelRef> ref = registry::ParseModelRef(candidate);
    if (!ref.ok()) return ref.status();
    return rollouts_->Start({endpoint, *ref, kind, std::move(policy), "ada"});
  }

  // Moves the clock one interval (60s) and ticks; the events of that tick.
  std::vector<RolloutEvent> TickAfter(std::chrono::seconds by = std::chrono::seconds(60)) {
    clock_->Advance(by);
    auto events = controller_->Tick();
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<RolloutEvent>{};
  }

  // The version an alias of fraud-model points at; 0 when it does not exist.
  int64_t AliasVersion(const std::string& alias) {
    auto version = models_->Resolve(Ref("fraud-model@" + alias));
    return version.ok() ? version->version : 0;
  }

  std::unique_ptr<DeploymentStore> deployments_;
  std::unique_ptr<RolloutStore> rollouts_;
  std::unique_ptr<RolloutController> controller_;
  std::function<absl::StatusOr<WindowFigures>(const Rollout&)> window_ =
      [](const Rollout&) -> absl::StatusOr<WindowFigures> { return Healthy(); };
  std::vector<RolloutEvent> sunk_;
};

}  // namespace ferry::serving
