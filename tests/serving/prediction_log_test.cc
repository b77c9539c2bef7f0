#include "serving/prediction_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::serving {
namespace {

// A model that is never asked to predict: the log only reads its description.
class StubModel final : public LoadedModel {
 public:
  StubModel() { description_.num_features = 2; }
  const ModelDescription& description() const override { return description_; }
  absl::Status Predict(std::span<const float>, std::span<float>) const override {
    return absl::UnimplementedError("not used");
  }

 private:
  ModelDescription description_;
};

class PredictionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_.path() / "ws", core::SystemClock::Shared()))
                     .value();
    model_.endpoint = "fraud";
    model_.version.name = "fraud-model";
    model_.version.version = 3;
    model_.num_inputs = 2;
    model_.num_outputs = 1;
    model_.model = std::make_shared<StubModel>();
  }
  std::unique_ptr<PredictionLog> Open(core::ServingConfig config = {}) {
    auto log = PredictionLog::Open(*workspace_, config);
    EXPECT_TRUE(log.ok()) << log.status();
    return std::move(log).value();
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  ServedModel model_;
};

TEST_F(PredictionLogTest, RecordedPredictionsAreStoredWithInputsAndOutputs) {
  auto log = Open();
  const std::vector<std::string> ids = {"p1", "p2"};
  const std::vector<float> rows = {1.5f, std::numeric_limits<float>::quiet_NaN(), 3, 4};
  const std::vector<float> outputs = {0.25f, 0.75f};
  ASSERT_TRUE(log->Sample());
  log->Record(model_, ids, rows, outputs);
  log->Flush();
  auto p1 = log->Get("p1");
  ASSERT_TRUE(p1.ok()) << p1.status();
  EXPECT_EQ(p1->endpoint, "fraud");
  EXPECT_EQ(p1->model_name, "fraud-model");
  EXPECT_EQ(p1->model_version, 3);
  ASSERT_EQ(p1->inputs.size(), 2u);
  EXPECT_EQ(p1->inputs[0], 1.5);
  EXPECT_TRUE(std::isnan(p1->inputs[1]));
  EXPECT_EQ(p1->outputs, std::vector<double>({0.25}));
  EXPECT_FALSE(p1->label.has_value());
  auto recent = log->Recent("fraud", 10, false);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 2u);
  EXPECT_EQ(log->stats().written, 2u);
  EXPECT_EQ(log->Get("p9").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PredictionLogTest, FeedbackJoinsLabelsAndCountsUnknownIds) {
  auto log = Open();
  log->Record(model_, std::vector<std::string>{"p1", "p2"}, std::vector<float>{1, 2, 3, 4},
              std::vector<float>{0.1f, 0.9f});
  // No Flush: feedback must see predictions still queued.
  auto result = log->AddFeedback(std::vector<Feedback>{{"p1", 1}, {"p2", 0}, {"zz", 1}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->accepted, 2u);
  EXPECT_EQ(result->unknown, 1u);
  EXPECT_EQ(result->unknown_ids, std::vector<std::string>({"zz"}));
  // A second label replaces the first.
  ASSERT_TRUE(log->AddFeedback(std::vector<Feedback>{{"p2", 1}}).ok());
  auto labeled = log->Recent("fraud", 10, true);
  ASSERT_TRUE(labeled.ok());
  ASSERT_EQ(labeled->size(), 2u);
  for (const LoggedPrediction& p : *labeled) EXPECT_EQ(p.label, 1.0);
}

TEST_F(PredictionLogTest, BadFeedbackChangesNothing) {
  auto log = Open();
  log->Record(model_, std::vector<std::string>{"p1"}, std::vector<float>{1, 2},
              std::vector<float>{0.5f});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto bad = log->AddFeedback(std::vector<Feedback>{{"p1", 1}, {"p1", nan}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("finite"), std::string::npos);
  EXPECT_EQ(log->AddFeedback(std::vector<Feedback>{{"", 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Feedback> many(PredictionLog::kMaxFeedback + 1, Feedback{"p1", 1});
  EXPECT_EQ(log->AddFeedback(many).status().code(), absl::StatusCode::kInvalidArgument);
  log->Flush();
  auto p1 = log->Get("p1");
  ASSERT_TRUE(p1.ok());
  EXPECT_FALSE(p1->label.has_value());
}

TEST_F(PredictionLogTest, AFullQueueDropsAndCountsInsteadOfWaiting) {
  core::ServingConfig config;
  config.prediction_log_queue = 2;
  auto log = Open(config);
  std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  log->Record(model_, ids, std::vector<float>(10, 1.0f), std::vector<float>(5, 0.5f));
  log->Flush();
  EXPECT_EQ(log->stats().recorded, 5u);
  EXPECT_EQ(log->stats().dropped, 3u);
  EXPECT_EQ(log->stats().written, 2u);
}

TEST_F(PredictionLogTest, StoppingWritesTheQueueWithinTheLimitAndDropsTheRest) {
  // A full queue cannot be written in no time (one transaction per 512 rows): stopping with
  // a zero limit drops what the writer has not reached, and counts it.
  core::ServingConfig config;
  config.prediction_log_queue = 100'000;
  auto log = Open(config);
  std::vector<std::string> ids;
  for (int i = 0; i < 100'000; ++i) ids.push_back("p" + std::to_string(i));
  log->Record(model_, ids, std::vector<float>(2 * ids.size(), 1.0f),
              std::vector<float>(ids.size(), 0.5f));
  log->Stop(std::chrono::milliseconds(0));
  PredictionLogStats stats = log->stats();
  EXPECT_EQ(stats.recorded, 100'000u);
  EXPECT_GT(stats.dropped, 0u);
  EXPECT_EQ(stats.written + stats.dropped, 100'000u);
  EXPECT_EQ(log->queued(), 0u);
  // Once stopped, predictions are dropped, never queued for a writer that is gone.
  log->Record(model_, std::vector<std::string>{"late"}, std::vector<float>{1, 2},
              std::vector<float>{0.5f});
  EXPECT_EQ(log->stats().dropped, stats.dropped + 1);
  EXPECT_EQ(log->queued(), 0u);

  // With time to spare, stopping writes everything.
  auto patient = Open();
  patient->Record(model_, std::vector<std::string>{"a", "b"}, std::vector<float>{1, 2, 3, 4},
                  std::vector<float>{0.1f, 0.9f});
  patient->Stop(std::chrono::seconds(60));
  EXPECT_EQ(patient->stats().written, 2u);
  EXPECT_EQ(patient->stats().dropped, 0u);
}

TEST_F(PredictionLogTest, SampleRateZeroLogsNothing) {
  core::ServingConfig config;
  config.prediction_log_sample_rate = 0;
  auto log = Open(config);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(log->Sample());
  config.prediction_log_sample_rate = 0.5;
  auto half = Open(config);
  int sampled = 0;
  for (int i = 0; i < 10'000; ++i) sampled += half->Sample();
  EXPECT_GT(sampled, 4'000);
  EXPECT_LT(sampled, 6'000);
}

}  // namespace
}  // namespace ferry::serving
