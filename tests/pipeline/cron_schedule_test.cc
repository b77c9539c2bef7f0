#include <gtest/gtest.h>

#include "core/clock.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::pipeline {
namespace {

// 2026-11-26T14:07:30Z (a Thursday).
constexpr int64_t kThursday = 1'795'702'050'000'000;

std::string NextAfter(std::string_view cron, int64_t after = kThursday) {
  absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(cron);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  std::optional<int64_t> next = schedule->Next(after);
  return next ? core::FormatTimestamp(*next) : "never";
}

TEST(CronScheduleTest, NextFiringTimesFollowCronRules) {
  EXPECT_EQ(core::FormatTimestamp(kThursday), "2026-11-26T14:07:30.000000Z");
  EXPECT_EQ(NextAfter("* * * * *"), "2026-11-26T14:08:00.000000Z");
  EXPECT_EQ(NextAfter("0 3 * * *"), "2026-11-27T03:00:00.000000Z");
  EXPECT_EQ(NextAfter("*/15 * * * *"), "2026-11-26T14:15:00.000000Z");
  EXPECT_EQ(NextAfter("30 9-17/4 * * 1-5"), "2026-11-26T17:30:00.000000Z");
  EXPECT_EQ(NextAfter("0 0 * * 0"), "2026-11-29T00:00:00.000000Z");  // Sunday
  EXPECT_EQ(NextAfter("0 0 * * 7"), "2026-11-29T00:00:00.000000Z");  // 7 is Sunday too
  EXPECT_EQ(NextAfter("0 0 1 1 *"), "2027-01-01T00:00:00.000000Z");
  EXPECT_EQ(NextAfter("0 12 29 2 *"), "2028-02-29T12:00:00.000000Z");
  // Both day fields restricted: either matches (the 1st, or a Monday).
  EXPECT_EQ(NextAfter("0 0 1 * 1"), "2026-11-30T00:00:00.000000Z");
  EXPECT_EQ(NextAfter("5,10 14 * * *"), "2026-11-26T14:10:00.000000Z");
  // Strictly after: a time on a matching minute gives the next one.
  EXPECT_EQ(NextAfter("* * * * *", 1'795'702'080'000'000), "2026-11-26T14:09:00.000000Z");
  EXPECT_EQ(NextAfter("0 0 30 2 *"), "never");
}

TEST(CronScheduleTest, MalformedTextNamesTheField) {
  struct Case {
    const char* cron;
    const char* message;
  };
  for (const Case& c :
       {Case{"* * * *", "expected 5 fields"}, Case{"60 * * * *", "minute: 60 is outside 0..59"},
        Case{"* 24 * * *", "hour: 24"}, Case{"* * 0 * *", "day of month: 0"},
        Case{"* * * 13 *", "month: 13"}, Case{"* * * * 8", "day of week: 8"},
        Case{"5-1 * * * *", "runs backwards"}, Case{"*/0 * * * *", "minute: 0 is outside 1..59"},
        Case{"a * * * *", "\"a\" is not a number"}}) {
    absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(c.cron);
    ASSERT_FALSE(schedule.ok()) << c.cron;
    EXPECT_NE(schedule.status().message().find(c.message), std::string::npos)
        << c.cron << " -> " << schedule.status().message();
  }
}

}  // namespace
}  // namespace ferry::pipeline
