// ObjectStore puts: the content goes to a flock'ed temporary file under ROOT/tmp (body
// by the pipeline in object_store_frames.cc, header last), which is made durable and
// then published under its final name with link(2) (docs/object-format.md).

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

#include "core/status.h"
#include "core/strings.h"
#include "store/byte_streams.h"
#include "store/object_encoding.h"
#include "store/object_store.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Cat;
using core::Digest;

// A put's temporary file under ROOT/tmp. The put holds an exclusive flock on it for
// its whole life, which tells CleanTemporaryFiles it is alive. Removed on destruction.
class TempObject {
 public:
  static absl::StatusOr<TempObject> Create(const fs::path& tmp_dir) {
    thread_local std::mt19937_64 rng(std::random_device{}());
    for (int attempt = 0; attempt < 8; ++attempt) {
      fs::path path = tmp_dir / fmt::format("put-{}-{:016x}.tmp", ::getpid(), rng());
      core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
      if (!fd.valid()) {
        if (errno == EEXIST) continue;
        return core::ErrnoToStatus(errno, Cat("create temporary object in ", tmp_dir.string()));
      }
      TempObject temp(std::move(path), std::move(fd));
      if (::flock(temp.fd_.get(), LOCK_EX) != 0) {
        return core::ErrnoToStatus(errno, Cat("lock ", temp.path_.string()));
      }
      return temp;
    }
    return absl::InternalError("could not pick a free temporary object name");
  }

  TempObject(TempObject&& other) noexcept
      : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)) {}
  TempObject& operator=(TempObject&&) = delete;
  ~TempObject() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  int fd() const { return fd_.get(); }
  const fs::path& path() const { return path_; }

 private:
  TempObject(fs::path path, core::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  fs::path path_;
  core::UniqueFd fd_;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view bytes) : bytes_(bytes) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    size_t n = std::min(size, bytes_.size());
    std::memcpy(buffer, bytes_.data(), n);
    bytes_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view bytes_;
};


}  // namespace

absl::StatusOr<PutResult> ObjectStore::Put(ByteSource& source) {
  ASSIGN_OR_RETURN(TempObject temp, TempObject::Create(tmp_dir_));
  ASSIGN_OR_RETURN(PutResult result,
                   WriteBody(source, temp.fd(), options_.compression_level, threads_));
  const std::string header = object_encoding::EncodeHeader(result.digest, result.size);
  if (::pwrite(temp.fd(), header.data(), header.size(), 0) != static_cast<ssize_t>(kHeaderSize)) {
    return core::ErrnoToStatus(errno, Cat("write header of ", temp.path().string()));
  }
  if (::fsync(temp.fd()) != 0) {
    return core::ErrnoToStatus(errno, Cat("fsync ", temp.path().string()));
  }

  const fs::path final_path = PathOf(result.digest);
  const fs::path shard = final_path.parent_path();
  if (::mkdir(shard.c_str(), 0755) == 0) {
    RETURN_IF_ERROR(core::FsyncDirectory(root_));
  } else if (errno != EEXIST) {
    return core::ErrnoToStatus(errno, Cat("create folder ", shard.string()));
  }
  // link(2), unlike rename(2), fails when the name exists: of several concurrent puts
  // of the same content exactly one creates the object and the others learn that it
  // already existed, without ever replacing a published file.
  if (::link(temp.path().c_str(), final_path.c_str()) != 0) {
    if (errno != EEXIST) return core::ErrnoToStatus(errno, Cat("publish ", final_path.string()));
    result.already_existed = true;
    struct stat st {};
    if (::stat(final_path.c_str(), &st) == 0) result.stored_size = static_cast<uint64_t>(st.st_size);
  }
  // Syncing the shard even when the object existed makes sure the put that created
  // it concurrently is durable before this one reports success.
  RETURN_IF_ERROR(core::FsyncDirectory(shard));
  return result;  // ~TempObject removes the temporary name
}

absl::StatusOr<PutResult> ObjectStore::PutBytes(std::string_view bytes) {
  // Hashing first is cheap next to compressing and spares the write for known content.
  const Digest digest = core::Sha256::Of(bytes);
  absl::StatusOr<ObjectInfo> existing = Stat(digest);
  if (existing.ok()) return PutResult{digest, bytes.size(), existing->stored_size, true};
  StringSource source(bytes);
  return Put(source);
}

absl::StatusOr<PutResult> ObjectStore::PutFile(const fs::path& path) {
  ASSIGN_OR_RETURN(core::UniqueFd fd, OpenForSequentialRead(path));
  return PutFd(fd.get());
}

absl::StatusOr<PutResult> ObjectStore::PutFd(int fd) {
  FdSource source(fd);
  return Put(source);
}

}  // namespace ferry::store
