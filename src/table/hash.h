#pragma once

// HashBytes: the 64-bit hash every table sketch keys values by (distinct counts, top
// values). Serialized sketches store hashes and registers derived from it, so its
// output is part of the profile format (docs/table-profile.md, "hash_version"): changing
// it means a new hash version. Built from 64x64->128-bit multiply-folds, which mix well
// enough that the top bits (HyperLogLog's register index) and the leading-zero count of
// the rest behave as uniform. Reads input as little-endian words; ferry targets
// little-endian machines only.
//
// Thread-safety: pure functions.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ferry::table {

// Bumped whenever HashBytes changes its output.
inline constexpr int kHashVersion = 1;

namespace hash_internal {

// Fractional bits of the square roots of the first primes: fixed, odd-ish constants with
// no structure the inputs could line up with.
inline constexpr uint64_t kMul0 = 0x6a09e667f3bcc909ULL;
inline constexpr uint64_t kMul1 = 0xbb67ae8584caa73bULL;
inline constexpr uint64_t kMul2 = 0x3c6ef372fe94f82bULL;
inline constexpr uint64_t kMul3 = 0xa54ff53a5f1d36f1ULL;

inline uint64_t Fold(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace hash_internal

inline uint64_t HashBytes(const char* data, size_t size) {
  using namespace hash_internal;
  uint64_t a;
  uint64_t b;
  uint64_t state = kMul0 ^ (static_cast<uint64_t>(size) * kMul1);
  if (size <= 16) {
    if (size >= 8) {
      // Two overlapping words cover 8..16 bytes.
      a = Load64(data);
      b = Load64(data + size - 8);
    } else if (size >= 4) {
      a = Load32(data);
      b = Load32(data + size - 4);
    } else if (size > 0) {
      const auto byte = [&](size_t i) { return static_cast<uint64_t>(static_cast<uint8_t>(data[i])); };
      a = (byte(0) << 16) | (byte(size / 2) << 8) | byte(size - 1);
      b = 0;
    } else {
      a = 0;
      b = 0;
    }
  } else {
    const char* p = data;
    size_t left = size;
    while (left > 16) {
      state = Fold(Load64(p) ^ kMul2, Load64(p + 8) ^ state);
      p += 16;
      left -= 16;
    }
    // The last 16 bytes (overlapping what the loop read when size is not a multiple).
    a = Load64(data + size - 16);
    b = Load64(data + size - 8);
  }
  const uint64_t mixed = Fold(a ^ kMul2, b ^ state);
  return Fold(mixed ^ kMul3, state ^ kMul1 ^ (mixed >> 29));
}

inline uint64_t HashBytes(std::string_view s) { return HashBytes(s.data(), s.size()); }

}  // namespace ferry::table
