// ChunkedFileReader: chunks fetched ahead by helper threads into a ring of slots, taken
// in order by the caller, who hashes the whole file (chunked_file_reader.h).

#include "store/byte_streams.h"
#include "store/chunked_file_reader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

using core::Cat;
using core::Digest;

// Collects one chunk's bytes, refusing more than the manifest gives it.
class SlotSink : public ByteSink {
 public:
  SlotSink(std::string& out, uint32_t limit, std::string_view name)
      : out_(out), limit_(limit), name_(name) {}
  absl::Status Write(std::string_view data) override {
    if (out_.size() + data.size() > limit_) {
      return absl::DataLossError(
          Cat(name_, " holds more than the ", limit_, " bytes the manifest records"));
    }
    out_.append(data);
    return absl::OkStatus();
  }

 private:
  std::string& out_;
  const uint32_t limit_;
  std::string_view name_;
};


}  // namespace

// Fetches the manifest's chunks, in order, `window` ahead of the consumer.
class ChunkFetcher {
 public:
  ChunkFetcher(const ObjectStore& store, const Manifest& manifest, int threads)
      : store_(store),
        manifest_(manifest),
        threads_(threads),
        slots_(static_cast<size_t>(2 * threads + 2)) {}

  ~ChunkFetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_list_) t.join();
  }

  // Waits for chunk `index` (the one after the last released). Its bytes stay valid
  // until Release.
  absl::StatusOr<std::string_view> Take(size_t index) {
    if (threads_list_.empty()) {
      for (int i = 0; i < threads_; ++i) threads_list_.emplace_back([this] { FetchLoop(); });
    }
    Slot& slot = slots_[index % slots_.size()];
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return slot.ready && slot.index == index; });
    RETURN_IF_ERROR(slot.status);
    return std::string_view(slot.bytes);
  }

  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    slots_[taken_ % slots_.size()].ready = false;
    ++taken_;
    cv_.notify_all();
  }

 private:
  struct Slot {
    std::string bytes;
    absl::Status status;
    size_t index = 0;    // guarded by mu_
    bool ready = false;  // guarded by mu_
  };

  void FetchLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] {
        return stop_ || next_ >= manifest_.chunks.size() || next_ < taken_ + slots_.size();
      });
      if (stop_ || next_ >= manifest_.chunks.size()) return;
      const size_t index = next_++;
      Slot& slot = slots_[index % slots_.size()];
      // The slot's previous chunk (index - window) was released: it is ours now.
      lock.unlock();
      absl::Status status = Fetch(index, slot.bytes);
      lock.lock();
      slot.status = std::move(status);
      slot.index = index;
      slot.ready = true;
      cv_.notify_all();
    }
  }

  absl::Status Fetch(size_t index, std::string& out) const {
    const ChunkRef& chunk = manifest_.chunks[index];
    const std::string name =
        Cat("chunk ", index, " of ", manifest_.chunks.size(), " (", chunk.digest.ToHex(), ")");
    out.clear();
    SlotSink sink(out, chunk.size, name);
    absl::Status status = store_.Get(chunk.digest, sink);
    if (!status.ok()) {
      return absl::Status(status.code(), Cat(name, " of file ", manifest_.sha256.ToHex(), ": ",
                                             core::View(status.message())));
    }
    if (out.size() != chunk.size) {
      return absl::DataLossError(
          Cat(name, " holds ", out.size(), " bytes, the manifest records ", chunk.size));
    }
    return absl::OkStatus();
  }

  const ObjectStore& store_;
  const Manifest& manifest_;
  const int threads_;
  std::vector<std::thread> threads_list_;  // consumer thread only

  std::mutex mu_;
  std::condition_variable cv_;  // any change below
  std::vector<Slot> slots_;     // a slot's bytes/status belong to its fetcher until ready
  size_t next_ = 0;             // guarded by mu_; the next chunk to fetch
  size_t taken_ = 0;            // guarded by mu_; chunks released by the consumer
  bool stop_ = false;           // guarded by mu_
};

absl::StatusOr<std::unique_ptr<ChunkedFileReader>> ChunkedFileReader::Open(
    const ObjectStore& store, const Digest& manifest_digest, const Options& options) {
  ASSIGN_OR_RETURN(Manifest manifest, GetManifest(store, manifest_digest));
  return Open(store, std::move(manifest), options);
}

absl::StatusOr<std::unique_ptr<ChunkedFileReader>> ChunkedFileReader::Open(const ObjectStore& store,
                                                                           Manifest manifest,
                                                                           const Options& options) {
  if (options.threads < 0 || options.threads > ObjectStore::kMaxThreads) {
    return absl::InvalidArgumentError(Cat("chunked read threads must be in [0, ",
                                          ObjectStore::kMaxThreads, "], got ", options.threads));
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                       ObjectStore::kMaxThreads);
  std::unique_ptr<ChunkedFileReader> reader(new ChunkedFileReader(std::move(manifest), nullptr));
  // The fetcher refers to the reader's own copy of the manifest.
  reader->fetcher_ = std::make_unique<ChunkFetcher>(store, reader->manifest_, threads);
  return reader;
}

ChunkedFileReader::ChunkedFileReader(Manifest manifest, std::unique_ptr<ChunkFetcher> fetcher)
    : manifest_(std::move(manifest)), fetcher_(std::move(fetcher)) {}

ChunkedFileReader::~ChunkedFileReader() = default;

absl::StatusOr<bool> ChunkedFileReader::Advance() {
  if (holding_) {
    fetcher_->Release();
    holding_ = false;
  }
  if (next_chunk_ == manifest_.chunks.size()) {
    done_ = true;
    const Digest actual = hasher_.Finish();
    if (produced_ != manifest_.size || actual != manifest_.sha256) {
      return absl::DataLossError(Cat("file rebuilt from its manifest has ", produced_,
                                     " bytes hashing to ", actual.ToHex(),
                                     ", the manifest records ", manifest_.size,
                                     " bytes hashing to ", manifest_.sha256.ToHex()));
    }
    return false;
  }
  ASSIGN_OR_RETURN(current_, fetcher_->Take(next_chunk_));
  holding_ = true;
  ++next_chunk_;
  hasher_.Update(current_);
  produced_ += current_.size();
  return true;
}

absl::StatusOr<size_t> ChunkedFileReader::Read(char* buffer, size_t size) {
  RETURN_IF_ERROR(error_);
  while (current_.empty() && !done_ && size > 0) {
    absl::StatusOr<bool> more = Advance();
    if (!more.ok()) {
      error_ = more.status();
      return error_;
    }
  }
  const size_t n = std::min(size, current_.size());
  std::memcpy(buffer, current_.data(), n);
  current_.remove_prefix(n);
  return n;
}

absl::Status ChunkedFileReader::CopyTo(ByteSink& sink) {
  RETURN_IF_ERROR(error_);
  while (!done_) {
    if (!current_.empty()) {
      absl::Status status = sink.Write(current_);
      current_ = {};
      if (!status.ok()) return error_ = status;
    }
    absl::StatusOr<bool> more = Advance();
    if (!more.ok()) return error_ = more.status();
  }
  return absl::OkStatus();
}

absl::Status ReadChunkedFile(const ObjectStore& store, const Digest& manifest_digest,
                             ByteSink& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChunkedFileReader> reader,
                   ChunkedFileReader::Open(store, manifest_digest, {}));
  return reader->CopyTo(sink);
}

absl::Status ExportChunkedFile(const ObjectStore& store, const Digest& manifest_digest,
                               const std::filesystem::path& destination) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChunkedFileReader> reader,
                   ChunkedFileReader::Open(store, manifest_digest, {}));
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(destination));
  FdSink sink(file.fd());
  RETURN_IF_ERROR(reader->CopyTo(sink));
  return file.Commit();  // an uncommitted AtomicFile removes its temporary file
}

}  // namespace ferry::store
