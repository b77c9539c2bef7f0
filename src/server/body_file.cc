#include "server/body_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::server {

absl::StatusOr<std::shared_ptr<BodyFile>> BodyFile::Open(const std::filesystem::path& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::ErrnoToStatus(errno, core::Cat("open ", path.string()));
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) {
    return core::ErrnoToStatus(errno, core::Cat("stat ", path.string()));
  }
  return std::make_shared<BodyFile>(std::move(fd), static_cast<uint64_t>(info.st_size));
}

absl::StatusOr<size_t> BodyFile::ReadAt(uint64_t offset, char* data, size_t size) const {
  while (true) {
    ssize_t got = ::pread(fd_.get(), data, size, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return core::ErrnoToStatus(errno, "read the response body's file");
  }
}

absl::StatusOr<std::string> BodyFile::ReadAll() const {
  std::string bytes(size_, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ASSIGN_OR_RETURN(size_t got, ReadAt(done, bytes.data() + done, bytes.size() - done));
    if (got == 0) return absl::DataLossError("the response body's file is shorter than its size");
    done += got;
  }
  return bytes;
}

}  // namespace ferry::server
