#pragma once

// Temporary files of writers in progress, and their removal once the writer is dead.
//
// A writer creates its temporary file (or folder) in a temporary folder (the object
// store's ROOT/tmp, the workspace's .ferry/uploads), holds an exclusive flock(2) on it
// for as long as it writes, and renames or removes it when done. The kernel drops the
// lock when the process dies, however it dies, so a file that is not locked belongs to
// nobody: a SIGKILLed put, upload or training-set write. core::AtomicFile and the object
// store's puts and batches follow this rule.
//
// Thread-safety: safe to call from any thread and any number of processes at once
// (removing a file twice is harmless).

#include <chrono>
#include <cstddef>
#include <filesystem>

#include "absl/status/statusor.h"

namespace ferry::store {

// A temporary file younger than this is never removed: it may belong to a writer that
// has created it but not yet taken its flock (a window of microseconds).
inline constexpr std::chrono::seconds kTemporaryFileGrace{1};

// Removes the files and folders directly in `folder` that no live writer holds (not
// flock'ed, and older than kTemporaryFileGrace), with the files in such folders; leaves
// anything it cannot open alone. Returns how many files it removed (a folder counts by
// its files). A missing `folder` has nothing to remove. Errors: the filesystem's error
// if `folder` cannot be listed.
absl::StatusOr<size_t> RemoveFilesOfDeadWriters(const std::filesystem::path& folder);

}  // namespace ferry::store
