#include "core/clock.h"

#include <gtest/gtest.h>

namespace ferry::core {
namespace {

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock(1'000'000);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.NowMicros(), 3'000'000);
}

TEST(SimulatedClockTest, StartsWhereToldFlowsAndJumpsAhead) {
  constexpr int64_t kStart = 1'767'225'600'000'000;  // 2026-01-01
  SimulatedClock clock(kStart);
  const int64_t first = clock.NowMicros();
  EXPECT_GE(first, kStart);
  EXPECT_LT(first - kStart, 5'000'000);  // construction to here: far under 5 s
  clock.Advance(std::chrono::hours(24));
  const int64_t later = clock.NowMicros();
  EXPECT_GE(later - first, 86'400'000'000);
  EXPECT_LT(later - first, 86'405'000'000);
  EXPECT_GE(clock.NowMicros(), later);  // never backwards
}

TEST(ClockTest, FormatsRfc3339Utc) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(1'795'671'275'123'456), "2026-11-26T05:34:35.123456Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(SystemClockTest, IsCloseToTimeNow) {
  int64_t now = SystemClock::Shared()->NowMicros();
  EXPECT_GT(now, 1'700'000'000'000'000);
}

}  // namespace
}  // namespace ferry::core
