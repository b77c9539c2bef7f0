// ObjectStore reads: stream an object's zstd frames through a decompressor and a
// SHA-256 hasher in bounded memory; anything that does not add up is DataLoss.

#include <fcntl.h>
#include <zstd.h>

#include <memory>

#include "core/check.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/object_store.h"

namespace ferry::store {
namespace {

using core::Cat;
using core::Digest;

constexpr size_t kReadBufferSize = size_t{1} << 20;
constexpr size_t kOutputBufferSize = size_t{1} << 20;
// Puts write 2 MiB frames, whose window is at most 2^21; allowing 2^23 leaves room
// while keeping a hostile file from making the decoder allocate gigabytes.
constexpr int kMaxWindowLog = 23;

struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
};

class NullSink : public ByteSink {
 public:
  absl::Status Write(std::string_view) override { return absl::OkStatus(); }
};

class StringSink : public ByteSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  absl::Status Write(std::string_view data) override {
    out_.append(data);
    return absl::OkStatus();
  }

 private:
  std::string& out_;
};

class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  absl::Status Write(std::string_view data) override {
    return core::WriteAll(fd_, data.data(), data.size());
  }

 private:
  int fd_;
};

}  // namespace

absl::Status ObjectStore::Get(const Digest& digest, ByteSink& sink) const {
  ASSIGN_OR_RETURN(OpenedObject object, OpenObject(digest));
  ::posix_fadvise(object.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const uint64_t expected_size = object.info.size;
  auto damaged = [&](std::string_view why) {
    return absl::DataLossError(
        Cat("object ", digest.ToHex(), " (", PathOf(digest).string(), ") is damaged: ", why));
  };

  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx(ZSTD_createDCtx());
  FERRY_CHECK(dctx != nullptr);
  FERRY_CHECK(
      !ZSTD_isError(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kMaxWindowLog)));
  auto input_buffer = std::make_unique<char[]>(kReadBufferSize);
  auto output_buffer = std::make_unique<char[]>(kOutputBufferSize);

  core::Sha256 hasher;
  uint64_t produced = 0;
  uint64_t consumed = 0;
  size_t frame_remaining = 0;  // zstd's hint: 0 exactly when a frame has just ended
  while (true) {
    ASSIGN_OR_RETURN(size_t got, core::ReadSome(object.fd.get(), input_buffer.get(),
                                                kReadBufferSize));
    if (got == 0) break;
    consumed += got;
    ZSTD_inBuffer input{input_buffer.get(), got, 0};
    // Call again while input remains, or while the output filled up in the middle of
    // a frame: the decoder may hold decoded bytes that did not fit. (After a frame's
    // end, a call without input would return the next frame's header size instead.)
    bool output_full = false;
    while (input.pos < input.size || (output_full && frame_remaining != 0)) {
      ZSTD_outBuffer output{output_buffer.get(), kOutputBufferSize, 0};
      frame_remaining = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(frame_remaining)) {
        return damaged(Cat("zstd: ", ZSTD_getErrorName(frame_remaining)));
      }
      output_full = output.pos == output.size;
      if (output.pos == 0) continue;
      produced += output.pos;
      if (produced > expected_size) {
        return damaged(Cat("it decompresses to more than the ", expected_size,
                           " bytes its header records"));
      }
      hasher.Update(output_buffer.get(), output.pos);
      RETURN_IF_ERROR(sink.Write(std::string_view(output_buffer.get(), output.pos)));
    }
  }
  if (consumed == 0) return damaged("it has a header but no zstd frame");
  if (frame_remaining != 0) return damaged("it ends in the middle of a zstd frame (truncated)");
  if (produced != expected_size) {
    return damaged(Cat("it decompresses to ", produced, " bytes, its header records ",
                       expected_size));
  }
  const Digest actual = hasher.Finish();
  if (actual != digest) return damaged(Cat("its content hashes to ", actual.ToHex()));
  return absl::OkStatus();
}

absl::Status ObjectStore::GetToFile(const Digest& digest,
                                    const std::filesystem::path& destination) const {
  // Fail before creating anything when the object is missing or its header is bad.
  RETURN_IF_ERROR(Stat(digest).status());
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(destination));
  FdSink sink(file.fd());
  RETURN_IF_ERROR(Get(digest, sink));
  return file.Commit();  // an uncommitted AtomicFile removes its temporary file
}

absl::StatusOr<std::string> ObjectStore::GetBytes(const Digest& digest, size_t max_size) const {
  ASSIGN_OR_RETURN(ObjectInfo info, Stat(digest));
  if (info.size > max_size) {
    return absl::ResourceExhaustedError(Cat("object ", digest.ToHex(), " has ", info.size,
                                            " bytes, more than the limit of ", max_size));
  }
  std::string out;
  out.reserve(static_cast<size_t>(info.size));
  StringSink sink(out);
  RETURN_IF_ERROR(Get(digest, sink));
  return out;
}

absl::Status ObjectStore::Verify(const Digest& digest) const {
  NullSink sink;
  return Get(digest, sink);
}

}  // namespace ferry::store
