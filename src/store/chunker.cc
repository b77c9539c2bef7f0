#include "store/chunker.h"

#include <algorithm>
#include <array>
#include <bit>

#include "core/strings.h"

namespace ferry::store {
namespace {

using core::Cat;

// Bytes that determine the top bit of the gear hash: each byte shifts h left by one.
constexpr uint64_t kWindow = 64;

// SplitMix64 (Steele, Lea, Flood 2014): state += 0x9e3779b97f4a7c15, then two
// xor-shift-multiply rounds. Fully specified, so the table never depends on a library.
constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// kGear[b] is the b-th output (b = 0..255) of SplitMix64 started at kGearSeed.
constexpr std::array<uint64_t, 256> MakeGearTable(uint64_t seed) {
  std::array<uint64_t, 256> table{};
  uint64_t state = seed;
  for (uint64_t& entry : table) entry = SplitMix64(state);
  return table;
}

constexpr std::array<uint64_t, 256> kGear = MakeGearTable(Chunker::kGearSeed);

// A mask of the top `bits` bits: they depend on the widest windows of the hash.
constexpr uint64_t TopBits(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }

struct ScanResult {
  size_t end;     // index after the last byte hashed
  uint64_t hash;  // the hash after it
  bool cut;       // the hash matched the mask at that byte
};

// Hashes bytes [begin, end) of `p`; with a non-zero `mask`, stops after the first byte
// whose hash has all of `mask`'s bits zero. One shift-add per byte on the critical path
// (one LEA), so the loop runs at about a byte per cycle.
inline ScanResult Scan(const uint8_t* p, size_t begin, size_t end, uint64_t hash, uint64_t mask) {
  if (mask == 0) {
    for (size_t i = begin; i < end; ++i) hash = (hash << 1) + kGear[p[i]];
    return {end, hash, false};
  }
  for (size_t i = begin; i < end; ++i) {
    hash = (hash << 1) + kGear[p[i]];
    if ((hash & mask) == 0) return {i + 1, hash, true};
  }
  return {end, hash, false};
}

}  // namespace

absl::StatusOr<Chunker> Chunker::Create(const ChunkerOptions& options) {
  const uint64_t min = options.min_size;
  const uint64_t avg = options.average_size;
  const uint64_t max = options.max_size;
  if (min < kWindow) {
    return absl::InvalidArgumentError(
        Cat("chunker min_size must be at least ", kWindow, " bytes, got ", min));
  }
  if (avg < 256 || !std::has_single_bit(avg)) {
    return absl::InvalidArgumentError(
        Cat("chunker average_size must be a power of two of at least 256, got ", avg));
  }
  if (min > avg || avg > max) {
    return absl::InvalidArgumentError(Cat("chunker sizes must satisfy min_size <= average_size",
                                          " <= max_size, got ", min, ", ", avg, ", ", max));
  }
  if (max > kMaxChunkSize) {
    return absl::InvalidArgumentError(
        Cat("chunker max_size must be at most ", kMaxChunkSize, ", got ", max));
  }
  return Chunker(options);
}

Chunker::Chunker(const ChunkerOptions& options) : options_(options) {
  const int bits = std::countr_zero(options.average_size);
  // Normalization level 2 (FastCDC): two bits harder before the average, two easier
  // after it.
  mask_small_ = TopBits(bits + 2);
  mask_large_ = TopBits(bits - 2);
}

std::optional<size_t> Chunker::Next(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  const uint64_t min = options_.min_size;
  const uint64_t avg = options_.average_size;
  const uint64_t max = options_.max_size;
  size_t i = 0;
  uint64_t hash = hash_;
  // The index in `data` of chunk offset `offset`, capped at the data's end.
  auto index_of = [&](uint64_t offset) -> size_t {
    return offset <= pending_ ? 0 : static_cast<size_t>(std::min<uint64_t>(n, offset - pending_));
  };
  auto cut = [&](size_t end) -> std::optional<size_t> {
    pending_ = 0;
    hash_ = 0;
    return end;
  };

  // Offsets [0, min - 64): never a cut and too early to reach the first tested window.
  i = std::max(i, index_of(min - kWindow));
  // Offsets [min - 64, min - 1): fill the window; then test the small mask up to the
  // average, the large mask up to the maximum.
  ScanResult r = Scan(p, i, std::max(i, index_of(min - 1)), hash, 0);
  r = Scan(p, r.end, std::max(r.end, index_of(avg - 1)), r.hash, mask_small_);
  if (r.cut) return cut(r.end);
  r = Scan(p, r.end, std::max(r.end, index_of(max - 1)), r.hash, mask_large_);
  if (r.cut) return cut(r.end);
  // The byte at offset max - 1 ends the chunk whatever the hash.
  if (r.end < n) return cut(r.end + 1);
  pending_ += n;
  hash_ = r.hash;
  return std::nullopt;
}

std::vector<uint32_t> ChunkSizes(const Chunker& chunker, std::string_view data) {
  Chunker scanner = chunker;
  scanner.Reset();
  std::vector<uint32_t> sizes;
  while (!data.empty()) {
    std::optional<size_t> end = scanner.Next(data);
    if (!end) {
      sizes.push_back(static_cast<uint32_t>(scanner.pending()));
      break;
    }
    sizes.push_back(static_cast<uint32_t>(*end));
    data.remove_prefix(*end);
  }
  return sizes;
}

}  // namespace ferry::store
