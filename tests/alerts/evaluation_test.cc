#include "alerts/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "alerts/annotation_template.h"

namespace ferry::alerts {
namespace {

using std::chrono::seconds;

std::vector<Sample> Parse(const std::string& text) {
  absl::StatusOr<std::vector<Sample>> samples = ParseExposition(text, 1000);
  EXPECT_TRUE(samples.ok()) << samples.status();
  return samples.ok() ? *samples : std::vector<Sample>();
}

// The expression's series at `now_ms` as "labels=value" lines, sorted.
std::vector<std::string> Eval(const std::string& expression, const std::vector<Sample>& samples,
                              const SeriesHistory& history = {}, int64_t now_ms = 0) {
  absl::StatusOr<AlertExpression> parsed = ParseAlertExpression(expression);
  EXPECT_TRUE(parsed.ok()) << expression << ": " << parsed.status();
  if (!parsed.ok()) return {};
  absl::StatusOr<InstantVector> result =
      EvaluateAlertExpression(*parsed, EvaluationInput{samples, history, now_ms});
  EXPECT_TRUE(result.ok()) << expression << ": " << result.status();
  std::vector<std::string> out;
  for (const SeriesValue& s : result.value_or(InstantVector())) {
    out.push_back(FormatLabels(s.labels) + "=" + FormatGoFloat(s.value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

constexpr char kSeries[] =
    "m{a=\"1\",b=\"x\"} 1\n"
    "m{a=\"1\",b=\"y\"} 2\n"
    "m{a=\"2\",b=\"x\"} 4\n"
    "other{a=\"1\",b=\"x\"} 100\n";

TEST(EvaluationTest, SelectorsAndTheComparisonFilterKeepingTheLeftValue) {
  const std::vector<Sample> samples = Parse(kSeries);
  EXPECT_EQ(Eval("m{b=\"x\"}", samples),
            (std::vector<std::string>{"m{a=\"1\", b=\"x\"}=1", "m{a=\"2\", b=\"x\"}=4"}));
  EXPECT_EQ(Eval("m > 1", samples),
            (std::vector<std::string>{"m{a=\"1\", b=\"y\"}=2", "m{a=\"2\", b=\"x\"}=4"}));
  EXPECT_EQ(Eval("m{a=~\"1|3\"} != 1", samples),
            (std::vector<std::string>{"m{a=\"1\", b=\"y\"}=2"}));
  EXPECT_EQ(Eval("m * 2 >= 8", samples), (std::vector<std::string>{"{a=\"2\", b=\"x\"}=8"}))
      << "arithmetic drops the metric name";
  EXPECT_TRUE(Eval("missing > 0", samples).empty());
}

TEST(EvaluationTest, AggregationsByWithoutAndWhole) {
  const std::vector<Sample> samples = Parse(kSeries);
  EXPECT_EQ(Eval("sum by (a) (m)", samples),
            (std::vector<std::string>{"{a=\"1\"}=3", "{a=\"2\"}=4"}));
  EXPECT_EQ(Eval("sum(m) by (a, nope)", samples),
            (std::vector<std::string>{"{a=\"1\"}=3", "{a=\"2\"}=4"}));
  EXPECT_EQ(Eval("max without (a) (m)", samples),
            (std::vector<std::string>{"{b=\"x\"}=4", "{b=\"y\"}=2"}));
  EXPECT_EQ(Eval("min(m)", samples), (std::vector<std::string>{"{}=1"}));
  EXPECT_EQ(Eval("avg(m)", samples), (std::vector<std::string>{"{}=2.3333333333333335"}));
  EXPECT_EQ(Eval("count by (b) (m)", samples),
            (std::vector<std::string>{"{b=\"x\"}=2", "{b=\"y\"}=1"}));
  EXPECT_EQ(Eval("count(m) > 2", samples), (std::vector<std::string>{"{}=3"}));
  // As Prometheus, NaN loses to numbers in min and max.
  const std::vector<Sample> with_nan = Parse("n{a=\"1\"} NaN\nn{a=\"2\"} 3\nn{a=\"3\"} NaN\n");
  EXPECT_EQ(Eval("max(n)", with_nan), (std::vector<std::string>{"{}=3"}));
  EXPECT_EQ(Eval("min(n)", with_nan), (std::vector<std::string>{"{}=3"}));
  EXPECT_EQ(Eval("sum(n)", with_nan), (std::vector<std::string>{"{}=NaN"}));
}

TEST(EvaluationTest, VectorArithmeticMatchesIdenticalLabelSetsOneToOne) {
  const std::vector<Sample> samples =
      Parse("a{x=\"1\"} 10\na{x=\"2\"} 20\nb{x=\"1\"} 2\nb{x=\"3\"} 5\nb{x=\"2\",y=\"z\"} 4\n");
  EXPECT_EQ(Eval("a / b", samples), (std::vector<std::string>{"{x=\"1\"}=5"}));
  EXPECT_EQ(Eval("a - a", samples), (std::vector<std::string>{"{x=\"1\"}=0", "{x=\"2\"}=0"}));
  EXPECT_EQ(Eval("-a + 1", samples), (std::vector<std::string>{"{x=\"1\"}=-9", "{x=\"2\"}=-19"}));
  EXPECT_EQ(Eval("2 / b{x=\"3\"}", samples), (std::vector<std::string>{"{x=\"3\"}=0.4"}));
  EXPECT_EQ(Eval("a / (b - b)", samples), (std::vector<std::string>{"{x=\"1\"}=+Inf"}));
  // Two series with one label set (the metric name aside) on a side: an error, as in PromQL.
  absl::StatusOr<AlertExpression> duplicate = ParseAlertExpression("{__name__=~\"a|b\"} * a");
  ASSERT_TRUE(duplicate.ok());
  SeriesHistory history;
  absl::StatusOr<InstantVector> result =
      EvaluateAlertExpression(*duplicate, EvaluationInput{samples, history, 0});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("found duplicate series for the match group {x=\"1\"}"
                                           " on the left-hand side"),
            std::string::npos)
      << result.status();
}

// Records `values` of counter c{job="j"} every 15 s from `start_s` on, into `history`.
void Feed(SeriesHistory& history, AlertExpression& expression, int64_t start_s,
          std::vector<double> values, seconds retention = seconds(600)) {
  int64_t t = start_s;
  for (double v : values) {
    history.Record(Parse("c{job=\"j\"} " + FormatGoFloat(v) + "\n"), expression.range_selectors,
                   t * 1000, retention);
    t += 15;
  }
}

double RangeValue(const std::string& text, std::vector<double> values, int64_t start_s,
                  int64_t now_s) {
  absl::StatusOr<AlertExpression> expression = ParseAlertExpression(text);
  EXPECT_TRUE(expression.ok()) << expression.status();
  SeriesHistory history;
  Feed(history, *expression, start_s, std::move(values));
  std::vector<Sample> none;
  absl::StatusOr<InstantVector> result =
      EvaluateAlertExpression(*expression, EvaluationInput{none, history, now_s * 1000});
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok() || result->size() != 1) return std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ((*result)[0].labels, (Labels{{"job", "j"}})) << "the metric name is dropped";
  return (*result)[0].value;
}

TEST(EvaluationTest, RateAndIncreaseFollowPrometheusExtrapolation) {
  // Samples on both edges of the window: no extrapolation.
  EXPECT_DOUBLE_EQ(RangeValue("rate(c[1m])", {0, 15, 30, 45, 60}, 0, 60), 1.0);
  EXPECT_DOUBLE_EQ(RangeValue("increase(c[1m])", {0, 15, 30, 45, 60}, 0, 60), 60.0);
  // Samples 15 s and 10 s inside the edges, less than 1.1 average intervals: extrapolated
  // to the edges.
  EXPECT_DOUBLE_EQ(RangeValue("increase(c[70s])", {100, 115, 130, 145}, 10, 65), 70.0);
  // A gap at the start of more than 1.1 intervals: half an interval only.
  EXPECT_DOUBLE_EQ(RangeValue("increase(c[1m])", {100, 110, 120}, 30, 70), 20.0 * 47.5 / 30);
  // Never extrapolated below zero: the counter (10 at the first sample, rising 20 in 30 s)
  // started 15 s before it, so the start is extrapolated 15 s, not to the window's edge.
  EXPECT_DOUBLE_EQ(RangeValue("increase(c[2m])", {10, 20, 30}, 30, 75), 20.0 * 60 / 30);
}

TEST(EvaluationTest, CounterResetsAddTheValueBeforeTheReset) {
  // 10, 20, then a restart: 5, 15, 25. As Prometheus: last - first, plus the value before
  // each drop: 25 - 10 + 20.
  EXPECT_DOUBLE_EQ(RangeValue("increase(c[1m])", {10, 20, 5, 15, 25}, 0, 60), 35.0);
  EXPECT_DOUBLE_EQ(RangeValue("rate(c[1m])", {10, 20, 5, 15, 25}, 0, 60), 35.0 / 60);
}

TEST(EvaluationTest, ARangeWithFewerThanTwoSamplesGivesNothing) {
  absl::StatusOr<AlertExpression> expression = ParseAlertExpression("rate(c[1m])");
  ASSERT_TRUE(expression.ok());
  SeriesHistory history;
  Feed(history, *expression, 0, {1, 2, 3});
  std::vector<Sample> none;
  // Samples at 0, 15 and 30 s: none is within [40 s, 100 s].
  EXPECT_TRUE(
      EvaluateAlertExpression(*expression, EvaluationInput{none, history, 100'000})->empty());
  EXPECT_EQ(EvaluateAlertExpression(*expression, EvaluationInput{none, history, 30'000})->size(),
            1u);
}

TEST(EvaluationTest, HistoryKeepsOnlyWhatRangesReadForAsLongAsTheyNeed) {
  absl::StatusOr<AlertExpression> expression = ParseAlertExpression("rate(c{job=\"j\"}[30s])");
  ASSERT_TRUE(expression.ok());
  SeriesHistory history;
  for (int64_t t = 0; t <= 120; t += 15) {
    history.Record(Parse("c{job=\"j\"} 1\nc{job=\"k\"} 1\nd 1\n"), expression->range_selectors,
                   t * 1000, std::chrono::seconds(30));
  }
  ASSERT_EQ(history.series().size(), 1u) << "only c{job=\"j\"} is read by a range";
  const auto& points = history.series().begin()->second;
  ASSERT_EQ(points.size(), 3u);  // 90, 105, 120
  EXPECT_EQ(points.front().time_ms, 90'000);
  history.Record({}, expression->range_selectors, 1'000'000, std::chrono::seconds(30));
  EXPECT_TRUE(history.series().empty()) << "series without samples left are forgotten";
}

}  // namespace
}  // namespace ferry::alerts
