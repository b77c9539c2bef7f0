#pragma once

// SplitMix64: the small, fully specified generator behind every random choice the table
// sketches make (KLL compaction offsets, reservoir sampling). A fixed seed gives the same
// sketches and samples on every machine and libstdc++ version, which std:: distributions
// do not promise; the state is one integer, so it serializes with the sketch.
//
// Thread-safety: a value type; not shared.

#include <cstdint>

namespace ferry::table {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state = 0) : state_(state) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): never 0, so log() of it is finite.
  double NextOpenUnit() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  // Uniform in [0, bound) for bound > 0 (the multiply-shift method; bias < bound / 2^64).
  uint64_t NextBelow(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

}  // namespace ferry::table
