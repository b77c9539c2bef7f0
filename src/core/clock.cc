#include "core/clock.h"

#include <ctime>
#include <fmt/format.h>

#include <string>


namespace ferry::core {

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
}

ClockPtr SystemClock::Shared() {
  static const ClockPtr kClock = std::make_shared<SystemClock>();
  return kClock;
}

TimePoint ManualClock::Now() const { return TimePoint(std::chrono::microseconds(micros_.load())); }

SimulatedClock::SimulatedClock(int64_t start_micros)
    : offset_micros_(start_micros - SystemClock().NowMicros()) {}

TimePoint SimulatedClock::Now() const {
  return SystemClock().Now() + std::chrono::microseconds(offset_micros_.load());
}

std::string FormatTimestamp(int64_t micros_since_epoch) {
  int64_t seconds = micros_since_epoch / 1'000'000;
  int64_t micros = micros_since_epoch % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

}  // namespace ferry::core
