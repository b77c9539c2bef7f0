#pragma once

// Chunker: content-defined chunking of a byte stream, so that an edit in the middle of
// a large file changes only the chunks around it and every other chunk keeps its
// bytes, hence its SHA-256, hence its stored object (docs/manifest-format.md).
//
// The algorithm is FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking:
//  - a gear rolling hash, h = (h << 1) + kGear[byte], whose top bits depend only on
//    the last 64 bytes (older bytes are shifted out);
//  - no cut before min_size bytes; the hash starts 64 bytes before min_size, so every
//    cut decision depends on the 64-byte window alone, never on where the chunk began;
//  - between min_size and average_size a cut needs the top log2(average)+2 bits of h
//    to be zero (harder), after it the top log2(average)-2 bits (easier), which
//    concentrates chunk sizes around the average; a chunk is cut at max_size anyway.
// The gear table is 256 SplitMix64 outputs from the fixed seed kGearSeed (chunker.cc).
// Changing the table, the masks or the bounds moves every boundary: stored data stays
// readable (manifests list chunks explicitly) but new adds stop deduplicating against
// chunks cut the old way.
//
// With the defaults (min 512 KiB, average 1 MiB, max 8 MiB) chunks of random-looking
// data average ~1.2 MiB (the skipped minimum adds to the average).
//
// Thread-safety: a Chunker carries the state of one stream; use one per stream and
// thread. Copies are independent.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::store {

struct ChunkerOptions {
  // Bounds of a chunk's size in bytes; only the last chunk of a stream may be shorter
  // than min_size. Required: 64 <= min_size <= average_size <= max_size <= 1 GiB, and
  // average_size a power of two of at least 256 bytes.
  uint32_t min_size = uint32_t{512} << 10;
  uint32_t average_size = uint32_t{1} << 20;
  uint32_t max_size = uint32_t{8} << 20;
};

class Chunker {
 public:
  static constexpr uint64_t kGearSeed = 0x6665727279636463;  // "ferrycdc"
  static constexpr uint32_t kMaxChunkSize = uint32_t{1} << 30;

  // Errors: InvalidArgument naming the bound that breaks the rules above.
  static absl::StatusOr<Chunker> Create(const ChunkerOptions& options);

  // Scans `data`, the next bytes of the stream, as a continuation of the current
  // chunk. Returns n when the current chunk ends after data[n - 1] (1 <= n <=
  // data.size()); the next call starts a new chunk with the bytes from data[n] on.
  // Returns nullopt when all of `data` belongs to the current chunk, which goes on.
  // Feeding a stream in pieces of any sizes yields the same boundaries as feeding it
  // whole. At the end of the stream, the bytes of an unfinished chunk (pending())
  // form the last chunk.
  std::optional<size_t> Next(std::string_view data);

  // Bytes of the current chunk seen so far (0 right after a boundary).
  uint64_t pending() const { return pending_; }
  // Forgets the current chunk: the next byte starts a new one.
  void Reset() {
    pending_ = 0;
    hash_ = 0;
  }
  const ChunkerOptions& options() const { return options_; }

 private:
  explicit Chunker(const ChunkerOptions& options);

  ChunkerOptions options_;
  uint64_t mask_small_ = 0;  // tested from min_size to average_size (more bits)
  uint64_t mask_large_ = 0;  // tested from average_size to max_size (fewer bits)
  uint64_t pending_ = 0;
  uint64_t hash_ = 0;
};

// The sizes of the chunks `data` is cut into, as a whole stream (tests, tools).
std::vector<uint32_t> ChunkSizes(const Chunker& chunker, std::string_view data);

}  // namespace ferry::store
