#include "alerts/exposition.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ferry::alerts {
namespace {

TEST(ExpositionTest, ReadsSamplesLabelsEscapesValuesAndTimestamps) {
  constexpr char kText[] =
      "# HELP ferry_inference_requests_total Inference requests.\n"
      "# TYPE ferry_inference_requests_total counter\n"
      "ferry_inference_requests_total{endpoint=\"fraud\",code=\"200\"} 1027\n"
      "ferry_inference_requests_total{endpoint=\"fraud\",code=\"500\",} 3 1700000000000\n"
      "\n"
      "# a comment\n"
      "odd{path=\"C:\\\\x\",quote=\"say \\\"hi\\\"\",nl=\"a\\nb\"} -1.5e-3\n"
      "  spaced\t{ a = \"1\" }   +Inf\n"
      "nan_metric NaN\n"
      "neg -Inf\n"
      "plain 42\n"
      "h_bucket{le=\"+Inf\"} 7\n";
  absl::StatusOr<std::vector<Sample>> samples = ParseExposition(kText, 100);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 8u);
  const Sample& first = (*samples)[0];
  EXPECT_EQ(first.labels, (Labels{{"__name__", "ferry_inference_requests_total"},
                                  {"endpoint", "fraud"},
                                  {"code", "200"}}));
  EXPECT_EQ(first.value, 1027);
  EXPECT_FALSE(first.timestamp_ms);
  EXPECT_EQ((*samples)[1].timestamp_ms, 1700000000000);
  const Sample& odd = (*samples)[2];
  EXPECT_EQ(odd.labels.at("path"), "C:\\x");
  EXPECT_EQ(odd.labels.at("quote"), "say \"hi\"");
  EXPECT_EQ(odd.labels.at("nl"), "a\nb");
  EXPECT_DOUBLE_EQ(odd.value, -1.5e-3);
  EXPECT_EQ((*samples)[3].labels.at("a"), "1");
  EXPECT_TRUE(std::isinf((*samples)[3].value) && (*samples)[3].value > 0);
  EXPECT_TRUE(std::isnan((*samples)[4].value));
  EXPECT_TRUE(std::isinf((*samples)[5].value) && (*samples)[5].value < 0);
  EXPECT_EQ((*samples)[7].labels.at("le"), "+Inf");
}

TEST(ExpositionTest, MalformedLinesAreRefusedWithTheirNumber) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  const Case cases[] = {
      {"ok 1\nbad{a=\"1\" 2\n", "line 2: expected , or } after a label"},
      {"m{a=1} 2\n", "line 1: expected a quoted label value"},
      {"m{a=\"x} 2\n", "unterminated label value"},
      {"m{a=\"\\t\"} 2\n", "unknown escape \\t"},
      {"m 1.2.3\n", "\"1.2.3\" is not a sample value"},
      {"m inf\n", "\"inf\" is not a sample value"},
      {"m\n", "\"\" is not a sample value"},
      {"m 1 12x\n", "is not a timestamp"},
      {"m 1 2 3\n", "unexpected text after the timestamp"},
      {"m{a=\"1\",a=\"2\"} 1\n", "label a appears twice"},
      {"m{a=\"1\"} 1\nm{a=\"1\"} 2\n", "line 2: series m{a=\"1\"} appears twice"},
      {"# TYPE m sideways\n", "unknown metric type"},
      {"# HELP\n", "# HELP without a metric name"},
      {"9lives 1\n", "expected a metric name"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Sample>> samples = ParseExposition(c.text, 100);
    ASSERT_FALSE(samples.ok()) << c.text;
    EXPECT_EQ(samples.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(samples.status().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << samples.status().message();
  }
}

TEST(ExpositionTest, MoreSeriesThanTheBoundIsResourceExhausted) {
  EXPECT_TRUE(ParseExposition("a 1\nb 2\n", 2).ok());
  EXPECT_EQ(ParseExposition("a 1\nb 2\nc 3\n", 2).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace ferry::alerts
