#pragma once

// Clock: the one source of "now" for code that records or schedules by time, so
// tests (and the demo's simulated weeks) can inject time instead of sleeping.
//
// Thread-safety: SystemClock is stateless; ManualClock is safe to read and advance
// from several threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ferry::core {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for timestamps that are stored and shown).
  virtual TimePoint Now() const = 0;
  // Microseconds since the Unix epoch: the unit ferry stores timestamps in.
  int64_t NowMicros() const { return Now().time_since_epoch().count(); }
};

using ClockPtr = std::shared_ptr<const Clock>;

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
  // The process-wide instance.
  static ClockPtr Shared();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 0) : micros_(start_micros) {}
  TimePoint Now() const override;
  void Advance(std::chrono::microseconds by) { micros_ += by.count(); }
  void Set(int64_t micros) { micros_ = micros; }

 private:
  std::atomic<int64_t> micros_;
};

// Real time moved ahead by an offset that only grows: simulated days pass in jumps
// (Advance) while time also flows as usual, so what runs on it (a server's rollouts,
// alerts and triggers) never stalls between jumps. `ferry demo` runs its world on one.
class SimulatedClock final : public Clock {
 public:
  // Now() is `start_micros` at construction.
  explicit SimulatedClock(int64_t start_micros);
  TimePoint Now() const override;
  void Advance(std::chrono::microseconds by) { offset_micros_ += by.count(); }

 private:
  std::atomic<int64_t> offset_micros_;
};

// RFC 3339 UTC with microseconds, e.g. "2026-11-26T05:34:35.123456Z".
std::string FormatTimestamp(int64_t micros_since_epoch);

}  // namespace ferry::core
