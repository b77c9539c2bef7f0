#pragma once

// What world.cc (the simulation) and world_files.cc (CSV, feature definitions, files)
// share; not part of the demo's interface.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::demo::world_internal {

inline constexpr int64_t kMicrosPerHour = 3'600'000'000;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

inline constexpr std::array<std::string_view, 9> kCategoryNames = {
    "grocery",     "restaurant", "fuel",   "pharmacy", "fashion",
    "electronics", "travel",     "gaming", "digital"};

// RFC 3339 UTC to the second: "2026-01-02T00:00:00Z".
std::string FormatSeconds(int64_t micros);

}  // namespace ferry::demo::world_internal
