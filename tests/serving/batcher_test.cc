#include "serving/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ferry::serving {
namespace {

// Output = sum of the row's two inputs; counts calls and rows.
class SumModel final : public LoadedModel {
 public:
  SumModel() {
    description_.num_features = 2;
    description_.num_outputs = 1;
  }
  const ModelDescription& description() const override { return description_; }
  absl::Status Predict(std::span<const float> rows, std::span<float> out) const override {
    if (rows.size() % 2 != 0 || out.size() != rows.size() / 2) {
      return absl::InvalidArgumentError("bad sizes");
    }
    ++calls;
    for (size_t r = 0; r < out.size(); ++r) out[r] = rows[2 * r] + rows[2 * r + 1];
    return absl::OkStatus();
  }
  mutable std::atomic<int> calls{0};

 private:
  ModelDescription description_;
};

TEST(BatcherTest, ACallerAloneDoesNotWait) {
  SumModel model;
  Batcher batcher(model, std::chrono::seconds(10), 64);
  float out = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    Arrival arrival(&batcher);
    arrival.Joined();
    const float row[2] = {1.0f, static_cast<float>(i)};
    ASSERT_TRUE(batcher.PredictOne(row, {&out, 1}).ok());
    EXPECT_EQ(out, 1.0f + i);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(model.calls, 100);
}

TEST(BatcherTest, ConcurrentCallersShareCallsAndGetTheirOwnOutputs) {
  SumModel model;
  Batcher batcher(model, std::chrono::milliseconds(2), 8);
  constexpr int kThreads = 8;
  constexpr int kRequests = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        Arrival arrival(&batcher);
        const float row[2] = {static_cast<float>(t), static_cast<float>(i)};
        float out = -1;
        arrival.Joined();
        if (!batcher.PredictOne(row, {&out, 1}).ok() || out != static_cast<float>(t + i)) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_LE(model.calls, kThreads * kRequests);
  EXPECT_GT(model.calls, 0);
}

TEST(BatcherTest, ACallerThatLeavesDoesNotHoldTheBatch) {
  SumModel model;
  Batcher batcher(model, std::chrono::seconds(30), 64);
  { Arrival gone(&batcher); }  // arrived, failed validation, left
  Arrival arrival(&batcher);
  arrival.Joined();
  const float row[2] = {2, 3};
  float out = 0;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(batcher.PredictOne(row, {&out, 1}).ok());
  EXPECT_EQ(out, 5.0f);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(BatcherTest, ModelErrorsReachEveryCaller) {
  SumModel model;
  Batcher batcher(model, std::chrono::milliseconds(1), 4);
  const float row[3] = {1, 2, 3};
  float out = 0;
  EXPECT_FALSE(batcher.PredictOne(row, {&out, 1}).ok());
}

}  // namespace
}  // namespace ferry::serving
