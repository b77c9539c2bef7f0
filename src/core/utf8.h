#pragma once

// UTF-8 validation for text users give ferry: table files, YAML specs, JSON bodies.
//
// Thread-safety: pure functions.

#include <cstddef>

namespace ferry::core {

// Whether bytes are well-formed UTF-8 (no overlong forms, surrogates or code points
// beyond U+10FFFF). Runs of ASCII are skipped eight bytes at a time.
bool IsValidUtf8(const char* data, size_t size);

}  // namespace ferry::core
