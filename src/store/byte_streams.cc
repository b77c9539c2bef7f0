#include "store/byte_streams.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {

absl::StatusOr<core::UniqueFd> OpenForSequentialRead(const std::filesystem::path& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::ErrnoToStatus(errno, core::Cat("open ", path.string()));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return core::ErrnoToStatus(errno, core::Cat("stat ", path.string()));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(core::Cat(path.string(), " is a folder, not a file"));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

absl::StatusOr<size_t> FillFromSource(ByteSource& source, char* buffer, size_t size) {
  size_t total = 0;
  while (total < size) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer + total, size - total));
    if (n == 0) break;
    if (n > size - total) {
      return absl::InternalError(
          core::Cat("byte source returned ", n, " bytes for a read of ", size - total));
    }
    total += n;
  }
  return total;
}

}  // namespace ferry::store
