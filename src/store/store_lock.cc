#include "store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "core/strings.h"

namespace ferry::store {

using core::Cat;

absl::StatusOr<StoreLock> StoreLock::Acquire(const std::filesystem::path& path, Mode mode,
                                             std::chrono::milliseconds timeout) {
  core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return core::ErrnoToStatus(errno, Cat("open lock file ", path.string()));
  const int operation = (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  // flock has no timeout: poll, backing off from 1 ms to 50 ms between tries.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (::flock(fd.get(), operation) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return core::ErrnoToStatus(errno, Cat("lock ", path.string()));
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return absl::UnavailableError(
          Cat("the object store is locked (", path.string(), ") by another ferry command: ",
              mode == Mode::kShared ? "garbage collection is running" : "data is being added",
              ", try again later"));
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return StoreLock(std::move(fd), mode);
}

}  // namespace ferry::store
