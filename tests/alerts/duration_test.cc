#include "alerts/duration.h"

#include <gtest/gtest.h>

namespace ferry::alerts {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ReadsPrometheusDurations) {
  const std::pair<const char*, int64_t> cases[] = {{"0", 0},
                                                   {"0s", 0},
                                                   {"90s", 90'000},
                                                   {"5m", 300'000},
                                                   {"1h30m", 5'400'000},
                                                   {"500ms", 500},
                                                   {"1m500ms", 60'500},
                                                   {"2d", 172'800'000},
                                                   {"1w", 604'800'000},
                                                   {"1y", 31'536'000'000}};
  for (const auto& [text, millis] : cases) {
    absl::StatusOr<milliseconds> parsed = ParseDuration(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->count(), millis) << text;
  }
}

TEST(DurationTest, RefusesWhatPrometheusRefuses) {
  for (const char* text : {"", "10", "10x", "m", "5m1h", "1h1h", "-5m", "1.5h", "5 m", "101y"}) {
    absl::StatusOr<milliseconds> parsed = ParseDuration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("is not a duration"), std::string::npos) << text;
  }
}

TEST(DurationTest, FormatsTheShortestTextThatReadsBack) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(60'500)), "1m500ms");
  EXPECT_EQ(FormatDuration(milliseconds(86'400'000)), "1d");
  for (int64_t millis : {1ll, 999ll, 61'000ll, 90'061'001ll, 31'536'000'000ll + 1}) {
    EXPECT_EQ(ParseDuration(FormatDuration(milliseconds(millis)))->count(), millis);
  }
}

}  // namespace
}  // namespace ferry::alerts
