#include "alerts/duration.h"

#include <array>
#include <cstdint>

#include "core/strings.h"

namespace ferry::alerts {
namespace {

struct Unit {
  std::string_view name;
  int64_t millis;
};

// Longest first, so "ms" is tried before "m".
constexpr std::array<Unit, 7> kUnits = {{{"y", 365 * 24 * 3600 * 1000ll},
                                         {"w", 7 * 24 * 3600 * 1000ll},
                                         {"d", 24 * 3600 * 1000ll},
                                         {"h", 3600 * 1000ll},
                                         {"m", 60 * 1000ll},
                                         {"s", 1000ll},
                                         {"ms", 1ll}}};
constexpr int64_t kMaxMillis = 100 * kUnits[0].millis;

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const auto bad = [text] {
    return absl::InvalidArgumentError(
        core::Cat("\"", text, "\" is not a duration (e.g. 30s, 5m, 1h30m)"));
  };
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in descending order, each once
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    const size_t digits_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      number = number * 10 + (text[i] - '0');
      if (number > kMaxMillis) return bad();
      ++i;
    }
    if (i == digits_start) return bad();
    const std::string_view rest = text.substr(i);
    size_t unit = next_unit;
    // "m" followed by "s" is milliseconds; otherwise take the first unit that matches.
    while (unit < kUnits.size()) {
      const std::string_view name = kUnits[unit].name;
      const bool is_minutes = name == "m";
      if (rest.substr(0, name.size()) == name && !(is_minutes && rest.substr(0, 2) == "ms")) {
        break;
      }
      ++unit;
    }
    if (unit == kUnits.size()) return bad();
    total += number * kUnits[unit].millis;
    if (total > kMaxMillis) return bad();
    i += kUnits[unit].name.size();
    next_unit = unit + 1;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t left = duration.count();
  if (left == 0) return "0s";
  std::string out;
  for (const Unit& unit : kUnits) {
    if (left >= unit.millis) {
      out += core::Cat(left / unit.millis, unit.name);
      left %= unit.millis;
    }
  }
  return out;
}

}  // namespace ferry::alerts
