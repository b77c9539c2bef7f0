// The ChunkedFileWriter pipeline: one reading, hashing and chunking thread (the
// caller), one stream thread for the observer (only when there is one), worker threads
// (chunk SHA-256, dedup, compression, temporary object files). Design:
// chunked_file_writer.h.
//
// Blocks are refcounted buffers from a fixed pool: a block is referenced by the stream
// queue and by every chunk job cut from it, and goes back to the pool when the last of
// them is done, so memory is bounded by the pool whatever the file's size.
//
// Lock order: Pipeline::mu_ may be held while a BlockRef is dropped (which takes the
// pool's mutex); the pool never takes Pipeline::mu_.

#include "store/byte_streams.h"
#include "store/chunked_file_pipeline.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store::chunked_file_internal {
namespace {

using core::Cat;
using core::Digest;

constexpr size_t kReadSize = size_t{8} << 20;
constexpr size_t kPoolBlocks = 6;
constexpr size_t kMaxQueuedPieces = 3;  // blocks waiting for the stream thread

using BlockRef = std::shared_ptr<char>;

// Hands out at most `count` buffers of `capacity` bytes, allocated on first use and
// uninitialised; a buffer comes back when the last BlockRef to it is dropped.
class BlockPool {
 public:
  BlockPool(size_t capacity, size_t count) : capacity_(capacity), count_(count) {}

  // Waits for a free buffer; returns null once cancelled.
  BlockRef Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return cancelled_ || !free_.empty() || owned_.size() < count_; });
    if (cancelled_) return nullptr;
    char* buffer;
    if (!free_.empty()) {
      buffer = free_.back();
      free_.pop_back();
    } else {
      owned_.push_back(std::make_unique_for_overwrite<char[]>(capacity_));
      buffer = owned_.back().get();
    }
    return BlockRef(buffer, [this](char* p) { Release(p); });
  }

  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  size_t capacity() const { return capacity_; }

 private:
  void Release(char* buffer) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(buffer);
    cv_.notify_one();
  }

  const size_t capacity_;
  const size_t count_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<char[]>> owned_;  // guarded by mu_
  std::vector<char*> free_;                     // guarded by mu_
  bool cancelled_ = false;                      // guarded by mu_
};

// Reads until `size` bytes or the end of the source; returns the count.

class Pipeline {
 public:
  Pipeline(const Chunker& chunker, ObjectBatch& batch, int threads,
           const ChunkedFileOptions& options)
      : pool_(chunker.options().max_size + kReadSize, kPoolBlocks),
        chunker_(chunker),
        batch_(batch),
        options_(options) {
    chunker_.Reset();
    if (options_.observer) streamer_ = std::thread([this] { StreamLoop(); });
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  ~Pipeline() {
    Fail(absl::CancelledError("chunked write abandoned"));  // no-op after Finish
    Join();
  }

  absl::StatusOr<ChunkedFileResult> Run(ByteSource& source) {
    absl::Status status = ReadAndCut(source);
    if (!status.ok()) Fail(std::move(status));
    {
      std::lock_guard<std::mutex> lock(mu_);
      input_done_ = true;
    }
    work_cv_.notify_all();
    stream_cv_.notify_all();
    Join();
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(error_);
    finished_ = true;
    result_.manifest.size = size_;
    result_.manifest.sha256 = file_hasher_.Finish();
    result_.manifest.chunks = std::move(chunks_);
    return std::move(result_);
  }

 private:
  struct Piece {  // bytes for the stream thread
    BlockRef block;
    std::string_view bytes;
  };
  struct Job {  // one chunk for a worker
    BlockRef block;
    std::string_view bytes;
    size_t index = 0;
  };

  void Join() {
    if (streamer_.joinable()) streamer_.join();
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  void Fail(absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_ || !error_.ok()) return;
      error_ = std::move(status);
    }
    work_cv_.notify_all();
    stream_cv_.notify_all();
    space_cv_.notify_all();
    pool_.Cancel();
  }

  absl::Status CurrentError() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  // The calling thread: blocks from the source, cut into chunks for the workers.
  absl::Status ReadAndCut(ByteSource& source) {
    BlockRef previous;
    std::string_view carry;  // the unfinished chunk at the end of `previous`
    while (true) {
      BlockRef block = pool_.Acquire();
      if (block == nullptr) return CurrentError();
      char* data = block.get();
      if (!carry.empty()) std::memcpy(data, carry.data(), carry.size());
      previous.reset();
      ASSIGN_OR_RETURN(size_t got, FillFromSource(source, data + carry.size(), kReadSize));
      const bool end = got < kReadSize;
      size_ += got;
      if (size_ > ObjectStore::kMaxObjectSize) {
        return absl::ResourceExhaustedError(
            Cat("file is larger than the limit of ", ObjectStore::kMaxObjectSize, " bytes"));
      }
      if (got > 0) {
        // The whole-file hash runs here, beside reading and cutting (light work), not
        // on the stream thread: the observer (CSV statistics) is the heaviest serial
        // stage, and the two together were the pipeline's longest chain.
        file_hasher_.Update(data + carry.size(), got);
        if (options_.observer) RETURN_IF_ERROR(Stream(Piece{block, {data + carry.size(), got}}));
      }
      if (options_.progress) options_.progress(size_);

      const size_t filled = carry.size() + got;
      size_t start = 0;  // of the current chunk
      for (size_t scanned = carry.size(); scanned < filled;) {
        std::optional<size_t> cut = chunker_.Next({data + scanned, filled - scanned});
        if (!cut) break;
        scanned += *cut;
        RETURN_IF_ERROR(Dispatch(block, {data + start, scanned - start}));
        start = scanned;
      }
      if (end) {
        if (start < filled) RETURN_IF_ERROR(Dispatch(block, {data + start, filled - start}));
        return absl::OkStatus();
      }
      carry = {data + start, filled - start};
      previous = std::move(block);
    }
  }

  absl::Status Stream(Piece piece) {
    std::unique_lock<std::mutex> lock(mu_);
    space_cv_.wait(lock, [this] { return !error_.ok() || pieces_.size() < kMaxQueuedPieces; });
    RETURN_IF_ERROR(error_);
    pieces_.push_back(std::move(piece));
    stream_cv_.notify_one();
    return absl::OkStatus();
  }

  absl::Status Dispatch(const BlockRef& block, std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(error_);
    if (chunks_.size() >= kMaxManifestChunks) {
      return absl::ResourceExhaustedError(
          Cat("file has more than ", kMaxManifestChunks, " chunks, the limit of a manifest"));
    }
    jobs_.push_back(Job{block, bytes, chunks_.size()});
    chunks_.emplace_back();
    work_cv_.notify_one();
    return absl::OkStatus();
  }

  // The stream thread: the observer, with every byte in order.
  void StreamLoop() {
    while (true) {
      Piece piece;
      {
        std::unique_lock<std::mutex> lock(mu_);
        stream_cv_.wait(lock, [this] { return !error_.ok() || !pieces_.empty() || input_done_; });
        if (!error_.ok() || pieces_.empty()) return;
        piece = std::move(pieces_.front());
        pieces_.pop_front();
      }
      space_cv_.notify_one();
      absl::Status status = options_.observer(piece.bytes);
      if (!status.ok()) return Fail(std::move(status));
    }
  }

  // A worker: chunk SHA-256, dedup, compression and write of new chunks.
  void WorkerLoop() {
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [this] { return !error_.ok() || !jobs_.empty() || input_done_; });
        if (!error_.ok() || jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      absl::Status status = Store(job);
      if (!status.ok()) return Fail(std::move(status));
    }
  }

  absl::Status Store(const Job& job) {
    const Digest digest = core::Sha256::Of(job.bytes);
    ASSIGN_OR_RETURN(ObjectBatch::Presence presence, batch_.Claim(digest));
    uint64_t stored = 0;
    if (presence == ObjectBatch::Presence::kNew) {
      ASSIGN_OR_RETURN(stored, batch_.Write(digest, job.bytes));
    }
    const auto size = static_cast<uint32_t>(job.bytes.size());
    std::lock_guard<std::mutex> lock(mu_);
    chunks_[job.index] = ChunkRef{digest, size};
    if (presence == ObjectBatch::Presence::kNew) {
      ++result_.new_chunks;
      result_.new_bytes += size;
      result_.stored_bytes += stored;
    } else {
      ++result_.reused_chunks;
      result_.reused_bytes += size;
    }
    return absl::OkStatus();
  }

  BlockPool pool_;   // first: destroyed after everything holding its blocks
  Chunker chunker_;  // calling thread only
  ObjectBatch& batch_;
  const ChunkedFileOptions& options_;
  uint64_t size_ = 0;         // calling thread only: bytes read
  core::Sha256 file_hasher_;  // calling thread only: the whole file
  std::thread streamer_;      // only with an observer
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable work_cv_;    // workers: a job, the end, or an error
  std::condition_variable stream_cv_;  // stream thread: a piece, the end, or an error
  std::condition_variable space_cv_;   // calling thread: room for a piece, or an error
  std::deque<Piece> pieces_;           // guarded by mu_
  std::deque<Job> jobs_;               // guarded by mu_
  std::vector<ChunkRef> chunks_;       // guarded by mu_; filled in by index
  ChunkedFileResult result_;           // guarded by mu_; the counts
  bool input_done_ = false;            // guarded by mu_
  bool finished_ = false;              // guarded by mu_
  absl::Status error_;                 // guarded by mu_; the first failure
};

}  // namespace

absl::StatusOr<ChunkedFileResult> RunPipeline(ByteSource& source, const Chunker& chunker,
                                              ObjectBatch& batch, int threads,
                                              const ChunkedFileOptions& options) {
  Pipeline pipeline(chunker, batch, threads, options);
  return pipeline.Run(source);
}

}  // namespace ferry::store::chunked_file_internal
