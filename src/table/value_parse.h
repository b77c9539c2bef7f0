#pragma once

// The text-to-value rules of type inference, shared by the profiler (which infers a
// column's type from them) and the record batch reader (which converts with them), so
// a value the profile accepted as, say, int64 always converts. The rules are listed in
// docs/table-profile.md ("Type inference"):
//
//   int64     -?[0-9]+ that fits in 64 bits (no '+', no spaces, leading zeros allowed)
//   float64   what std::from_chars accepts in general format (decimal and exponent forms,
//             "inf", "infinity", "nan" in any case) that is in double's range
//   bool      true / false in any case (never 0 / 1)
//   timestamp ISO 8601 / RFC 3339: YYYY-MM-DD, optionally followed by 'T', 't' or ' ' and
//             HH:MM[:SS[.fraction]] and an optional zone (Z, z, +HH, +HHMM, +HH:MM);
//             without a zone the time is UTC; fractions beyond microseconds are truncated
//
// Thread-safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/utf8.h"

namespace ferry::table {

inline std::optional<int64_t> ParseInt64(std::string_view text);
inline std::optional<double> ParseFloat64(std::string_view text);
inline bool ParseFloat64Into(std::string_view text, double& value);
inline std::optional<bool> ParseBool(std::string_view text);
// Microseconds since the Unix epoch, UTC.
std::optional<int64_t> ParseTimestamp(std::string_view text);

namespace value_parse_internal {
// No timestamp: outside the range of every one that parses.
inline constexpr int64_t kNotATime = INT64_MIN;
}  // namespace value_parse_internal

// ParseTimestamp remembering the last date it saw: a column of timestamps mostly repeats
// its date, so the calendar checks and arithmetic run once per new date.
class TimestampParser {
 public:
  std::optional<int64_t> Parse(std::string_view text) {
    const int64_t micros = Micros(text);
    if (micros == value_parse_internal::kNotATime) return std::nullopt;
    return micros;
  }

 private:
  // The timestamp, or kNotATime (an int64_t comes back in a register; see DateMicros).
  int64_t Micros(std::string_view text);

  char date_[10] = {};  // never matches: a valid date has digits
  int64_t date_micros_ = 0;
};

// Whether a column's name says it holds times, which lets integer or float columns be
// read as epoch seconds, milliseconds or microseconds (case-insensitive): the names
// "ts", "time", "epoch", "timestamp", and names ending in "_ts", "_time", "_at",
// "_epoch" or "timestamp".
bool IsTimeLikeName(std::string_view name);

// Whether bytes are well-formed UTF-8 (core/utf8.h; YAML specs check it too).
using core::IsValidUtf8;
// Whether every byte is < 0x80 (the common case, checked eight bytes at a time).
bool IsAscii(const char* data, size_t size);

// --- Inline definitions: the profiler calls these once per field. ------------------------

namespace value_parse_internal {
// Everything ParseFloat64 accepts that its inline fast path does not.
std::optional<double> ParseFloat64Slow(std::string_view text);
}  // namespace value_parse_internal

// ParseFloat64 for the per-field hot path: an std::optional<double> merged from the fast
// and slow paths is spilled and reloaded through memory (a store-forwarding stall that
// cost ~5% of profiling), so this form writes `value` and returns whether it parsed.
inline bool ParseFloat64Into(std::string_view text, double& value) {
  // Clinger's fast path for plain decimals ([-]digits[.digits], at most 15 digits): the
  // digits as an integer and the power of ten are exact doubles and IEEE division rounds
  // correctly, so m / 10^f is the correctly rounded value from_chars would give.
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = p != end && *p == '-';
  p += negative;
  const char* const start = p;
  uint64_t mantissa = 0;
  while (p != end && static_cast<unsigned>(*p - '0') <= 9) {
    mantissa = mantissa * 10 + static_cast<unsigned>(*p++ - '0');
  }
  const auto whole_digits = p - start;
  ptrdiff_t fraction_digits = 0;
  if (p != end && *p == '.' && whole_digits > 0) {
    const char* const fraction = ++p;
    while (p != end && static_cast<unsigned>(*p - '0') <= 9) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p++ - '0');
    }
    fraction_digits = p - fraction;
  }
  // ("2." is 2, as from_chars has it.)
  if (p == end && whole_digits > 0 && whole_digits + fraction_digits <= 15) {
    const double magnitude = static_cast<double>(mantissa) / kPow10[fraction_digits];
    value = negative ? -magnitude : magnitude;
    return true;
  }
  const auto slow = value_parse_internal::ParseFloat64Slow(text);
  if (slow) value = *slow;
  return slow.has_value();
}

inline std::optional<double> ParseFloat64(std::string_view text) {
  double value;
  if (ParseFloat64Into(text, value)) return value;
  return std::nullopt;
}

inline std::optional<int64_t> ParseInt64(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  const bool negative = p != end && *p == '-';
  p += negative;
  // 19 digits always fit in uint64_t; longer inputs are rejected before overflow.
  if (p == end || end - p > 19) return std::nullopt;
  uint64_t value = 0;
  for (; p != end; ++p) {
    const unsigned digit = static_cast<unsigned>(*p - '0');
    if (digit > 9) return std::nullopt;
    value = value * 10 + digit;
  }
  constexpr uint64_t kMax = 0x7fffffffffffffffULL;
  if (negative) {
    if (value > kMax + 1) return std::nullopt;
    return static_cast<int64_t>(0 - value);
  }
  if (value > kMax) return std::nullopt;
  return static_cast<int64_t>(value);
}

inline std::optional<bool> ParseBool(std::string_view text) {
  // ASCII letters lower-cased by setting bit 5; other bytes cannot then match.
  const auto lower = [&](size_t i) { return static_cast<char>(text[i] | 0x20); };
  if (text.size() == 4 && lower(0) == 't' && lower(1) == 'r' && lower(2) == 'u' && lower(3) == 'e') {
    return true;
  }
  if (text.size() == 5 && lower(0) == 'f' && lower(1) == 'a' && lower(2) == 'l' &&
      lower(3) == 's' && lower(4) == 'e') {
    return false;
  }
  return std::nullopt;
}

}  // namespace ferry::table
