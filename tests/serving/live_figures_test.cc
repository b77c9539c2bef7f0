#include "serving/live_figures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ferry::serving {
namespace {

// A uniform sample of `count` scores all equal to `value`, as LiveFigures keeps it.
std::vector<double> SampleOf(double value, int64_t count) {
  return std::vector<double>(
      static_cast<size_t>(std::min<int64_t>(count, FiguresWindow::kMaxScores)), value);
}

TEST(MergeScoreSamplesTest, SamplesThatFitAreKeptWhole) {
  std::mt19937_64 rng(1);
  std::vector<double> merged = MergeScoreSamples({1, 2, 3}, 3, {4, 5}, 2, 10, rng);
  std::sort(merged.begin(), merged.end());
  EXPECT_EQ(merged, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(MergeScoreSamples({}, 0, {}, 0, 10, rng), std::vector<double>{});
  EXPECT_EQ(MergeScoreSamples({}, 0, {7}, 1, 10, rng), std::vector<double>{7});
}

TEST(MergeScoreSamplesTest, EachSideCountsByWhatItSawNotBySampleSize) {
  // 10,000 scores of 0 against 30,000 of 1, both sampled to the bound: about three
  // quarters of the merged sample are ones (hypergeometric sd ~ 28 of 4096).
  std::mt19937_64 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::vector<double> merged = MergeScoreSamples(SampleOf(0, 10'000), 10'000, SampleOf(1, 30'000),
                                                   30'000, FiguresWindow::kMaxScores, rng);
    ASSERT_EQ(merged.size(), FiguresWindow::kMaxScores);
    const double ones = std::accumulate(merged.begin(), merged.end(), 0.0);
    EXPECT_NEAR(ones / static_cast<double>(merged.size()), 0.75, 0.035) << round;
  }
  // A side that saw little but kept all of it is not over-weighted.
  std::vector<double> merged = MergeScoreSamples(SampleOf(0, 100), 100, SampleOf(1, 100'000),
                                                 100'000, FiguresWindow::kMaxScores, rng);
  const double zeros = static_cast<double>(std::count(merged.begin(), merged.end(), 0.0));
  EXPECT_LT(zeros, 4 + 6 * std::sqrt(4.0));  // expected ~4.1
}

TEST(MergeScoreSamplesTest, MergingFlushAfterFlushStaysUniform) {
  // A server's row takes one flush after another (100 scores each, their flush number).
  // Early and late flushes end up equally represented, as in one reservoir of everything.
  std::mt19937_64 rng(11);
  FiguresWindow row;
  for (int flush = 0; flush < 200; ++flush) {
    FiguresWindow window;
    window.requests = 100;
    window.scores.assign(100, flush);
    window.scores_seen = 100;
    ASSERT_TRUE(MergeWindow(row, std::move(window), rng).ok());
  }
  EXPECT_EQ(row.requests, 20'000);
  EXPECT_EQ(row.scores_seen, 20'000);
  ASSERT_EQ(row.scores.size(), FiguresWindow::kMaxScores);
  const double early = static_cast<double>(
      std::count_if(row.scores.begin(), row.scores.end(), [](double f) { return f < 100; }));
  // Half expected; sd ~ 29 of 4096.
  EXPECT_NEAR(early / static_cast<double>(row.scores.size()), 0.5, 0.035);
}

TEST(LiveFiguresTest, ARestoredWindowCountsInTheNextTake) {
  LiveFigures figures;
  const float score[] = {0.25f};
  for (int i = 0; i < 3; ++i) figures.Record(0.01, score, 1, false);
  FiguresWindow taken = figures.Take();
  figures.Record(0.02, {}, 1, true);
  figures.Restore(std::move(taken));
  FiguresWindow window = figures.Take();
  EXPECT_EQ(window.requests, 4);
  EXPECT_EQ(window.errors, 1);
  EXPECT_EQ(window.latency.count(), 4u);
  EXPECT_EQ(window.scores, (std::vector<double>{0.25, 0.25, 0.25}));
  EXPECT_EQ(window.scores_seen, 3);
  EXPECT_TRUE(figures.Take().empty());
}

}  // namespace
}  // namespace ferry::serving
