#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace ferry::core {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

}  // namespace

bool IsValidUtf8(const char* data, size_t size) {
  const auto* s = reinterpret_cast<const uint8_t*>(data);
  const auto continuation = [&](size_t at) { return at < size && (s[at] & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < size) {
    if (i + 8 <= size) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & kHighBits) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
    } else if (c < 0xC2) {  // a stray continuation byte, or an overlong 2-byte form
      return false;
    } else if (c < 0xE0) {
      if (!continuation(i + 1)) return false;
      i += 2;
    } else if (c < 0xF0) {
      if (!continuation(i + 1) || !continuation(i + 2)) return false;
      if (c == 0xE0 && s[i + 1] < 0xA0) return false;  // overlong
      if (c == 0xED && s[i + 1] > 0x9F) return false;  // UTF-16 surrogate
      i += 3;
    } else if (c < 0xF5) {
      if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return false;
      if (c == 0xF0 && s[i + 1] < 0x90) return false;  // overlong
      if (c == 0xF4 && s[i + 1] > 0x8F) return false;  // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace ferry::core
