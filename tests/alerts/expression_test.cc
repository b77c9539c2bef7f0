#include "alerts/expression.h"

#include <gtest/gtest.h>

namespace ferry::alerts {
namespace {

TEST(ExpressionTest, ParsesTheSubset) {
  const char* valid[] = {
      "up",
      "ferry_endpoint_ready == 0",
      "ferry_endpoint_ready{endpoint=\"fraud\"} < 1",
      "{__name__=\"up\", job!=\"x\"}",
      "max by (endpoint) (ferry_feature_drift_detected{endpoint=\"fraud\"}) > 0",
      "sum(rate(ferry_inference_requests_total{code=~\"5..\"}[5m])) by (endpoint)"
      " / sum by (endpoint) (rate(ferry_inference_requests_total[5m])) > 0.05",
      "increase(ferry_rollout_events_total{type=\"rolled_back\"}[1h]) >= 1",
      "count without (code) (ferry_inference_requests_total) != 3",
      "avg(up) * 100 <= 50",
      "-up + 2 * (3 - up) / 4 > -1",
      "sum by () (up)",
      "sum by (a,) (up)",
      "min(up{a=~'x|y', b!~`z.*`}) > 1e-3",
      "up > Inf",
      "sum(up) by (a) - sum(up) by (a) > -0x10",
      "rate(up[1h30m]) > 0",
      "up\n  > 0",
      "sum(up)",
  };
  for (const char* text : valid) {
    absl::StatusOr<AlertExpression> parsed = ParseAlertExpression(text);
    EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status();
  }
}

TEST(ExpressionTest, KeepsTheTopLevelComparisonAndTheRanges) {
  absl::StatusOr<AlertExpression> parsed =
      ParseAlertExpression("sum(rate(a[5m])) / sum(increase(b{x=\"1\"}[1h])) >= -2 * 3");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->comparison);
  EXPECT_EQ(parsed->comparison->op, CompareOp::kGreaterEqual);
  EXPECT_EQ(parsed->comparison->threshold, -6);
  EXPECT_EQ(parsed->range_selectors.size(), 2u);
  EXPECT_EQ(parsed->longest_range, std::chrono::hours(1));
  EXPECT_FALSE(ParseAlertExpression("up")->comparison);
}

TEST(ExpressionTest, SelectorsMatchAsPrometheusDoes) {
  absl::StatusOr<AlertExpression> parsed =
      ParseAlertExpression("m{a=~\"fr.*\", b!=\"x\", c!~\"\", d=\"\"}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto& selector = std::get<VectorSelector>(parsed->expr->node);
  EXPECT_TRUE(selector.Matches({{"__name__", "m"}, {"a", "fraud"}, {"c", "1"}}));
  EXPECT_FALSE(selector.Matches({{"__name__", "m"}, {"a", "xfraud"}, {"c", "1"}}))
      << "regexes are anchored at the start";
  EXPECT_FALSE(selector.Matches({{"__name__", "m"}, {"a", "fraud"}, {"c", "1"}, {"d", "1"}}))
      << "d=\"\" means d is absent or empty";
  EXPECT_FALSE(selector.Matches({{"__name__", "m"}, {"a", "fraud"}})) << "c!~\"\" needs c";
  EXPECT_FALSE(selector.Matches({{"__name__", "m"}, {"a", "fraud"}, {"b", "x"}, {"c", "1"}}));
  EXPECT_FALSE(selector.Matches({{"__name__", "n"}, {"a", "fraud"}, {"c", "1"}}));
  absl::StatusOr<AlertExpression> tail = ParseAlertExpression("m{a=~\"ud\"}");
  EXPECT_FALSE(
      std::get<VectorSelector>(tail->expr->node).Matches({{"__name__", "m"}, {"a", "fraud"}}))
      << "and at the end";
}

TEST(ExpressionTest, ErrorsNameTheColumnAndWhatIsWrong) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"up >", "column 5: expected a number, a selector, a function or \"(\", got the end"},
      {"sum(up", "column 7: expected \")\", got the end"},
      {"up{a=\"1\"", "column 9: expected \",\" or \"}\", got the end"},
      {"up{a=1}", "column 6: expected a quoted label value, got \"1\""},
      {"up{a~\"1\"}", "column 5: unexpected character \"~\""},
      {"histogram_quantile(0.9, x) > 1",
       "column 1: function histogram_quantile() is not"
       " supported (supported: rate, increase)"},
      {"topk(3, up)", "column 1: aggregation topk is not supported"},
      {"up % 2", "column 4: operator % is not supported (supported: + - * /)"},
      {"up and down", "column 4: the set operator \"and\" is not supported"},
      {"a + on(x) b", "column 5: \"on\" is not supported: vectors are matched one-to-one"},
      {"up > bool 1", "column 6: the bool modifier is not supported"},
      {"(up > 1) * 2", "column 5: a comparison may only stand at the top level"},
      {"up > 1 > 2", "column 8: only one comparison is allowed, at the top level"},
      {"up > down", "column 6: the right side of > must be a number (EXPR OP NUMBER)"},
      {"1 > 0", "column 3: the left side of the comparison selects no series"},
      {"2 * 3", "column 1: an alert expression must select series"},
      {"up[5m] > 0", "column 3: a range selector needs rate() or increase() around it"},
      {"rate(up) > 0", "column 8: rate() takes a range selector, e.g. rate("},
      {"rate(up[5x]) > 0", "column 9: range \"5x\" is not a duration"},
      {"rate(up[0s]) > 0", "column 9: a range must be longer than 0s"},
      {"rate(up[5m:1m]) > 0", "column 11: subqueries are not supported"},
      {"rate(up[5m] offset 1m)", "column 13: the offset modifier is not supported"},
      {"up offset 5m", "column 4: the offset modifier is not supported"},
      {"{a=~\".*\"}",
       "column 1: a selector needs at least one matcher that does not match the"
       " empty string"},
      {"up{a=~\"(\"}", "column 7: bad regex: missing ): ("},
      {"up{a=\"\\d\"}", "column 7: unknown escape \\d in a string"},
      {"up{a=\"x}", "column 6: unterminated string"},
      {"up{__name__=\"x\"}", "column 4: the metric name is given twice"},
      {"5m > 1", "column 1: \"5m\" is not a number (durations belong in a range selector's"},
      {"sum(1)", "column 5: an aggregation needs series, not a number"},
      {"sum(up, down)", "column 7: sum, min, max, avg and count take one argument"},
      {"sum by (a) without (b) (up)", "column 12: expected \"(\", got \"without\""},
      {"up @ 100", "column 4: the @ modifier is not supported"},
      {"\"text\" > 1", "column 1: a string may only be a label matcher's value"},
      {"up\n  > down", "line 2, column 5: the right side of > must be a number"},
      {"up # note", "column 4: comments are not supported"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AlertExpression> parsed = ParseAlertExpression(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(parsed.status().message().find(c.message), std::string::npos)
        << c.text << "\n  got: " << parsed.status().message() << "\n  want: " << c.message;
  }
}

TEST(ExpressionTest, LengthAndNestingAreBounded) {
  EXPECT_NE(ParseAlertExpression(std::string(kMaxExpressionBytes + 1, 'a'))
                .status()
                .message()
                .find("at most 4096"),
            std::string::npos);
  std::string deep = std::string(100, '(') + "up" + std::string(100, ')');
  EXPECT_NE(ParseAlertExpression(deep).status().message().find("nests too deeply"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::alerts
