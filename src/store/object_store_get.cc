// ObjectStore reads: stream an object's zstd frames through a decompressor and a
// SHA-256 hasher in bounded memory; anything that does not add up is DataLoss.
//
// Decompressing (~1.7 GB/s per core at level 1 here) and hashing (~2 GB/s) cost about
// the same, so for objects larger than a few chunks a helper thread reads and
// decompresses into a ring of 1 MiB chunks while the calling thread hashes them and
// feeds the sink. Small objects are decoded on the calling thread alone.

#include <fcntl.h>
#include <zstd.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "core/check.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/byte_streams.h"
#include "store/object_store.h"

namespace ferry::store {
namespace {

using core::Cat;
using core::Digest;

constexpr size_t kReadBufferSize = size_t{1} << 20;
constexpr size_t kChunkSize = size_t{1} << 20;
constexpr size_t kRingChunks = 4;
// Objects up to this size are decoded without a helper thread.
constexpr uint64_t kInlineDecodeLimit = 2 * kChunkSize;
// Puts write 2 MiB frames, whose window is at most 2^21; allowing 2^23 leaves room
// while keeping a hostile file from making the decoder allocate gigabytes.
constexpr int kMaxWindowLog = 23;

// Where decoded bytes go: the decoder fills buffers of kChunkSize bytes obtained from
// Buffer() and hands each over with Emit(). Either returns an error to stop decoding.
class ChunkConsumer {
 public:
  virtual ~ChunkConsumer() = default;
  virtual absl::StatusOr<char*> Buffer() = 0;
  virtual absl::Status Emit(size_t size) = 0;
};

// Decompresses the frames that follow the header on `fd`, checking everything but the
// digest; `damaged` turns a description into the DataLoss error naming the object.
absl::Status DecodeFrames(int fd, uint64_t expected_size,
                          const std::function<absl::Status(std::string_view)>& damaged,
                          ChunkConsumer& consumer) {
  struct DCtxDeleter {
    void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
  };
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  FERRY_CHECK(dctx != nullptr);
  FERRY_CHECK(
      !ZSTD_isError(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kMaxWindowLog)));
  auto input_buffer = std::make_unique_for_overwrite<char[]>(kReadBufferSize);

  uint64_t produced = 0;
  uint64_t consumed = 0;
  size_t frame_remaining = 0;  // zstd's hint: 0 exactly when a frame has just ended
  ASSIGN_OR_RETURN(char* chunk, consumer.Buffer());
  ZSTD_outBuffer output{chunk, kChunkSize, 0};
  auto emit = [&]() -> absl::Status {
    produced += output.pos;
    if (produced > expected_size) {
      return damaged(Cat("it decompresses to more than the ", expected_size,
                         " bytes its header records"));
    }
    return consumer.Emit(output.pos);
  };
  while (true) {
    ASSIGN_OR_RETURN(size_t got, core::ReadSome(fd, input_buffer.get(), kReadBufferSize));
    if (got == 0) break;
    consumed += got;
    ZSTD_inBuffer input{input_buffer.get(), got, 0};
    // Call again while input remains, or while the output filled up in the middle of
    // a frame: the decoder may hold decoded bytes that did not fit. (After a frame's
    // end, a call without input would return the next frame's header size instead.)
    bool output_full = false;
    while (input.pos < input.size || (output_full && frame_remaining != 0)) {
      frame_remaining = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(frame_remaining)) {
        return damaged(Cat("zstd: ", ZSTD_getErrorName(frame_remaining)));
      }
      output_full = output.pos == output.size;
      if (output_full) {
        RETURN_IF_ERROR(emit());
        ASSIGN_OR_RETURN(chunk, consumer.Buffer());
        output = ZSTD_outBuffer{chunk, kChunkSize, 0};
      }
    }
  }
  if (output.pos > 0) RETURN_IF_ERROR(emit());
  if (consumed == 0) return damaged("it has a header but no zstd frame");
  if (frame_remaining != 0) return damaged("it ends in the middle of a zstd frame (truncated)");
  if (produced != expected_size) {
    return damaged(Cat("it decompresses to ", produced, " bytes, its header records ",
                       expected_size));
  }
  return absl::OkStatus();
}

// Hashes decoded chunks and passes them to the sink, on the decoding thread.
class InlineConsumer : public ChunkConsumer {
 public:
  InlineConsumer(core::Sha256& hasher, ByteSink& sink)
      : hasher_(hasher), sink_(sink), buffer_(std::make_unique_for_overwrite<char[]>(kChunkSize)) {}
  absl::StatusOr<char*> Buffer() override { return buffer_.get(); }
  absl::Status Emit(size_t size) override {
    hasher_.Update(buffer_.get(), size);
    return sink_.Write(std::string_view(buffer_.get(), size));
  }

 private:
  core::Sha256& hasher_;
  ByteSink& sink_;
  std::unique_ptr<char[]> buffer_;
};

// A ring of chunks between a decoding thread (producer, through the ChunkConsumer
// interface) and the calling thread (Take / Release).
class ChunkRing : public ChunkConsumer {
 public:
  ChunkRing() {
    for (auto& chunk : chunks_) chunk = std::make_unique_for_overwrite<char[]>(kChunkSize);
  }

  // Producer side.
  absl::StatusOr<char*> Buffer() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return cancelled_ || filled_ - taken_ < kRingChunks; });
    if (cancelled_) return absl::CancelledError("reader stopped");
    return chunks_[filled_ % kRingChunks].get();
  }
  absl::Status Emit(size_t size) override {
    std::lock_guard<std::mutex> lock(mu_);
    sizes_[filled_ % kRingChunks] = size;
    ++filled_;
    cv_.notify_all();
    return absl::OkStatus();
  }
  void Finish(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }

  // Consumer side: the next chunk, or nullopt once the producer finished (then
  // status() tells how).
  std::optional<std::string_view> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_ || taken_ < filled_; });
    if (taken_ == filled_) return std::nullopt;
    return std::string_view(chunks_[taken_ % kRingChunks].get(), sizes_[taken_ % kRingChunks]);
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    ++taken_;
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  absl::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  std::unique_ptr<char[]> chunks_[kRingChunks];
  size_t sizes_[kRingChunks] = {};  // guarded by mu_

  std::mutex mu_;
  std::condition_variable cv_;  // any change below
  uint64_t filled_ = 0;         // guarded by mu_; chunks handed over by the producer
  uint64_t taken_ = 0;          // guarded by mu_; chunks released by the consumer
  bool finished_ = false;       // guarded by mu_
  bool cancelled_ = false;      // guarded by mu_
  absl::Status status_;         // guarded by mu_; the producer's result
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


}  // namespace

absl::Status ObjectStore::Get(const Digest& digest, ByteSink& sink) const {
  ASSIGN_OR_RETURN(OpenedObject object, OpenObject(digest));
  ::posix_fadvise(object.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const std::function<absl::Status(std::string_view)> damaged = [&](std::string_view why) {
    return absl::DataLossError(
        Cat("object ", digest.ToHex(), " (", PathOf(digest).string(), ") is damaged: ", why));
  };
  const int fd = object.fd.get();
  const uint64_t size = object.info.size;
  core::Sha256 hasher;

  if (size <= kInlineDecodeLimit) {
    InlineConsumer consumer(hasher, sink);
    RETURN_IF_ERROR(DecodeFrames(fd, size, damaged, consumer));
  } else {
    ChunkRing ring;
    std::thread decoder([&] { ring.Finish(DecodeFrames(fd, size, damaged, ring)); });
    absl::Status sunk;
    while (std::optional<std::string_view> chunk = ring.Take()) {
      hasher.Update(*chunk);
      sunk = sink.Write(*chunk);
      ring.Release();
      if (!sunk.ok()) break;
    }
    ring.Cancel();  // stops the decoder early if the sink failed
    decoder.join();
    RETURN_IF_ERROR(sunk);
    RETURN_IF_ERROR(ring.status());
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
