#include "tracking/run_filter.h"

#include <gtest/gtest.h>

namespace ferry::tracking {
namespace {

TEST(RunFilterTest, ParsesClausesOfEveryKind) {
  auto filter = ParseFilter(
      "metrics.auc > 0.9 and params.max_depth = \"6\" AND tags.team LIKE 'fr%' and "
      "attributes.status = 'finished' and start_time >= 100 and metrics.`val loss` <= -1e-3");
  ASSERT_TRUE(filter.ok()) << filter.status();
  ASSERT_EQ(filter->clauses.size(), 6u);
  EXPECT_EQ(filter->clauses[0].entity.kind, EntityKind::kMetric);
  EXPECT_EQ(filter->clauses[0].entity.key, "auc");
  EXPECT_EQ(std::get<double>(filter->clauses[0].literal), 0.9);
  EXPECT_EQ(std::get<std::string>(filter->clauses[1].literal), "6");
  EXPECT_EQ(filter->clauses[2].op, Comparison::kLike);
  EXPECT_EQ(std::get<std::string>(filter->clauses[3].literal), "FINISHED");
  EXPECT_EQ(filter->clauses[4].entity.attribute, Attribute::kStartTime);
  EXPECT_EQ(std::get<int64_t>(filter->clauses[4].literal), 100);
  EXPECT_EQ(filter->clauses[5].entity.key, "val loss");
  EXPECT_EQ(std::get<double>(filter->clauses[5].literal), -1e-3);
  EXPECT_TRUE(ParseFilter("")->clauses.empty());
}

TEST(RunFilterTest, BadFiltersSayWhatIsWrong) {
  const struct {
    const char* filter;
    const char* contains;
  } cases[] = {
      {"metrics.auc > 0.9 or params.a = '1'", "OR is not supported"},
      {"params.max_depth = 6", "expected a quoted string"},
      {"metrics.auc > 'high'", "expected a number"},
      {"metrics.auc LIKE '0.%'", "LIKE compares strings"},
      {"params.lr > '0.1'", "strings compare with"},
      {"colour = 'red'", "unknown attribute \"colour\""},
      {"status = 'DONE'", "unknown status"},
      {"metrics.auc", "expected a comparison"},
      {"metrics.auc > 0.9 metrics.f1 > 0", "expected AND"},
      {"params.a = 'unterminated", "unterminated quote"},
      {"metrics.auc ; 1", "unexpected character"},
      {"start_time > 1.5", "takes an integer"},
      {"params.a;b = '1'", "unexpected character"},
  };
  for (const auto& c : cases) {
    auto filter = ParseFilter(c.filter);
    ASSERT_FALSE(filter.ok()) << c.filter;
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(filter.status().message().find(c.contains), std::string::npos)
        << c.filter << ": " << filter.status();
  }
}

TEST(RunFilterTest, ParsesOrders) {
  auto order = ParseOrder("metrics.auc DESC");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->entity.kind, EntityKind::kMetric);
  EXPECT_TRUE(order->descending);
  EXPECT_FALSE(ParseOrder("params.lr")->descending);
  auto fallback = ParseOrder("");
  EXPECT_EQ(fallback->entity.attribute, Attribute::kStartTime);
  EXPECT_TRUE(fallback->descending);
  EXPECT_FALSE(ParseOrder("metrics.auc sideways").ok());
  EXPECT_FALSE(ParseOrder("metrics.auc DESC, params.lr").ok());
}

}  // namespace
}  // namespace ferry::tracking
