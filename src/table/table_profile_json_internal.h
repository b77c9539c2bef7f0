#pragma once

// Helpers shared by the two halves of the profile's JSON form (table_profile_json.cc
// writes, table_profile_json_read.cc reads). Not part of the table API.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::table::profile_json_internal {

// 64-bit values that JSON numbers cannot carry safely everywhere (RNG states) are
// written as 16 lower-case hex digits.
std::string Hex64(uint64_t v);

}  // namespace ferry::table::profile_json_internal
