// ObjectBatch: temporary object files without fsync, syncfs, links, syncfs
// (object_batch.h, docs/object-format.md "Batches").
//
// Why syncfs rather than fsync per file and per folder: on ext4 every fsync waits for
// a journal commit and flushes the device's cache. Measured on the 2-core development
// machine for a 1 GiB CSV (850 chunk files of ~640 KB, 248 shard folders): an fsync
// per file took 2.8 s where one syncfs took 6 ms (the data had been written with
// O_DIRECT or its writeback started already), and an fsync per shard folder 0.9 s
// (~3.8 ms each) where a second syncfs takes milliseconds. syncfs also flushes other
// processes' dirty data on the same filesystem; so does an ext4 journal commit in the
// default data=ordered mode, which every fsync waits for.

#include "store/object_batch.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Cat;
using core::Digest;

absl::StatusOr<std::pair<fs::path, core::UniqueFd>> MakeLockedFolder(const fs::path& tmp_dir) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0; attempt < 8; ++attempt) {
    fs::path path = tmp_dir / fmt::format("batch-{}-{:016x}", ::getpid(), rng());
    if (::mkdir(path.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return core::ErrnoToStatus(errno, Cat("create batch folder in ", tmp_dir.string()));
    }
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      const int error = errno;
      ::rmdir(path.c_str());
      return core::ErrnoToStatus(error, Cat("open ", path.string()));
    }
    // CleanTemporaryFiles leaves a folder alone while this lock is held, and the
    // kernel drops it when the process dies, however it dies.
    if (::flock(fd.get(), LOCK_EX) != 0) {
      const int error = errno;
      ::rmdir(path.c_str());
      return core::ErrnoToStatus(error, Cat("lock ", path.string()));
    }
    return std::make_pair(std::move(path), std::move(fd));
  }
  return absl::InternalError("could not pick a free batch folder name");
}

// Writes `file` (its start aligned for O_DIRECT) to the new file `path`. The whole
// 4 KiB blocks go out with O_DIRECT, which spares the copy into the page cache (on
// this 2-core machine the copy costs as much CPU as a fifth of the compression); the
// tail goes through the page cache, with writeback started at once. Filesystems
// without O_DIRECT (tmpfs) clear `direct_io` and get ordinary writes.
absl::Status WriteNewFile(const fs::path& path, std::string_view file,
                          std::atomic<bool>& direct_io) {
  constexpr size_t kBlock = object_encoding::ObjectEncoder::kBufferAlignment;
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  bool direct = direct_io.load(std::memory_order_relaxed) && file.size() >= kBlock;
  core::UniqueFd fd(::open(path.c_str(), kFlags | (direct ? O_DIRECT : 0), 0444));
  if (!fd.valid() && direct && errno == EINVAL) {
    direct_io = direct = false;
    fd = core::UniqueFd(::open(path.c_str(), kFlags, 0444));
  }
  if (!fd.valid()) return core::ErrnoToStatus(errno, Cat("create ", path.string()));
  size_t done = 0;
  if (direct) {
    const size_t aligned = file.size() / kBlock * kBlock;
    while (done < aligned) {
      const ssize_t n = ::pwrite(fd.get(), file.data() + done, aligned - done, done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL) {  // accepted at open, refused at write
        direct_io = false;
        break;
      }
      if (n < 0) return core::ErrnoToStatus(errno, Cat("write ", path.string()));
      done += static_cast<size_t>(n);
      if (done % kBlock != 0) break;  // a short write: finish with ordinary writes
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
      return core::ErrnoToStatus(errno, Cat("turn off O_DIRECT on ", path.string()));
    }
  }
  RETURN_IF_ERROR(core::PwriteAll(fd.get(), file.data() + done, file.size() - done, done));
  // Start writeback of what went through the page cache now, so that Commit's syncfs
  // waits for little. Best effort.
  if (done < file.size()) {
    ::sync_file_range(fd.get(), static_cast<off_t>(done), 0, SYNC_FILE_RANGE_WRITE);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectBatch>> ObjectBatch::Create(ObjectStore& store,
                                                                 const Options& options) {
  if (options.compression_level < ObjectStore::kMinCompressionLevel ||
      options.compression_level > ObjectStore::kMaxCompressionLevel) {
    return absl::InvalidArgumentError(
        Cat("compression level must be in [", ObjectStore::kMinCompressionLevel, ", ",
            ObjectStore::kMaxCompressionLevel, "], got ", options.compression_level));
  }
  ASSIGN_OR_RETURN(auto folder, MakeLockedFolder(store.temp_dir()));
  return std::unique_ptr<ObjectBatch>(
      new ObjectBatch(store, options, std::move(folder.first), std::move(folder.second)));
}

ObjectBatch::~ObjectBatch() { RemoveTemporaryFolder(); }

void ObjectBatch::RemoveTemporaryFolder() {
  std::error_code ec;
  fs::remove_all(folder_, ec);  // best effort: CleanTemporaryFiles catches what is left
}

absl::StatusOr<ObjectBatch::Presence> ObjectBatch::Claim(const Digest& digest) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (committed_) return absl::FailedPreconditionError("object batch already committed");
    if (!states_.try_emplace(digest, State::kClaimed).second) return Presence::kInBatch;
  }
  absl::StatusOr<bool> exists = store_.Exists(digest);
  std::lock_guard<std::mutex> lock(mu_);
  if (!exists.ok()) {
    states_.erase(digest);
    return exists.status();
  }
  if (*exists) {
    states_[digest] = State::kInStore;
    return Presence::kInStore;
  }
  return Presence::kNew;
}

absl::StatusOr<uint64_t> ObjectBatch::Write(const Digest& digest, std::string_view content) {
  std::unique_ptr<object_encoding::ObjectEncoder> encoder;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = states_.find(digest);
    if (committed_ || it == states_.end() || it->second != State::kClaimed) {
      return absl::FailedPreconditionError(
          Cat("object ", digest.ToHex(), " was not claimed as new in this batch"));
    }
    if (!encoders_.empty()) {
      encoder = std::move(encoders_.back());
      encoders_.pop_back();
    }
  }
  if (encoder == nullptr) {
    encoder = std::make_unique<object_encoding::ObjectEncoder>(options_.compression_level);
  }
  const fs::path path = folder_ / digest.ToHex();
  auto write = [&]() -> absl::StatusOr<uint64_t> {
    ASSIGN_OR_RETURN(std::string_view file, encoder->Encode(digest, content));
    RETURN_IF_ERROR(WriteNewFile(path, file, direct_io_));
    return file.size();
  };
  absl::StatusOr<uint64_t> stored = write();
  if (!stored.ok()) ::unlink(path.c_str());
  std::lock_guard<std::mutex> lock(mu_);
  encoders_.push_back(std::move(encoder));
  if (!stored.ok()) {
    if (failure_.ok()) failure_ = stored.status();
    return stored.status();
  }
  states_[digest] = State::kWritten;
  written_.push_back(digest);
  ++stats_.objects_written;
  stats_.bytes_written += content.size();
  stats_.stored_bytes += *stored;
  return stored;
}

absl::StatusOr<ObjectBatch::Presence> ObjectBatch::Add(std::string_view content) {
  const Digest digest = core::Sha256::Of(content);
  ASSIGN_OR_RETURN(Presence presence, Claim(digest));
  if (presence == Presence::kNew) RETURN_IF_ERROR(Write(digest, content).status());
  return presence;
}

ObjectBatch::Stats ObjectBatch::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status ObjectBatch::Commit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (committed_) return absl::FailedPreconditionError("object batch already committed");
    committed_ = true;
    if (!failure_.ok()) {
      return absl::FailedPreconditionError(
          Cat("object batch cannot commit after a failed write: ", core::View(failure_.message())));
    }
    for (const auto& [digest, state] : states_) {
      if (state == State::kClaimed) {
        return absl::FailedPreconditionError(
            Cat("object ", digest.ToHex(), " was claimed in the batch but never written"));
      }
    }
  }
  // 1. Every temporary file's data and inode, durable before any name points at it.
  if (!written_.empty()) RETURN_IF_ERROR(SyncFilesystem());
  // 2. The names. An existing name holds the same bytes already.
  for (const Digest& digest : written_) {
    const fs::path final_path = store_.PathOf(digest);
    const fs::path temp_path = folder_ / final_path.filename();
    if (::link(temp_path.c_str(), final_path.c_str()) == 0 || errno == EEXIST) continue;
    if (errno != ENOENT) return core::ErrnoToStatus(errno, Cat("publish ", final_path.string()));
    // The shard folder does not exist yet.
    if (::mkdir(final_path.parent_path().c_str(), 0755) != 0 && errno != EEXIST) {
      return core::ErrnoToStatus(errno, Cat("create folder ", final_path.parent_path().string()));
    }
    if (::link(temp_path.c_str(), final_path.c_str()) != 0 && errno != EEXIST) {
      return core::ErrnoToStatus(errno, Cat("publish ", final_path.string()));
    }
  }
  // 3. The names durable: ours, new shard folders, and those of objects found in the
  // store, which a concurrent writer may have linked without having synced them yet.
  if (!states_.empty()) RETURN_IF_ERROR(SyncFilesystem());
  RemoveTemporaryFolder();
  return absl::OkStatus();
}

absl::Status ObjectBatch::SyncFilesystem() {
  if (::syncfs(folder_fd_.get()) != 0) {
    return core::ErrnoToStatus(errno, Cat("syncfs for ", folder_.string()));
  }
  return absl::OkStatus();
}

}  // namespace ferry::store
