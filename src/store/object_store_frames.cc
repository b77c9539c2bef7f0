// The put pipeline: turns a byte source into an object file's body, one independent
// zstd frame per 2 MiB block (docs/object-format.md).
//
// SHA-256 is sequential, so the calling thread reads blocks and hashes them in order;
// worker threads compress blocks in parallel, and whichever worker finds the oldest
// block ready appends it (and any ready blocks behind it) to the file. Blocks cycle
// through threads + 2 slots, so memory stays near (threads + 2) * 4 MiB whatever the
// object size. On this 2-core machine the put is CPU-bound: hashing takes one core
// about 1 s per 2 GiB and everything else competes for what is left, which is why the
// file is written with O_DIRECT where possible (no copy into the page cache).

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/byte_streams.h"
#include "store/object_encoding.h"
#include "store/object_store.h"

namespace ferry::store {
namespace {

using core::Cat;

constexpr size_t kBlockSize = object_encoding::kFrameBlockSize;
// O_DIRECT writes go out in chunks of this size from a buffer with this alignment.
constexpr size_t kDirectChunk = size_t{4} << 20;
constexpr size_t kDirectAlignment = 4096;
// In buffered mode, writeback is started every this many bytes so the final fsync finds
// little left to do and dirty pages do not pile up.
constexpr uint64_t kWritebackInterval = uint64_t{16} << 20;

// Appends to a new file, bypassing the page cache (O_DIRECT) when the filesystem
// allows it and falling back to ordinary writes when it does not (tmpfs, some network
// filesystems). Leaves the descriptor in buffered mode after Finish.
class ObjectFileWriter {
 public:
  explicit ObjectFileWriter(int fd) : fd_(fd) {
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_DIRECT) != 0) return;
    staging_.reset(static_cast<char*>(std::aligned_alloc(kDirectAlignment, kDirectChunk)));
    FERRY_CHECK(staging_ != nullptr);
  }

  absl::Status Append(const char* data, size_t size) {
    while (staging_ != nullptr && size > 0) {
      const size_t n = std::min(size, kDirectChunk - staged_);
      std::memcpy(staging_.get() + staged_, data, n);
      staged_ += n;
      data += n;
      size -= n;
      if (staged_ < kDirectChunk) return absl::OkStatus();
      ssize_t written = ::pwrite(fd_, staging_.get(), kDirectChunk, static_cast<off_t>(size_));
      if (written == static_cast<ssize_t>(kDirectChunk)) {
        size_ += kDirectChunk;
        staged_ = 0;
        continue;
      }
      // Some filesystems accept O_DIRECT at open and refuse the write (EINVAL); a short
      // write or an error leaves the file's end unknown to O_DIRECT rules, so finish
      // the whole job with buffered writes from our own count.
      if (written < 0 && errno != EINVAL && errno != EINTR) {
        return core::ErrnoToStatus(errno, "write object");
      }
      RETURN_IF_ERROR(FallBackToBuffered());
    }
    return AppendBuffered(data, size);
  }

  // Writes what is still staged. Afterwards the descriptor takes ordinary writes.
  absl::Status Finish() { return FallBackToBuffered(); }

  uint64_t size() const { return size_ + staged_; }

 private:
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };

  absl::Status FallBackToBuffered() {
    if (staging_ == nullptr) return absl::OkStatus();
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
      return core::ErrnoToStatus(errno, "turn off O_DIRECT");
    }
    std::unique_ptr<char, FreeDeleter> staging = std::move(staging_);
    const size_t staged = std::exchange(staged_, 0);
    return AppendBuffered(staging.get(), staged);
  }

  absl::Status AppendBuffered(const char* data, size_t size) {
    if (size == 0) return absl::OkStatus();
    RETURN_IF_ERROR(core::PwriteAll(fd_, data, size, size_));
    const uint64_t before = size_;
    size_ += size;
    if (before / kWritebackInterval != size_ / kWritebackInterval) {
      // Best effort: the fsync before publishing is what makes the object durable.
      const uint64_t end = size_ / kWritebackInterval * kWritebackInterval;
      ::sync_file_range(fd_, static_cast<off_t>(end - kWritebackInterval),
                        static_cast<off_t>(kWritebackInterval), SYNC_FILE_RANGE_WRITE);
    }
    return absl::OkStatus();
  }

  const int fd_;
  std::unique_ptr<char, FreeDeleter> staging_;  // null in buffered mode
  size_t staged_ = 0;                            // bytes in staging_ after size_
  uint64_t size_ = 0;                            // bytes written to the file
};

using object_encoding::NewCompressor;
using object_encoding::ZstdCCtxPtr;


class FramePipeline {
 public:
  FramePipeline(int level, int threads, ObjectFileWriter& out)
      : level_(level), threads_(threads), out_(out), slots_(static_cast<size_t>(threads) + 2) {}

  ~FramePipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  // Reads, hashes and compresses all of `source`; returns its digest and size.
  absl::StatusOr<PutResult> Run(ByteSource& source) {
    core::Sha256 hasher;
    PutResult result;
    uint64_t next_read = 0;  // sequence number of the next block to fill
    for (bool end = false; !end; ++next_read) {
      Block& block = slots_[next_read % slots_.size()];
      RETURN_IF_ERROR(WaitUntil([&] { return block.state == State::kFree; }));
      if (block.input == nullptr) {
        // Slots get buffers on first use, uninitialised: a small put touches only
        // what it needs.
        block.input = std::make_unique_for_overwrite<char[]>(kBlockSize);
        block.output_capacity = ZSTD_compressBound(kBlockSize);
        block.output = std::make_unique_for_overwrite<char[]>(block.output_capacity);
      }
      ASSIGN_OR_RETURN(block.input_size, FillFromSource(source, block.input.get(), kBlockSize));
      end = block.input_size < kBlockSize;
      // An empty source still gets one (empty) frame; an empty last block adds nothing.
      if (block.input_size == 0 && next_read > 0) break;
      result.size += block.input_size;
      if (result.size > ObjectStore::kMaxObjectSize) {
        return absl::ResourceExhaustedError(
            Cat("object is larger than the limit of ", ObjectStore::kMaxObjectSize, " bytes"));
      }
      hasher.Update(block.input.get(), block.input_size);
      if (end && next_read == 0) {
        // The whole source fits in one block: no thread is worth starting for it.
        RETURN_IF_ERROR(Compress(NewCompressor(level_).get(), block));
        RETURN_IF_ERROR(out_.Append(block.output.get(), block.output_size));
        result.digest = hasher.Finish();
        return result;
      }
      Submit(next_read % slots_.size());
    }
    RETURN_IF_ERROR(WaitUntil([&] { return next_write_ == next_read; }));
    result.digest = hasher.Finish();
    return result;
  }

 private:
  enum class State { kFree, kQueued, kDone };
  struct Block {
    std::unique_ptr<char[]> input;
    size_t input_size = 0;
    std::unique_ptr<char[]> output;
    size_t output_capacity = 0;
    size_t output_size = 0;
    absl::Status status;         // of compression
    State state = State::kFree;  // guarded by mu_
  };

  static absl::Status Compress(ZSTD_CCtx* cctx, Block& block) {
    ASSIGN_OR_RETURN(block.output_size,
                     object_encoding::CompressFrame(cctx, block.input.get(), block.input_size,
                                                    block.output.get(), block.output_capacity));
    return absl::OkStatus();
  }

  // Blocks until `ready()` holds (checked under mu_) or the pipeline failed.
  template <typename Predicate>
  absl::Status WaitUntil(Predicate ready) {
    std::unique_lock<std::mutex> lock(mu_);
    progress_cv_.wait(lock, [&] { return ready() || !error_.ok(); });
    return error_;
  }

  void Submit(size_t index) {
    if (workers_.empty()) {
      for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slots_[index].state = State::kQueued;
      queue_.push_back(index);
    }
    work_cv_.notify_one();
  }

  void WorkerLoop() {
    ZstdCCtxPtr cctx = NewCompressor(level_);
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Block& block = slots_[queue_.front()];
      queue_.pop_front();
      // The caller leaves a queued block alone, so it is this worker's until done.
      lock.unlock();
      absl::Status status = Compress(cctx.get(), block);
      lock.lock();
      block.status = std::move(status);
      block.state = State::kDone;
      if (!writing_) WriteReadyBlocks(lock);
    }
  }

  // Appends the oldest blocks while they are compressed, one writer at a time; the
  // others just leave their blocks done for it. Called and returns with `lock` held.
  void WriteReadyBlocks(std::unique_lock<std::mutex>& lock) {
    writing_ = true;
    while (!stop_ && error_.ok()) {
      // The slot of the oldest unwritten block cannot hold a newer block: its slot is
      // freed only below, so kDone here means it is the block to write.
      Block& block = slots_[next_write_ % slots_.size()];
      if (block.state != State::kDone) break;
      lock.unlock();
      absl::Status status =
          block.status.ok() ? out_.Append(block.output.get(), block.output_size) : block.status;
      lock.lock();
      if (!status.ok()) error_ = std::move(status);
      block.state = State::kFree;
      ++next_write_;
      progress_cv_.notify_all();
    }
    writing_ = false;
  }

  const int level_;
  const int threads_;
  ObjectFileWriter& out_;  // written by the one thread with writing_ set
  std::vector<Block> slots_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable work_cv_;      // workers: a block was queued, or stop
  std::condition_variable progress_cv_;  // caller: a block was written, or an error
  std::deque<size_t> queue_;             // guarded by mu_; slots to compress, oldest first
  uint64_t next_write_ = 0;              // guarded by mu_; sequence of the next block out
  bool writing_ = false;                 // guarded by mu_; a worker is appending blocks
  bool stop_ = false;                    // guarded by mu_
  absl::Status error_;                   // guarded by mu_; the first failure
};

}  // namespace

absl::StatusOr<PutResult> ObjectStore::WriteBody(ByteSource& source, int fd, int level,
                                                 int threads) {
  ObjectFileWriter out(fd);
  // Zeroes reserve the header's room; the real header goes in last, once the size and
  // digest are known, so a torn file never carries a valid header.
  const std::string zero_header(kHeaderSize, '\0');
  RETURN_IF_ERROR(out.Append(zero_header.data(), zero_header.size()));
  PutResult result;
  {
    FramePipeline pipeline(level, threads, out);
    ASSIGN_OR_RETURN(result, pipeline.Run(source));
  }
  RETURN_IF_ERROR(out.Finish());
  result.stored_size = out.size();
  return result;
}

}  // namespace ferry::store
