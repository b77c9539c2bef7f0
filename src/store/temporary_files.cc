#include "store/temporary_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;

// Removes a dead writer's folder and the files in it (writers make no subfolders);
// returns how many files it removed. Best effort, like the removal of a lone file.
size_t RemoveFolder(const fs::path& dir) {
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  ::rmdir(dir.c_str());
  return removed;
}

}  // namespace

absl::StatusOr<size_t> RemoveFilesOfDeadWriters(const fs::path& folder) {
  size_t removed = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  fs::directory_iterator it(folder, ec);
  if (ec == std::errc::no_such_file_or_directory) return removed;
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::path path = it->path();
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd.valid()) continue;  // vanished, or not ours to open: leave it
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) continue;
    std::error_code time_ec;
    const auto modified = fs::last_write_time(path, time_ec);
    if (time_ec || now - modified < kTemporaryFileGrace) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer holds it
    if (S_ISDIR(st.st_mode)) {
      removed += RemoveFolder(path);
    } else if (::unlink(path.c_str()) == 0) {
      ++removed;
    }
  }
  if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("list ", folder.string()));
  return removed;
}

}  // namespace ferry::store
