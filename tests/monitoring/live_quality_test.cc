#include "monitoring/live_quality.h"

#include <gtest/gtest.h>

namespace ferry::monitoring {
namespace {

TEST(LiveQualityTest, BinaryClassifierGetsEveryMetricAndTheLabelDelay) {
  LabeledRows rows;
  rows.outputs = {0.9, 0.2, 0.7, 0.4};
  rows.labels = {1, 0, 0, 1};
  rows.created_at = {0, 0, 0, 0};
  rows.label_at = {1'000'000, 2'000'000, 3'000'000, 10'000'000};
  const LiveQuality q = ComputeLiveQuality("binary:logistic", rows);
  EXPECT_EQ(q.labeled, 4);
  EXPECT_DOUBLE_EQ(*q.metrics.at("accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(*q.metrics.at("precision"), 0.5);  // predicted 1: rows 0 and 2
  EXPECT_DOUBLE_EQ(*q.metrics.at("recall"), 0.5);     // labeled 1: rows 0 and 3
  EXPECT_DOUBLE_EQ(*q.metrics.at("auc"), 0.75);
  EXPECT_TRUE(q.metrics.at("logloss").has_value());
  EXPECT_DOUBLE_EQ(*q.label_delay_p50, 2);
  EXPECT_DOUBLE_EQ(*q.label_delay_max, 10);
}

TEST(LiveQualityTest, RegressionGetsErrorsAndNoLabelsSaySo) {
  LabeledRows rows;
  rows.outputs = {1, 2};
  rows.labels = {2, 4};
  rows.created_at = {0, 0};
  rows.label_at = {0, 0};
  const LiveQuality q = ComputeLiveQuality("reg:squarederror", rows);
  EXPECT_DOUBLE_EQ(*q.metrics.at("mae"), 1.5);
  EXPECT_EQ(q.metrics.count("accuracy"), 0u);
  const LiveQuality none = ComputeLiveQuality("reg:squarederror", LabeledRows{});
  EXPECT_EQ(none.labeled, 0);
  EXPECT_TRUE(none.metrics.empty());
  EXPECT_EQ(none.note, "no labeled predictions in the window");
}

}  // namespace
}  // namespace ferry::monitoring
