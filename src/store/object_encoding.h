#pragma once

// The object file format's encoding half (docs/object-format.md), shared by the two
// writers of object files: ObjectStore puts (a stream of any size, compressed by a
// pipeline) and ObjectBatch (many small objects held in memory). Keeping the header
// layout and the frame parameters in one place keeps both writers byte-compatible
// with the one reader in object_store.cc / object_store_get.cc.
//
// Thread-safety: the functions are pure; an ObjectEncoder (like a ZSTD_CCtx) is used
// by one thread at a time.

#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/sha256.h"

namespace ferry::store::object_encoding {

inline constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'O', 'B', 'J'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint8_t kCodecZstd = 1;
inline constexpr size_t kHeaderSize = 64;
// Header bytes covered by the header check, which fills the rest of the header.
inline constexpr size_t kCheckOffset = 56;
// Content is cut into independent zstd frames of this many bytes (the last shorter).
inline constexpr size_t kFrameBlockSize = size_t{2} << 20;

void PutLittleEndian(char* out, uint64_t value, int bytes);
uint64_t GetLittleEndian(const char* in, int bytes);

// The first 8 bytes of SHA-256 over the header's first kCheckOffset bytes, into `out`.
void HeaderCheck(const char* header, char* out);

// The 64-byte header of the object named `digest` holding `size` content bytes.
std::string EncodeHeader(const core::Digest& digest, uint64_t size);

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* cctx) const { ZSTD_freeCCtx(cctx); }
};
using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter>;

// A compressor that writes frames as the format requires (content checksum and size
// recorded). `level` must already be in ObjectStore's range (it CHECKs).
ZstdCCtxPtr NewCompressor(int level);

// Compresses `size` bytes (at most kFrameBlockSize) into one frame at `out`, which has
// room for ZSTD_compressBound(size) bytes; returns the frame's size. Errors: Internal
// if zstd fails (it cannot with a large enough buffer).
absl::StatusOr<size_t> CompressFrame(ZSTD_CCtx* cctx, const char* data, size_t size, char* out,
                                     size_t capacity);

// Encodes whole objects held in memory: header, then one frame per kFrameBlockSize of
// content, exactly as a put of the same bytes would write them.
class ObjectEncoder {
 public:
  explicit ObjectEncoder(int level) : cctx_(NewCompressor(level)) {}

  // The complete object file for `content`, which must hash to `digest` (not
  // re-checked). The view starts at a kBufferAlignment-aligned address (so it can be
  // written with O_DIRECT) and stays valid until the next call. Errors: as
  // CompressFrame.
  absl::StatusOr<std::string_view> Encode(const core::Digest& digest, std::string_view content);

  static constexpr size_t kBufferAlignment = 4096;

 private:
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };

  ZstdCCtxPtr cctx_;
  std::unique_ptr<char, FreeDeleter> buffer_;
  size_t capacity_ = 0;
};

}  // namespace ferry::store::object_encoding
