#pragma once

// SecurityFixture: a workspace in a folder of its own (temp/ws) holding a dataset "good",
// a model "good" (version 1) and a tracking run, with the stores that reach them; and the
// checks every hostile-input test ends with: nothing was created outside the workspace
// (the folder around it, the current folder and the temp folder hold nothing new and
// nothing named with the test's token), and the stored data is intact. ApiFixture: the
// same behind the HTTP API.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "api/routes.h"
#include "core/clock.h"
#include "core/file.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "registry/model_registry.h"
#include "server/authorizer.h"
#include "serving/deployment_store.h"
#include "testing/customer_features.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"
#include "tracking/tracking_store.h"

namespace ferry::security {

class SecurityFixture : public ::testing::Test {
 public:
  // Part of every hostile name, so whatever an attack might create can be found by name.
  static std::string Token() { return "ferry-escape-" + std::to_string(::getpid()); }

 protected:
  void SetUp() override {
    auto workspace = testing::InitWorkspace(root(), core::SystemClock::Shared());
    ASSERT_TRUE(workspace.ok()) << workspace.status();
    workspace_ = *std::move(workspace);
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    features_ = std::move(features::FeatureRegistry::Open(*workspace_, *datasets_)).value();
    tracking_ = std::move(tracking::TrackingStore::Open(*workspace_, *datasets_)).value();
    models_ =
        std::move(registry::ModelRegistry::Open(*workspace_, *datasets_, *features_, *tracking_))
            .value();
    ASSERT_TRUE(core::WriteFileAtomically(data_file(), "id,score\n1,0.5\n2,0.25\n").ok());
    ASSERT_TRUE(datasets_->Add("good", data_file(), {}).ok());
    testing::WriteXGBoostModel(model_file(), 2, {"a", "b"});
    auto model = models_->Register("good", model_file(), {});
    ASSERT_TRUE(model.ok()) << model.status();
    auto run = tracking_->CreateRun({});
    ASSERT_TRUE(run.ok()) << run.status();
    run_id_ = run->run_id;
    outside_before_ = Outside();
  }

  // The workspace root; its parent folder is the test's own.
  std::filesystem::path root() const { return temp_ / "ws"; }
  std::filesystem::path data_file() const { return temp_ / "data.csv"; }
  std::filesystem::path model_file() const { return temp_ / "model.json"; }

  // What lies outside the workspace that an escape could reach: every path below the
  // test's folder but outside root(), and any entry named with Token() in the folders
  // around it (the test's folder's parent, the current folder, the filesystem root).
  std::set<std::string> Outside() const {
    namespace fs = std::filesystem;
    std::set<std::string> out;
    for (auto it = fs::recursive_directory_iterator(temp_.path());
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->path() == root()) {
        it.disable_recursion_pending();
        continue;
      }
      out.insert(fs::relative(it->path(), temp_.path()).string());
    }
    for (const fs::path& dir : {temp_.path().parent_path(), fs::current_path(), fs::path("/")}) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().find(Token()) != std::string::npos) {
          out.insert(entry.path().string());
        }
      }
    }
    return out;
  }

  // Nothing new outside the workspace; the dataset, the model and the run as SetUp left
  // them, and every stored object still reads back whole.
  void ExpectNothingEscapedAndDataIntact() {
    EXPECT_EQ(Outside(), outside_before_);
    auto listed = datasets_->List();
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].name, "good");
    EXPECT_EQ((*listed)[0].versions, 1);
    auto models = models_->ListModels();
    ASSERT_TRUE(models.ok()) << models.status();
    ASSERT_EQ(models->size(), 1u);
    auto versions = models_->ListVersions("good");
    ASSERT_TRUE(versions.ok());
    EXPECT_EQ(versions->size(), 1u);
    auto verified = datasets_->Verify();
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_TRUE(verified->problems.empty());
    auto run = tracking_->GetRun(run_id_);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE(run->artifacts.empty());
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<features::FeatureRegistry> features_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<registry::ModelRegistry> models_;
  std::string run_id_;
  std::set<std::string> outside_before_;
};

// The fixture's workspace behind the HTTP API (api::BuildRouter), called in-process.
class ApiFixture : public SecurityFixture {
 protected:
  void SetUp() override {
    SecurityFixture::SetUp();
    if (HasFatalFailure()) return;
    auto router = api::BuildRouter(*workspace_, std::make_shared<std::atomic<bool>>(true));
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
  }
  void TearDown() override { router_.reset(); }

  server::Response Call(server::Method method, const std::string& target, std::string body = {}) {
    server::Request request = server::Request::Make(method, target, std::move(body));
    return router_->Dispatch(request, authorizer_);
  }

  std::shared_ptr<server::Router> router_;
  server::AllowAllAuthorizer authorizer_;
};

}  // namespace ferry::security
