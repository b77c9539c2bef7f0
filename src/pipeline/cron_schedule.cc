// CronSchedule (pipeline_spec.h): five-field cron text parsed into bit sets, and the next
// matching minute found day by day, then hour by hour, then minute by minute.
//
// Hand-written: Debian packages no C++ cron parser, and the grammar is small.

#include <charconv>
#include <chrono>

#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

struct Field {
  const char* name;
  int min;
  int max;
};
constexpr Field kFields[] = {{"minute", 0, 59},
                             {"hour", 0, 23},
                             {"day of month", 1, 31},
                             {"month", 1, 12},
                             {"day of week", 0, 7}};

absl::StatusOr<int> Number(std::string_view text, const Field& field) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(Cat(field.name, ": \"", text, "\" is not a number"));
  }
  if (value < field.min || value > field.max) {
    return absl::InvalidArgumentError(
        Cat(field.name, ": ", value, " is outside ", field.min, "..", field.max));
  }
  return value;
}

// Bits of one field: `*`, `a`, `a-b`, `*/n`, `a-b/n`, comma lists.
absl::StatusOr<uint64_t> ParseField(std::string_view text, const Field& field) {
  uint64_t bits = 0;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      ASSIGN_OR_RETURN(step, Number(item.substr(slash + 1), Field{field.name, 1, field.max}));
      item = item.substr(0, slash);
    }
    int lo = field.min, hi = field.max;
    if (item != "*") {
      const size_t dash = item.find('-');
      ASSIGN_OR_RETURN(lo, Number(item.substr(0, dash), field));
      hi = lo;
      if (dash != std::string_view::npos) {
        ASSIGN_OR_RETURN(hi, Number(item.substr(dash + 1), field));
      }
      if (hi < lo) {
        return absl::InvalidArgumentError(Cat(field.name, ": range \"", item, "\" runs backwards"));
      }
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return bits;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(
        Cat("\"", text, "\": expected 5 fields (minute hour day-of-month month day-of-week), got ",
            fields.size()));
  }
  CronSchedule s;
  std::array<uint64_t, 5> bits{};
  for (size_t f = 0; f < 5; ++f) {
    absl::StatusOr<uint64_t> parsed = ParseField(fields[f], kFields[f]);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          Cat("\"", text, "\": ", core::View(parsed.status().message())));
    }
    bits[f] = *parsed;
  }
  s.minutes_ = bits[0];
  s.hours_ = static_cast<uint32_t>(bits[1]);
  s.days_ = static_cast<uint32_t>(bits[2]);
  s.months_ = static_cast<uint16_t>(bits[3]);
  // Day of week 7 is Sunday, like 0.
  s.weekdays_ = static_cast<uint8_t>((bits[4] & 0x7f) | ((bits[4] >> 7) & 1));
  s.days_restricted_ = fields[2] != "*";
  s.weekdays_restricted_ = fields[4] != "*";
  return s;
}

std::optional<int64_t> CronSchedule::Next(int64_t after_micros) const {
  using namespace std::chrono;
  constexpr int64_t kMinute = 60'000'000;
  // The first whole minute after `after`.
  int64_t t =
      (after_micros >= 0 ? after_micros / kMinute : (after_micros - kMinute + 1) / kMinute) *
          kMinute +
      kMinute;
  const int64_t limit = t + int64_t{5} * 366 * 24 * 60 * kMinute;
  while (t < limit) {
    const sys_days day = floor<days>(sys_time<microseconds>(microseconds(t)));
    const year_month_day ymd(day);
    const unsigned month = static_cast<unsigned>(ymd.month());
    const unsigned dom = static_cast<unsigned>(ymd.day());
    const unsigned dow = weekday(day).c_encoding();
    const bool day_ok = days_restricted_ && weekdays_restricted_
                            ? ((days_ >> dom) & 1) || ((weekdays_ >> dow) & 1)
                            : ((days_ >> dom) & 1) && ((weekdays_ >> dow) & 1);
    const int64_t day_start = duration_cast<microseconds>(day.time_since_epoch()).count();
    if (!((months_ >> month) & 1) || !day_ok) {
      t = day_start + 24 * 60 * kMinute;  // the next day, 00:00
      continue;
    }
    const int64_t minute_of_day = (t - day_start) / kMinute;
    const int64_t hour = minute_of_day / 60;
    if (!((hours_ >> hour) & 1)) {
      t = day_start + (hour + 1) * 60 * kMinute;  // the next hour, :00
      continue;
    }
    if ((minutes_ >> (minute_of_day % 60)) & 1) return t;
    t += kMinute;
  }
  return std::nullopt;
}

}  // namespace ferry::pipeline
