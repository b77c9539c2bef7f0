#pragma once

// Cat: concatenates strings and numbers into a std::string, like absl::StrCat.
// Debian's Abseil is built with its own absl::string_view (not std::string_view),
// so absl::StrCat does not take std::string_view; this small variadic helper over
// fmt takes both, and absl::Status messages are built from its std::string result.
// Also HumanBytes, the one way sizes are written for people (CLI output, messages).

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace ferry::core {
namespace strings_internal {

template <typename T>
void Append(std::string& out, const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out.append(std::string_view(value));
  } else if constexpr (std::is_same_v<T, absl::string_view>) {
    out.append(value.data(), value.size());
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

}  // namespace strings_internal

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

// The value of one hex digit (either case), or -1 for any other character.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 1536 -> "1.5 KiB"; bytes below 1 KiB as "512 B".
inline std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

// absl::string_view (e.g. Status::message()) as a std::string_view.
inline std::string_view View(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace ferry::core
