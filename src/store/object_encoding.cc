#include "store/object_encoding.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::store::object_encoding {

using core::Cat;
using core::Digest;

void PutLittleEndian(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t GetLittleEndian(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}

void HeaderCheck(const char* header, char* out) {
  Digest check = core::Sha256::Of(std::string_view(header, kCheckOffset));
  std::memcpy(out, check.bytes().data(), 8);
}

std::string EncodeHeader(const Digest& digest, uint64_t size) {
  std::string header(kHeaderSize, '\0');
  char* h = header.data();
  std::memcpy(h, kMagic, sizeof(kMagic));
  PutLittleEndian(h + 8, kFormatVersion, 2);
  h[10] = static_cast<char>(kCodecZstd);
  // h[11] flags and h[12..16) reserved stay zero.
  PutLittleEndian(h + 16, size, 8);
  std::memcpy(h + 24, digest.bytes().data(), Digest::kSize);
  HeaderCheck(h, h + kCheckOffset);
  return header;
}

ZstdCCtxPtr NewCompressor(int level) {
  ZstdCCtxPtr cctx(ZSTD_createCCtx());
  FERRY_CHECK(cctx != nullptr);
  // Callers range-check the level, so neither call can fail.
  FERRY_CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level)));
  FERRY_CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1)));
  return cctx;
}

absl::StatusOr<size_t> CompressFrame(ZSTD_CCtx* cctx, const char* data, size_t size, char* out,
                                     size_t capacity) {
  size_t n = ZSTD_compress2(cctx, out, capacity, data, size);
  if (ZSTD_isError(n)) {
    return absl::InternalError(Cat("zstd compression failed: ", ZSTD_getErrorName(n)));
  }
  return n;
}

absl::StatusOr<std::string_view> ObjectEncoder::Encode(const Digest& digest,
                                                       std::string_view content) {
  const size_t frames =
      std::max<size_t>(1, (content.size() + kFrameBlockSize - 1) / kFrameBlockSize);
  const size_t needed =
      kHeaderSize + frames * ZSTD_compressBound(std::min(content.size(), kFrameBlockSize));
  if (needed > capacity_) {
    capacity_ = (needed + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    buffer_.reset(static_cast<char*>(std::aligned_alloc(kBufferAlignment, capacity_)));
    FERRY_CHECK(buffer_ != nullptr);
  }
  const std::string header = EncodeHeader(digest, content.size());
  std::memcpy(buffer_.get(), header.data(), kHeaderSize);
  size_t used = kHeaderSize;
  size_t offset = 0;
  do {  // an empty content still gets its one (empty) frame
    const size_t n = std::min(content.size() - offset, kFrameBlockSize);
    ASSIGN_OR_RETURN(size_t frame, CompressFrame(cctx_.get(), content.data() + offset, n,
                                                 buffer_.get() + used, capacity_ - used));
    used += frame;
    offset += n;
  } while (offset < content.size());
  return std::string_view(buffer_.get(), used);
}

}  // namespace ferry::store::object_encoding
