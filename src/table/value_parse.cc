#include "table/value_parse.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

namespace ferry::table {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
using value_parse_internal::kNotATime;

bool IsDigit(char c) { return static_cast<unsigned>(c - '0') <= 9; }

// Days from 1970-01-01 to a proleptic Gregorian date (month 1-12), by counting in
// 400-year eras of 146097 days that start on March 1st, so leap days fall at era ends.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;                          // [0, 399]
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool EndsWithLower(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         EqualsLower(text.substr(text.size() - suffix.size()), suffix);
}

}  // namespace

namespace value_parse_internal {

std::optional<double> ParseFloat64Slow(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double value;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace value_parse_internal

namespace {

// Two digits at s[i] as a number, or -1.
inline int TwoDigits(const char* s, size_t i) {
  const unsigned a = static_cast<unsigned>(s[i] - '0');
  const unsigned b = static_cast<unsigned>(s[i + 1] - '0');
  return (a <= 9 && b <= 9) ? static_cast<int>(a * 10 + b) : -1;
}

// The date in text[0, 10) ("YYYY-MM-DD") as microseconds since the epoch, or kNotATime.
// (Sentinels, not std::optional: an optional built in memory and reloaded whole stalls
// on store forwarding, once per field.)
int64_t DateMicros(std::string_view text) {
  const char* s = text.data();
  if (text.size() < 10 || s[4] != '-' || s[7] != '-') return kNotATime;
  const int century = TwoDigits(s, 0);
  const int year_in_century = TwoDigits(s, 2);
  const int month = TwoDigits(s, 5);
  const int day = TwoDigits(s, 8);
  if (century < 0 || year_in_century < 0 || month < 1 || month > 12 || day < 1) return kNotATime;
  const int year = century * 100 + year_in_century;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDaysInMonth[month - 1] + (month == 2 && leap)) return kNotATime;
  return DaysFromCivil(year, month, day) * 86'400'000'000;
}

// "HH:MM:SS" at p (8 bytes) as seconds since midnight, or -1: checked and converted as one
// little-endian word, byte k being p[k]. SS may be 60 (a leap second).
inline int64_t ClockSeconds(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  constexpr uint64_t kDigitBytes = 0xFFFF00FFFF00FFFFULL;  // bytes 0-1, 3-4, 6-7
  constexpr uint64_t kColonBytes = ~kDigitBytes;            // bytes 2 and 5
  constexpr uint64_t kHighNibbles = 0xF0F0F0F0F0F0F0F0ULL;
  constexpr uint64_t kZeros = 0x3030303030303030ULL;
  if ((w & kColonBytes) != (0x3A3A3A3A3A3A3A3AULL & kColonBytes)) return -1;
  // Digits are 0x30-0x39: high nibble 3, and still 3 after adding 6 (no carry can cross
  // a byte once the first test passed).
  if ((w & kHighNibbles & kDigitBytes) != (kZeros & kDigitBytes)) return -1;
  if (((w + 0x0606060606060606ULL) & kHighNibbles & kDigitBytes) != (kZeros & kDigitBytes)) {
    return -1;
  }
  const uint64_t d = w & 0x0F0F0F0F0F0F0F0FULL;
  const uint64_t v = d * 10 + (d >> 8);  // byte k: 10 * digit k + digit k+1 (at most 99)
  const auto hh = static_cast<int64_t>(v & 0xFF);
  const auto mm = static_cast<int64_t>((v >> 24) & 0xFF);
  const auto ss = static_cast<int64_t>((v >> 48) & 0xFF);
  if (hh > 23 || mm > 59 || ss > 60) return -1;
  return hh * 3600 + mm * 60 + ss;
}

// What follows the date: nothing, or [Tt ]HH:MM[:SS[.fraction]][zone]; the
// microseconds it adds to the date's midnight, or kNotATime.
int64_t TimeOfDayMicros(std::string_view text) {
  const size_t size = text.size();
  if (size == 10) return 0;
  const char* s = text.data();
  const char sep = s[10];
  if ((sep != 'T' && sep != 't' && sep != ' ') || size < 16 || s[13] != ':') return kNotATime;
  int64_t seconds;
  size_t i;
  int64_t fraction_micros = 0;
  if (size >= 19 && s[16] == ':') {
    seconds = ClockSeconds(s + 11);
    if (seconds < 0) return kNotATime;
    i = 19;
    if (i < size && s[i] == '.') {
      static constexpr int kScale[] = {100'000, 10'000, 1'000, 100, 10, 1, 0, 0, 0};
      const size_t start = ++i;
      while (i < size && IsDigit(s[i]) && i - start < 9) {
        fraction_micros += (s[i] - '0') * kScale[i - start];  // digits past micros add 0
        ++i;
      }
      if (i == start || (i < size && IsDigit(s[i]))) return kNotATime;
    }
  } else {
    if (size > 16 && s[16] == ':') return kNotATime;  // seconds cut short
    const int hh = TwoDigits(s, 11);
    const int mm = TwoDigits(s, 14);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return kNotATime;
    seconds = hh * 3600 + mm * 60;
    i = 16;
  }
  int64_t offset_seconds = 0;
  if (i < size) {
    const char zone = s[i];
    if (zone == 'Z' || zone == 'z') {
      ++i;
    } else if (zone == '+' || zone == '-') {
      if (i + 3 > size) return kNotATime;
      const int oh = TwoDigits(s, i + 1);
      if (oh < 0 || oh > 23) return kNotATime;
      i += 3;
      int om = 0;
      if (i < size) {
        if (s[i] == ':') ++i;
        if (i + 2 > size) return kNotATime;
        om = TwoDigits(s, i);
        if (om < 0 || om > 59) return kNotATime;
        i += 2;
      }
      offset_seconds = (oh * 3600 + om * 60) * (zone == '-' ? -1 : 1);
    } else {
      return kNotATime;
    }
  }
  if (i != size) return kNotATime;
  return (seconds - offset_seconds) * 1'000'000 + fraction_micros;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view text) {
  const int64_t date = DateMicros(text);
  if (date == kNotATime) return std::nullopt;
  const int64_t time = TimeOfDayMicros(text);
  if (time == kNotATime) return std::nullopt;
  return date + time;
}

int64_t TimestampParser::Micros(std::string_view text) {
  if (text.size() < 10) return kNotATime;
  if (std::memcmp(text.data(), date_, 10) != 0) {
    const int64_t date = DateMicros(text);
    if (date == kNotATime) return kNotATime;
    std::memcpy(date_, text.data(), 10);
    date_micros_ = date;
  }
  const int64_t time = TimeOfDayMicros(text);
  if (time == kNotATime) return kNotATime;
  return date_micros_ + time;
}

bool IsTimeLikeName(std::string_view name) {
  for (std::string_view exact : {"ts", "time", "epoch", "timestamp"}) {
    if (EqualsLower(name, exact)) return true;
  }
  for (std::string_view suffix : {"_ts", "_time", "_at", "_epoch", "timestamp"}) {
    if (EndsWithLower(name, suffix)) return true;
  }
  return false;
}

bool IsAscii(const char* data, size_t size) {
  uint64_t seen = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    seen |= word;
  }
  for (; i < size; ++i) seen |= static_cast<uint8_t>(data[i]);
  return (seen & kHighBits) == 0;
}

}  // namespace ferry::table
