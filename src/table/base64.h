#pragma once

// Base64 (RFC 4648, standard alphabet, with padding) for the binary parts of serialized
// sketches (HyperLogLog registers, exact hash sets), which are far smaller and faster to
// read this way than as JSON arrays of numbers.
//
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace ferry::table {

std::string Base64Encode(std::string_view bytes);
// nullopt for anything but canonical padded base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace ferry::table
