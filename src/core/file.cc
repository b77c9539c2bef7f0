#include "core/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::core {

absl::Status ErrnoToStatus(int error_number, std::string_view context) {
  std::string message = Cat(context, ": ", std::strerror(error_number));
  switch (error_number) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EFBIG:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
    case ENAMETOOLONG:
    case EISDIR:
      return absl::InvalidArgumentError(message);
    case EIO:
      return absl::DataLossError(message);
    case EAGAIN:
    case EBUSY:
    case EINTR:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PwriteAll(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "write");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ReadSome(int fd, void* data, size_t size) {
  while (true) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoToStatus(errno, "read");
  }
}

absl::StatusOr<size_t> ReadFull(int fd, void* data, size_t size) {
  size_t total = 0;
  char* p = static_cast<char*>(data);
  while (total < size) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(fd, p + total, size - total));
    if (n == 0) break;
    total += n;
  }
  return total;
}

absl::Status FsyncDirectory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, Cat("open folder ", dir.string()));
  if (::fsync(fd.get()) != 0) return ErrnoToStatus(errno, Cat("fsync ", dir.string()));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FreeDiskSpace(const std::filesystem::path& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    return ErrnoToStatus(errno, Cat("free space of ", path.string()));
  }
  return static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
}

absl::Status CheckFreeSpace(const std::filesystem::path& path, uint64_t needed,
                            std::string_view what, const FreeSpaceProbe& probe) {
  ASSIGN_OR_RETURN(uint64_t free, probe ? probe(path) : FreeDiskSpace(path));
  if (free >= needed) return absl::OkStatus();
  return absl::ResourceExhaustedError(Cat("not enough free disk space: ", what, " may need ",
                                          HumanBytes(needed), ", ", HumanBytes(free), " free in ",
                                          path.string()));
}

absl::StatusOr<std::string> ReadFileToString(const std::filesystem::path& path, size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, Cat("open ", path.string()));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus(errno, Cat("stat ", path.string()));
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return absl::ResourceExhaustedError(fmt::format(
        "{} is {} bytes, more than the limit of {}", path.string(), st.st_size, max_size));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  ASSIGN_OR_RETURN(size_t n, ReadFull(fd.get(), out.data(), out.size()));
  out.resize(n);
  return out;
}

absl::StatusOr<AtomicFile> AtomicFile::Create(const std::filesystem::path& final_path) {
  // The random suffix keeps concurrent writers of the same final name apart.
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::filesystem::path dir = final_path.parent_path();
  if (dir.empty()) dir = ".";
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::filesystem::path temp = dir / fmt::format(".{}.tmp-{}-{:016x}",
                                                       final_path.filename().string(), ::getpid(),
                                                       rng());
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.valid()) {
      // Held for the temporary file's life: it tells cleaners of temporary folders
      // (store/temporary_files.h) that its writer is alive; the kernel drops it when the
      // process dies, however it dies. Best effort: a destination on a filesystem without
      // flock (an export to some network mounts) is still written; `.ferry` itself needs
      // flock anyway (the object store's puts fail without it).
      (void)::flock(fd.get(), LOCK_EX);
      return AtomicFile(final_path, temp, std::move(fd));
    }
    if (errno != EEXIST) {
      return ErrnoToStatus(errno, Cat("create temporary file in ", dir.string()));
    }
  }
  return absl::InternalError("could not pick a free temporary file name");
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::move(other.fd_)),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing to clean up
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_path_.empty()) {
    fd_.Reset();
    ::unlink(temp_path_.c_str());
  }
}

absl::Status AtomicFile::Commit() {
  if (::fsync(fd_.get()) != 0) return ErrnoToStatus(errno, "fsync " + temp_path_.string());
  fd_.Reset();
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename to " + final_path_.string());
  }
  committed_ = true;
  std::filesystem::path dir = final_path_.parent_path();
  return FsyncDirectory(dir.empty() ? std::filesystem::path(".") : dir);
}

absl::Status AtomicFile::CommitNoReplace() {
  if (::fsync(fd_.get()) != 0) return ErrnoToStatus(errno, "fsync " + temp_path_.string());
  fd_.Reset();
  if (::link(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoToStatus(errno, "publish " + final_path_.string());
  }
  ::unlink(temp_path_.c_str());
  committed_ = true;
  std::filesystem::path dir = final_path_.parent_path();
  return FsyncDirectory(dir.empty() ? std::filesystem::path(".") : dir);
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  RETURN_IF_ERROR(file.Append(contents));
  return file.Commit();
}

}  // namespace ferry::core
