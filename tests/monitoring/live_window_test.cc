#include "monitoring/live_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "monitoring/model_monitor.h"

namespace ferry::monitoring {
namespace {

constexpr int64_t kMinute = 60'000'000;

FeatureReference Reference() {
  std::vector<double> values;
  for (int i = 0; i < 100; ++i) values.push_back(i);  // 0..99
  return ReferenceFromValues("x", values, 10);
}

WindowSpec TimeWindow(int slices) {
  WindowSpec spec;
  spec.kind = WindowSpec::Kind::kTime;
  spec.duration = std::chrono::seconds(3600);
  spec.slices = slices;
  return spec;
}

TEST(LiveWindowTest, TimeWindowDropsSlicesAsTheyExpire) {
  const FeatureReference ref = Reference();
  const int64_t t0 = 1'000 * kMinute;
  LiveWindow window(TimeWindow(4), {&ref}, {false}, 100, t0, 1);
  const float a = 1, b = 2, c = 3;
  window.Add(t0, {&a, 1}, 1, 0.001);
  window.Add(t0 + 20 * kMinute, {&b, 1}, 1, 0.001);
  window.Add(t0 + 70 * kMinute, {&c, 1}, 1, 0.001);
  // Slices of 15 minutes, 4 kept: at 70 minutes the first (0-15) has expired.
  WindowContents contents = window.Merge(t0 + 70 * kMinute);
  EXPECT_EQ(contents.requests, 2);
  EXPECT_EQ(contents.columns[0].present, 2);
  EXPECT_EQ(contents.from_micros, t0 + 15 * kMinute);
  // A whole window later nothing is left.
  contents = window.Merge(t0 + 200 * kMinute);
  EXPECT_EQ(contents.requests, 0);
  EXPECT_EQ(contents.columns[0].present, 0);
  EXPECT_EQ(contents.latency.count(), 0u);
}

TEST(LiveWindowTest, FailedRequestsCountApartAndExpireWithTheirSlice) {
  const FeatureReference ref = Reference();
  const int64_t t0 = 1'000 * kMinute;
  LiveWindow window(TimeWindow(4), {&ref}, {false}, 100, t0, 1);
  const float a = 1;
  window.Add(t0, {&a, 1}, 1, 0.001);
  window.CountFailed(t0, 2);
  window.CountFailed(t0 + 20 * kMinute, 1);
  WindowContents contents = window.Merge(t0 + 20 * kMinute);
  EXPECT_EQ(contents.requests, 1);  // answered only
  EXPECT_EQ(contents.failed, 3);
  nlohmann::json traffic = TrafficToJson(TimeWindow(4), contents);
  EXPECT_EQ(traffic["failed"], 3);
  EXPECT_DOUBLE_EQ(traffic["error_rate"].get<double>(), 0.75);
  // At 70 minutes the first slice (and its two failures) has expired.
  contents = window.Merge(t0 + 70 * kMinute);
  EXPECT_EQ(contents.failed, 1);
  EXPECT_EQ(contents.requests, 0);
  EXPECT_DOUBLE_EQ(TrafficToJson(TimeWindow(4), contents)["error_rate"].get<double>(), 1.0);
  EXPECT_TRUE(TrafficToJson(TimeWindow(4), window.Merge(t0 + 200 * kMinute))["error_rate"]
                  .is_null());
}

TEST(LiveWindowTest, CountWindowKeepsBetweenAllButOneSliceAndAllRows) {
  const FeatureReference ref = Reference();
  WindowSpec spec;
  spec.kind = WindowSpec::Kind::kRows;
  spec.rows = 100;
  spec.slices = 4;
  LiveWindow window(spec, {&ref}, {false}, 100, 0, 1);
  for (int i = 0; i < 1000; ++i) {
    const float v = static_cast<float>(i % 100);
    window.Add(i, {&v, 1}, 1, 0.001);
    const WindowContents contents = window.Merge(i);
    ASSERT_LE(contents.monitored_rows, 100);
    if (i >= 100) {
      ASSERT_GE(contents.monitored_rows, 76);
    }
  }
}

TEST(LiveWindowTest, CountsBinsMissingAndOutOfRangeWithDistances) {
  const FeatureReference ref = Reference();
  LiveWindow window(TimeWindow(1), {&ref}, {false}, 100, 0, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values{0, 0.5f, 99, -3, 105, nan, 42};
  window.Add(0, values, values.size(), 0.002);
  const WindowContents contents = window.Merge(1);
  const ColumnCounts& c = contents.columns[0];
  EXPECT_EQ(c.present, 6);
  EXPECT_EQ(c.missing, 1);
  EXPECT_EQ(c.below, 1);
  EXPECT_EQ(c.above, 1);
  EXPECT_DOUBLE_EQ(c.below_distance, 3);
  EXPECT_DOUBLE_EQ(c.above_distance, 6);
  uint64_t binned = 0;
  for (uint64_t n : c.bins) binned += n;
  EXPECT_EQ(binned, 4u);
  // 0 lands in the first bin (it holds the minimum), 99 in the last.
  EXPECT_EQ(c.bins.front(), 2u);
  EXPECT_EQ(c.bins.back(), 1u);
  EXPECT_EQ(contents.rows, 7);
}

TEST(LiveWindowTest, CategoriesCountUnseenValuesApart) {
  const std::vector<double> values{1, 1, 2, 2, 2, 3};
  const FeatureReference ref = ReferenceFromValues("c", values, 10);
  ASSERT_TRUE(ref.categorical());
  LiveWindow window(TimeWindow(2), {&ref}, {false}, 100, 0, 1);
  const std::vector<float> live{1, 2, 3, 3, 7, 8};
  window.Add(0, live, live.size(), 0.001);
  const ColumnCounts c = window.Merge(0).columns[0];
  ASSERT_EQ(c.categories.size(), 4u);
  EXPECT_EQ(c.categories[0], 1u);
  EXPECT_EQ(c.categories[2], 2u);
  EXPECT_EQ(c.unseen(), 2u);
}

TEST(LiveWindowTest, KsSampleIsBoundedAndSpansTheSlices) {
  const FeatureReference ref = Reference();
  LiveWindow window(TimeWindow(4), {&ref}, {true}, 200, 0, 1);
  // 15-minute slices: 1000 values in each of four slices.
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 1000; ++i) {
      const float v = static_cast<float>(s * 10);
      window.Add(s * 15 * kMinute, {&v, 1}, 1, 0.001);
    }
  }
  const ColumnCounts c = window.Merge(59 * kMinute).columns[0];
  EXPECT_EQ(c.sample_seen, 4000);
  EXPECT_EQ(c.sample.size(), 200u);
  int from_each[4] = {0, 0, 0, 0};
  for (float v : c.sample) ++from_each[static_cast<int>(v) / 10];
  for (int count : from_each) EXPECT_EQ(count, 50);
}

}  // namespace
}  // namespace ferry::monitoring

namespace ferry::monitoring {
namespace {

// The grid lookup must put every value in the bin a binary search over the edges gives,
// on long tails, repeated values and values at the edges themselves.
TEST(LiveWindowTest, BinsAreTheOnesABinarySearchGives) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> tail(0, 2);
  std::uniform_int_distribution<int> small(0, 30);
  for (int shape = 0; shape < 2; ++shape) {
    std::vector<double> values;
    for (int i = 0; i < 5000; ++i) values.push_back(shape == 0 ? tail(rng) : small(rng) * 1.0);
    const FeatureReference ref = ReferenceFromValues("x", values, 10);
    ASSERT_TRUE(ref.numeric());
    WindowSpec spec;
    LiveWindow window(spec, {&ref}, {false}, 10, 0, 1);
    std::vector<uint64_t> expected(ref.edges.size() - 1, 0);
    std::vector<float> live;
    for (int i = 0; i < 20000; ++i) {
      live.push_back(static_cast<float>(i % 7 == 0 ? ref.edges[static_cast<size_t>(i) % ref.edges.size()]
                                                   : values[static_cast<size_t>(i) % values.size()] *
                                                         (0.5 + (i % 3) * 0.5)));
    }
    for (float x : live) {
      const double v = x;
      window.Add(1, {&x, 1}, 1, 0.001);
      if (v < ref.edges.front() || v > ref.edges.back()) continue;
      // The number of inner edges below v.
      const size_t bin = static_cast<size_t>(
          std::lower_bound(ref.edges.begin() + 1, ref.edges.end() - 1, v) - (ref.edges.begin() + 1));
      ++expected[bin];
    }
    EXPECT_EQ(window.Merge(2).columns[0].bins, expected) << "shape " << shape;
  }
}

}  // namespace
}  // namespace ferry::monitoring
