#pragma once

// CheckUbjson: whether bytes are one well-formed UBJSON value (Draft 12, as XGBoost writes
// its .ubj models) with every length, count and nesting inside the buffer. libxgboost's
// UBJSON reader trusts the lengths it reads (a truncated or forged model makes it read
// past its buffer: found by AddressSanitizer), so ferry checks a UBJSON artifact with this
// before handing it over. Written by hand because no Debian library parses UBJSON; it
// only walks the structure (no values are built), in one pass.
//
// Thread-safety: a pure function.

#include <string_view>

#include "absl/status/status.h"

namespace ferry::core {

// InvalidArgument naming the byte offset and what is wrong: an unknown type marker, a
// negative or too large length or count, nesting deeper than max_depth, a value cut
// short, or bytes after the value.
absl::Status CheckUbjson(std::string_view bytes, int max_depth = 128);

}  // namespace ferry::core
