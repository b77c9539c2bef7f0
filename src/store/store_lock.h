#pragma once

// StoreLock: the workspace-wide advisory lock that keeps garbage collection away from
// writes in progress. Writers (ChunkedFileWriter, ObjectBatch, puts whose objects are
// not yet referenced) hold it shared, so any number run together; CollectGarbage
// runs under it exclusively, so it never deletes a chunk that a running add has
// found present and is about to reference.
//
// The lock is flock(2) on a lock file the caller names (a workspace uses
// .ferry/store.lock, beside objects/): it is per open file, so two StoreLocks in one
// process exclude each other like two processes do, and the kernel releases it when
// its holder dies, however it dies. flock works across processes on local
// filesystems; on NFS it may be emulated or absent.
//
// Thread-safety: a StoreLock is a value owned by one thread at a time.

#include <chrono>
#include <filesystem>

#include "absl/status/statusor.h"
#include "core/file.h"

namespace ferry::store {

class StoreLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Takes the lock on `path` (created if missing, never removed), waiting up to
  // `timeout` for a conflicting holder to let go; a zero timeout tries once.
  // Errors: Unavailable when the lock is still held in a conflicting mode after the
  // timeout (the message says which mode was wanted); the filesystem's error when the
  // lock file cannot be opened.
  static absl::StatusOr<StoreLock> Acquire(const std::filesystem::path& path, Mode mode,
                                           std::chrono::milliseconds timeout);

  StoreLock(StoreLock&&) = default;
  StoreLock& operator=(StoreLock&&) = default;
  // Releases the lock (closing the file releases it).
  ~StoreLock() = default;

  Mode mode() const { return mode_; }

 private:
  StoreLock(core::UniqueFd fd, Mode mode) : fd_(std::move(fd)), mode_(mode) {}

  core::UniqueFd fd_;
  Mode mode_;
};

}  // namespace ferry::store
