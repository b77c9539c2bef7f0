#include "table/value_parse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

namespace ferry::table {
namespace {

TEST(ValueParseTest, Int64AcceptsOnlyPlainDecimalIntegersInRange) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-17"), -17);
  EXPECT_EQ(ParseInt64("007"), 7);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1.0", "1e3", "9223372036854775808",
                          "-9223372036854775809", "00000000000000000001", "0x10", "1_000"}) {
    EXPECT_EQ(ParseInt64(bad), std::nullopt) << bad;
  }
}

TEST(ValueParseTest, Float64AcceptsDecimalExponentAndSpecialForms) {
  const struct {
    const char* text;
    double value;
  } cases[] = {{"1.5", 1.5},       {"-0.25", -0.25},    {"10", 10},         {"1e3", 1000},
               {"1.25E-2", 0.0125}, {".5", 0.5},         {"2.", 2},          {"0.1", 0.1},
               {"123456789012345", 123456789012345.0},   {"1.7976931348623157e308", 1.7976931348623157e308},
               {"0.30000000000000004", 0.30000000000000004}, {"3.141592653589793238", 3.141592653589793}};
  for (const auto& c : cases) {
    const auto v = ParseFloat64(c.text);
    ASSERT_TRUE(v.has_value()) << c.text;
    EXPECT_EQ(*v, c.value) << c.text;
  }
  EXPECT_TRUE(std::isnan(*ParseFloat64("nan")));
  EXPECT_TRUE(std::isinf(*ParseFloat64("-Infinity")));
  EXPECT_TRUE(std::signbit(*ParseFloat64("-0.0")));
  for (const char* bad : {"", "-", ".", "1.2.3", "1e", "+1", " 1", "1,5", "1e400", "abc", "0x1p3"}) {
    EXPECT_EQ(ParseFloat64(bad), std::nullopt) << bad;
  }
}

TEST(ValueParseTest, FastDecimalPathRoundsLikeFromChars) {
  // Every 1-6 digit decimal with up to 6 fraction digits in a sample: the fast path
  // must agree with the correctly rounded conversion bit for bit.
  for (int i = 0; i < 200000; i += 7) {
    for (int decimals = 0; decimals <= 6; ++decimals) {
      std::string text = std::to_string(i);
      if (decimals > 0) {
        while (static_cast<int>(text.size()) <= decimals) text.insert(0, "0");
        text.insert(text.size() - static_cast<size_t>(decimals), ".");
      }
      ASSERT_EQ(ParseFloat64(text), std::strtod(text.c_str(), nullptr)) << text;
    }
  }
}

TEST(ValueParseTest, BoolIsTrueOrFalseInAnyCaseOnly) {
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("TRUE"), true);
  EXPECT_EQ(ParseBool("False"), false);
  for (const char* bad : {"0", "1", "yes", "t", "truee", "fals", " true", "TRUE "}) {
    EXPECT_EQ(ParseBool(bad), std::nullopt) << bad;
  }
}

TEST(ValueParseTest, TimestampsParseToUtcMicroseconds) {
  constexpr int64_t kNewYear2026 = 1767225600LL * 1'000'000;  // 2026-01-01T00:00:00Z
  const struct {
    const char* text;
    int64_t micros;
  } cases[] = {
      {"2026-01-01", kNewYear2026},
      {"2026-01-01T00:00:09Z", kNewYear2026 + 9'000'000},
      {"2026-01-01t00:00:09z", kNewYear2026 + 9'000'000},
      {"2026-01-01 00:00:09", kNewYear2026 + 9'000'000},
      {"2026-01-01T00:00", kNewYear2026},
      {"2026-01-01T00:00:09.5Z", kNewYear2026 + 9'500'000},
      {"2026-01-01T00:00:09.123456789Z", kNewYear2026 + 9'123'456},
      {"2026-01-01T02:00:00+02:00", kNewYear2026},
      {"2026-01-01T02:00:00+0200", kNewYear2026},
      {"2026-01-01T02:00:00+02", kNewYear2026},
      {"2025-12-31T22:30:00-01:30", kNewYear2026},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1'000'000},
      {"2000-02-29", 951782400LL * 1'000'000},
      {"2026-01-01T23:59:60Z", kNewYear2026 + 86'400'000'000},  // leap second
  };
  for (const auto& c : cases) EXPECT_EQ(ParseTimestamp(c.text), c.micros) << c.text;
  for (const char* bad :
       {"2026-01-1", "2026-1-01", "2026/01/01", "2026-00-01", "2026-13-01", "2026-02-29", "1900-02-29",
        "2026-04-31", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z",
        "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00Q",
        "2026-01-01T00:00:00+2", "2026-01-01T00:00:00+02:0", "2026-01-01X00:00:00", "2026-01-01T0:00",
        "20260101", "1767225600", "2026-01-01T00:00:00Z "}) {
    EXPECT_EQ(ParseTimestamp(bad), std::nullopt) << bad;
  }
}

// The clock "HH:MM:SS" is checked as one 8-byte word: every byte in every position, good
// or bad (digits at their limits, the separators' neighbours, bytes that carry when
// added to), must be judged as reading it character by character would.
TEST(ValueParseTest, ClockAgreesWithACharacterByCharacterReading) {
  constexpr int64_t kNewYear2026 = 1767225600LL * 1'000'000;
  const auto reference = [](const std::string& clock) -> std::optional<int64_t> {
    const auto digit = [&](size_t i) { return clock[i] >= '0' && clock[i] <= '9'; };
    for (size_t i : {0, 1, 3, 4, 6, 7}) {
      if (!digit(i)) return std::nullopt;
    }
    if (clock[2] != ':' || clock[5] != ':') return std::nullopt;
    const auto two = [&](size_t i) { return (clock[i] - '0') * 10 + (clock[i + 1] - '0'); };
    if (two(0) > 23 || two(3) > 59 || two(6) > 60) return std::nullopt;
    return kNewYear2026 + (two(0) * 3600 + two(3) * 60 + two(6)) * int64_t{1'000'000};
  };
  const std::string bytes = std::string("0123456789:;/ .Za") + "\x2f\x3a\x3f\x7f\x80\xfa\xff";
  for (const std::string base : {"00:00:00", "23:59:60", "19:09:59", "09:50:09"}) {
    for (size_t at = 0; at < base.size(); ++at) {
      for (char c : bytes) {
        std::string clock = base;
        clock[at] = c;
        const std::string text = "2026-01-01T" + clock + "Z";
        EXPECT_EQ(ParseTimestamp(text), reference(clock)) << text;
        EXPECT_EQ(ParseTimestamp("2026-01-01 " + clock + ".25"),
                  reference(clock) ? std::optional<int64_t>(*reference(clock) + 250'000)
                                   : std::nullopt)
            << clock;
      }
    }
  }
}

TEST(ValueParseTest, TimeLikeNames) {
  for (const char* yes : {"ts", "TIME", "epoch", "timestamp", "event_ts", "created_at", "Updated_At",
                          "event_time", "start_epoch", "eventtimestamp", "EVENT_TIMESTAMP"}) {
    EXPECT_TRUE(IsTimeLikeName(yes)) << yes;
  }
  for (const char* no : {"id", "amount", "times", "time_zone", "ts_us", "status", "at", "format"}) {
    EXPECT_FALSE(IsTimeLikeName(no)) << no;
  }
}

TEST(ValueParseTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("", 0));
  for (std::string ok : {"plain ascii text that is longer than eight", "caf\xc3\xa9", "\xe6\x97\xa5",
                         "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xef\xbb\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(ok.data(), ok.size())) << ok;
  }
  for (std::string bad : {"\xff", "\x80", "\xc0\xaf", "\xc2", "\xe0\x80\x80", "\xed\xa0\x80",
                          "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "abcdefgh\xc3"}) {
    EXPECT_FALSE(IsValidUtf8(bad.data(), bad.size()));
  }
  EXPECT_TRUE(IsAscii("0123456789abcdef!", 17));
  EXPECT_FALSE(IsAscii("0123456789abcdef\xc3\xa9", 18));
}

}  // namespace
}  // namespace ferry::table
