// Rollout figures across servers: two "servers" (an EndpointManager and a RolloutRuntime
// each, on their own connection to one workspace) record traffic of one rollout; the
// controller's figures count all of it, once.

#include "serving/shared_figures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "registry/model_registry.h"
#include "serving/deployment_store.h"
#include "serving/rollout_runtime.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::serving {
namespace {

constexpr int64_t kStart = int64_t{1'790'000'000} * 1'000'000;  // 2026-09-21

// One `ferry server`'s serving side, not started: the test records traffic and flushes.
struct Server {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<EndpointManager> endpoints;
  std::unique_ptr<RolloutRuntime> rollouts;

  // Records one request on a side of the endpoint "fraud" (whose rollout must be loaded).
  void Record(bool candidate, double seconds, float score, bool failed = false) {
    ServedEndpointPtr served = endpoints->FindEndpoint("fraud");
    ASSERT_NE(served, nullptr);
    ASSERT_NE(served->candidate, nullptr);
    const float outputs[] = {score};
    (candidate ? served->candidate_figures : served->stable_figures)
        ->Record(seconds, failed ? std::span<const float>() : std::span<const float>(outputs), 1,
                 failed);
  }
};

class SharedFiguresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(kStart);
    root_ = temp_.path() / "ws";
    auto workspace = store::Workspace::Init(root_, clock_);
    ASSERT_TRUE(workspace.ok()) << workspace.status();
    auto datasets = std::move(dataset::DatasetStore::Open(**workspace)).value();
    auto features = std::move(features::FeatureRegistry::Open(**workspace, *datasets)).value();
    auto tracking = std::move(tracking::TrackingStore::Open(**workspace, *datasets)).value();
    auto models =
        std::move(registry::ModelRegistry::Open(**workspace, *datasets, *features, *tracking))
            .value();
    testing::WriteXGBoostModel(temp_.path() / "m1.json", 4, {"a", "b", "c", "d"}, 3);
    testing::WriteXGBoostModel(temp_.path() / "m2.json", 4, {"a", "b", "c", "d"}, 4);
    for (const char* file : {"m1.json", "m2.json"}) {
      ASSERT_TRUE(models->Register("fraud", temp_.path() / file, {}).ok());
    }
    ASSERT_TRUE(models->SetAlias({"fraud", 1, {}}, "production", "test", "").ok());
    auto deployments = DeploymentStore::Open(**workspace);
    ASSERT_TRUE(deployments.ok());
    ASSERT_TRUE((*deployments)
                    ->Put({"fraud",
                           registry::ParseModelRef("fraud@production").value(),
                           MissingFeaturePolicy::kError,
                           "test",
                           {}})
                    .ok());
    a_ = OpenServer(*std::move(workspace));
    b_ = OpenServer(std::move(store::Workspace::Open(root_, clock_)).value());
    ASSERT_NE(a_.rollouts, nullptr);
    ASSERT_NE(b_.rollouts, nullptr);
  }

  Server OpenServer(std::unique_ptr<store::Workspace> workspace) {
    Server server;
    EndpointManagerOptions options;
    options.monitoring = false;
    auto endpoints = EndpointManager::Open(*workspace, options);
    EXPECT_TRUE(endpoints.ok()) << endpoints.status();
    if (!endpoints.ok()) return server;
    auto rollouts =
        RolloutRuntime::Open(*workspace, **endpoints, nullptr, std::chrono::milliseconds(1000));
    EXPECT_TRUE(rollouts.ok()) << rollouts.status();
    if (!rollouts.ok()) return server;
    server.workspace = std::move(workspace);
    server.endpoints = *std::move(endpoints);
    server.rollouts = *std::move(rollouts);
    return server;
  }

  // Starts a canary of fraud@2 and has both servers load it.
  Rollout StartRollout() {
    StartRolloutOptions options;
    options.endpoint = "fraud";
    options.candidate = {"fraud", 2, {}};
    options.policy.steps = {50, 100};
    options.policy.min_requests = 5;
    options.actor = "test";
    auto started = a_.rollouts->store().Start(options);
    EXPECT_TRUE(started.ok()) << started.status();
    EXPECT_TRUE(a_.endpoints->Refresh().ok());
    EXPECT_TRUE(b_.endpoints->Refresh().ok());
    return started.ok() ? *started : Rollout{};
  }

  // (server_id, side, requests) of every published row, sorted.
  std::vector<std::tuple<std::string, std::string, int64_t>> Rows() {
    std::vector<std::tuple<std::string, std::string, int64_t>> rows;
    EXPECT_TRUE(a_.workspace->metadata()
                    .Read([&](store::Transaction& tx) -> absl::Status {
                      auto found = tx.Query(
                          "SELECT server_id, side, requests FROM rollout_figures"
                          " ORDER BY server_id, side");
                      if (!found.ok()) return found.status();
                      for (const store::Row& row : *found) {
                        rows.emplace_back(row.Text(0), row.Text(1), row.Int(2));
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    return rows;
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_;
  std::filesystem::path root_;
  Server a_, b_;
};

TEST_F(SharedFiguresTest, TheControllerCountsEveryServersRequestsOnBothSidesExactly) {
  const Rollout rollout = StartRollout();
  // Server a: fast on both sides. Server b: one slow request in ten on the candidate.
  for (int i = 0; i < 60; ++i) a_.Record(false, 0.010, 0.2f);
  for (int i = 0; i < 45; ++i) a_.Record(true, 0.010, 0.3f, /*failed=*/i < 3);
  for (int i = 0; i < 40; ++i) b_.Record(false, 0.011, 0.2f, /*failed=*/i < 2);
  for (int i = 0; i < 55; ++i) b_.Record(true, i < 10 ? 0.500 : 0.010, 0.3f);
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  // More on a that a has not flushed yet: the controller's own pending window counts too.
  for (int i = 0; i < 5; ++i) a_.Record(false, 0.010, 0.2f);

  absl::StatusOr<WindowFigures> figures = a_.rollouts->Figures(rollout);
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->stable.requests, 105);
  EXPECT_EQ(figures->stable.errors, 2);
  EXPECT_EQ(figures->canary.requests, 100);
  EXPECT_EQ(figures->canary.errors, 3);
  // p99 of the candidate is b's slow tail (10 of 100 at 500 ms), not a's 10 ms.
  ASSERT_TRUE(figures->canary.p99_seconds.has_value());
  EXPECT_NEAR(*figures->canary.p99_seconds, 0.500, 0.500 * 0.01);
  ASSERT_TRUE(figures->stable.p99_seconds.has_value());
  EXPECT_NEAR(*figures->stable.p99_seconds, 0.011, 0.011 * 0.01);
  // Every score of both servers (fewer than the sample's bound): 0.2 against 0.3.
  ASSERT_TRUE(figures->prediction_shift.has_value());
  EXPECT_NEAR(*figures->prediction_shift, 1.0, 1e-9);
}

TEST_F(SharedFiguresTest, TheMergedWindowHoldsEveryScoreAndTheExactSketch) {
  const Rollout rollout = StartRollout();
  stats::DDSketch latency;
  std::vector<double> scores;
  for (int i = 0; i < 30; ++i) {
    const double seconds = 0.001 * (i + 1);
    const float score = static_cast<float>(i) / 7.0f;  // not short in decimal
    (i % 2 == 0 ? a_ : b_).Record(true, seconds, score);
    latency.Add(seconds);
    scores.push_back(score);
    // Server b flushes every few requests: its row accumulates.
    if (i % 6 == 5) {
      ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
    }
  }
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_EQ(Rows().size(), 1u);  // one row: b's candidate side

  absl::StatusOr<RolloutWindows> taken = a_.rollouts->shared_figures().Take(rollout);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->stable.requests, 0);
  EXPECT_EQ(taken->candidate.requests, 30);
  EXPECT_EQ(taken->candidate.scores_seen, 30);
  // The same buckets (so the same quantiles), min and max; the sum only up to the order
  // of the additions.
  const stats::DDSketch& merged = taken->candidate.latency;
  EXPECT_EQ(merged.count(), latency.count());
  EXPECT_EQ(merged.min(), latency.min());
  EXPECT_EQ(merged.max(), latency.max());
  EXPECT_NEAR(merged.sum(), latency.sum(), 1e-12);
  for (double q : {0.05, 0.25, 0.5, 0.75, 0.9, 0.99}) {
    EXPECT_EQ(merged.Quantile(q), latency.Quantile(q)) << q;
  }
  std::vector<double> got = taken->candidate.scores;
  std::sort(got.begin(), got.end());
  std::sort(scores.begin(), scores.end());
  EXPECT_EQ(got, scores);
}

TEST_F(SharedFiguresTest, ASketchReadBackFromTheStoreIsTheSameSketch) {
  const Rollout rollout = StartRollout();
  stats::DDSketch latency;
  for (int i = 0; i < 500; ++i) {
    const double seconds = 0.0005 * (1 + i % 97) * (1 + i % 5);
    b_.Record(false, seconds, 0.5f);
    latency.Add(seconds);
  }
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  absl::StatusOr<RolloutWindows> taken = a_.rollouts->shared_figures().Take(rollout);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->stable.latency, latency);  // bucket for bucket, sum, min and max
}

TEST_F(SharedFiguresTest, AWindowTakenIsNotCountedAgain) {
  const Rollout rollout = StartRollout();
  for (int i = 0; i < 20; ++i) a_.Record(false, 0.01, 0.5f);
  for (int i = 0; i < 30; ++i) b_.Record(true, 0.01, 0.5f);
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  absl::StatusOr<WindowFigures> first = a_.rollouts->Figures(rollout);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stable.requests, 20);
  EXPECT_EQ(first->canary.requests, 30);
  EXPECT_TRUE(Rows().empty());
  // Flushing again, from either server, publishes nothing new.
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_TRUE(Rows().empty());
  absl::StatusOr<WindowFigures> second = a_.rollouts->Figures(rollout);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->stable.requests, 0);
  EXPECT_EQ(second->canary.requests, 0);
  // The next window is what came after, whichever server takes it.
  for (int i = 0; i < 7; ++i) a_.Record(true, 0.01, 0.5f);
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  absl::StatusOr<WindowFigures> third = b_.rollouts->Figures(rollout);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->canary.requests, 7);
}

TEST_F(SharedFiguresTest, AControllerWithAnOldViewOfTheRolloutTakesNothing) {
  const Rollout old = StartRollout();
  for (int i = 0; i < 9; ++i) b_.Record(true, 0.01, 0.5f);
  for (int i = 0; i < 4; ++i) a_.Record(false, 0.01, 0.5f);
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  // Another actor changes the rollout (as another controller's analysis would).
  ASSERT_TRUE(a_.rollouts->store().Pause("fraud", "test").ok());
  ASSERT_TRUE(a_.rollouts->store().Resume("fraud", "test").ok());
  EXPECT_EQ(a_.rollouts->Figures(old).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Rows().size(), 1u);
  // The controller that reads the rollout again gets the whole window, a's pending part too.
  absl::StatusOr<WindowFigures> figures =
      a_.rollouts->Figures(a_.rollouts->store().Get("fraud").value());
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->canary.requests, 9);
  EXPECT_EQ(figures->stable.requests, 4);
}

TEST_F(SharedFiguresTest, AServerWithNoTrafficWritesNothing) {
  StartRollout();
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_TRUE(Rows().empty());
  // Only b serves, and only the stable side: one row, b's.
  for (int i = 0; i < 4; ++i) b_.Record(false, 0.01, 0.5f);
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_EQ(Rows(), (std::vector<std::tuple<std::string, std::string, int64_t>>{
                        {b_.rollouts->shared_figures().server_id(), "stable", 4}}));
  EXPECT_NE(a_.rollouts->shared_figures().server_id(), b_.rollouts->shared_figures().server_id());
}

TEST_F(SharedFiguresTest, TheRowsOfAFinishedRolloutAreGoneAndStayGone) {
  StartRollout();
  for (int i = 0; i < 10; ++i) a_.Record(false, 0.01, 0.5f);
  for (int i = 0; i < 10; ++i) b_.Record(true, 0.01, 0.5f);
  ASSERT_TRUE(a_.rollouts->shared_figures().Flush().ok());
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_EQ(Rows().size(), 2u);
  ASSERT_TRUE(a_.rollouts->store().Rollback("fraud", "test", "enough").ok());
  EXPECT_TRUE(Rows().empty());
  // b has not seen the rollback yet (no Refresh): what it records for the ended rollout is
  // not published.
  for (int i = 0; i < 10; ++i) b_.Record(true, 0.01, 0.5f);
  ASSERT_TRUE(b_.rollouts->shared_figures().Flush().ok());
  EXPECT_TRUE(Rows().empty());
}

TEST_F(SharedFiguresTest, AStoppingServerPublishesWhatItRecorded) {
  const Rollout rollout = StartRollout();
  b_.rollouts->Start();
  for (int i = 0; i < 12; ++i) b_.Record(true, 0.01, 0.5f);
  b_.rollouts->Stop();
  absl::StatusOr<WindowFigures> figures = a_.rollouts->Figures(rollout);
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->canary.requests, 12);
}

TEST(ScoresTextTest, EveryFloatReadsBackExactly) {
  const std::vector<double> scores = {0.0f,
                                      -0.0f,
                                      1.0f / 3.0f,
                                      0.1f,
                                      -2.5e-38f,
                                      3.4e38f,
                                      std::numeric_limits<float>::denorm_min(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()};
  const std::string text = EncodeScores(scores);
  EXPECT_EQ(text.substr(0, 16), "[0,-0,0.33333334");
  absl::StatusOr<std::vector<double>> read = DecodeScores(text);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, scores);
  EXPECT_EQ(EncodeScores({}), "[]");
  EXPECT_EQ(DecodeScores("[]").value(), std::vector<double>{});
  absl::StatusOr<std::vector<double>> nan = DecodeScores(EncodeScores({std::nan("")}));
  ASSERT_TRUE(nan.ok()) << nan.status();
  ASSERT_EQ(nan->size(), 1u);
  EXPECT_TRUE(std::isnan((*nan)[0]));
}

TEST(ScoresTextTest, DamagedTextIsDataLoss) {
  for (const char* text :
       {"", "[", "]", "0.5", "[0.5,]", "[,0.5]", "[0.5;0.25]", "[x]", "[0.5 ]", "[0.5,,0.25]"}) {
    EXPECT_EQ(DecodeScores(text).status().code(), absl::StatusCode::kDataLoss) << text;
  }
  std::string too_many = EncodeScores(std::vector<double>(FiguresWindow::kMaxScores + 1, 0.5));
  EXPECT_EQ(DecodeScores(too_many).status().code(), absl::StatusCode::kDataLoss);
  std::string most = EncodeScores(std::vector<double>(FiguresWindow::kMaxScores, 0.5));
  EXPECT_TRUE(DecodeScores(most).ok());
}

}  // namespace
}  // namespace ferry::serving
