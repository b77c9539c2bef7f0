#pragma once

// Crash-safe file primitives. Every write in ferry that must survive a crash goes
// through AtomicFile: bytes go to a temporary name in the destination folder, are
// fsync'ed, renamed over the final name, and the folder is fsync'ed, so a reader
// sees either the old file or the complete new one, never a torn one.
//
// Thread-safety: an AtomicFile or UniqueFd is used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::core {

// A Status from an errno value, with the code that fits it (ENOENT -> NotFound,
// EACCES -> PermissionDenied, ENOSPC -> ResourceExhausted, ...).
absl::Status ErrnoToStatus(int error_number, std::string_view context);

// Owns a POSIX file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset();

 private:
  int fd_ = -1;
};

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
absl::Status WriteAll(int fd, const void* data, size_t size);
// Writes all of `data` at `offset` (pwrite), retrying on EINTR and short writes.
absl::Status PwriteAll(int fd, const char* data, size_t size, uint64_t offset);
// Reads up to `size` bytes, retrying on EINTR; returns the count (0 at end of file).
absl::StatusOr<size_t> ReadSome(int fd, void* data, size_t size);
// Reads until `size` bytes or end of file; returns the count.
absl::StatusOr<size_t> ReadFull(int fd, void* data, size_t size);

absl::Status FsyncDirectory(const std::filesystem::path& dir);

// The bytes an unprivileged writer may still use on the filesystem that holds `path`
// (statvfs: available blocks times fragment size); the errno-derived status when
// statvfs fails.
absl::StatusOr<uint64_t> FreeDiskSpace(const std::filesystem::path& path);
// How code that checks for space asks; tests pass a fake to simulate a full disk.
using FreeSpaceProbe = std::function<absl::StatusOr<uint64_t>(const std::filesystem::path&)>;
// OkStatus when `probe` (FreeDiskSpace if empty) reports at least `needed` bytes free
// at `path`; otherwise ResourceExhausted "not enough free disk space: WHAT may need
// 2.0 GiB, 1.1 GiB free in PATH" (`what` e.g. "adding x.csv"), or the probe's error.
absl::Status CheckFreeSpace(const std::filesystem::path& path, uint64_t needed,
                            std::string_view what, const FreeSpaceProbe& probe = {});

// Reads a whole file that must not exceed `max_size` bytes (ResourceExhausted if it does,
// NotFound if it does not exist).
absl::StatusOr<std::string> ReadFileToString(const std::filesystem::path& path, size_t max_size);

// A file written under a temporary name and published atomically by Commit().
// Dropping an uncommitted AtomicFile removes the temporary file.
class AtomicFile {
 public:
  // Opens a fresh temporary file next to `final_path` (same folder, so rename is
  // atomic). Fails with the errno-derived status if the folder is not writable.
  static absl::StatusOr<AtomicFile> Create(const std::filesystem::path& final_path);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  absl::Status Append(std::string_view data) { return WriteAll(fd_.get(), data.data(), data.size()); }
  int fd() const { return fd_.get(); }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  // fsync, rename over the final path (replacing it), fsync the folder.
  absl::Status Commit();
  // Like Commit but fails with AlreadyExists, leaving the existing file untouched,
  // when the final path exists (link(2) + unlink, atomic on POSIX filesystems).
  absl::Status CommitNoReplace();

 private:
  AtomicFile(std::filesystem::path final_path, std::filesystem::path temp_path, UniqueFd fd)
      : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)), fd_(std::move(fd)) {}

  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  UniqueFd fd_;
  bool committed_ = false;
};

// Replaces `path` with `contents` through an AtomicFile.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace ferry::core
