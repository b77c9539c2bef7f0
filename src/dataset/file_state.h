#pragma once

// FileState: remembers what ferry learnt about a file it added (content hash,
// manifest, profile), keyed by the file's absolute path and identity (device,
// inode, size, mtime and ctime in nanoseconds), so re-adding an unchanged file
// costs a stat instead of a read -- like DVC's state database, but correct:
//  - ctime is part of the identity; it changes on every write, and unlike mtime no
//    user command can set it back;
//  - an entry is recorded only when the file's mtime and ctime are at least
//    kRacyWindow older than the moment of recording, so a write landing within
//    the same timestamp tick as the read that produced the entry can never be
//    mistaken for "unchanged" (git's "racy clean" problem).
//
// Thread-safety: functions run inside the caller's metadata transaction.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "dataset/version_record.h"
#include "store/metadata_store.h"

namespace ferry::dataset {

inline constexpr std::chrono::seconds kRacyWindow{2};

struct FileIdentity {
  int64_t device = 0;
  int64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// The identity of an open file. The errno-derived status on failure.
absl::StatusOr<FileIdentity> IdentityOf(int fd);

// What an add learnt about a file's bytes: everything a version needs except its
// number, name, message and time.
struct FileFacts {
  std::string content_sha256;
  std::string manifest;
  int64_t size = 0;
  int64_t chunks = 0;
  table::Format format = table::Format::kOpaque;
  std::optional<int64_t> rows;
  int64_t bad_rows = 0;
  std::optional<std::string> profile;
  std::string schema_json = "[]";
};

// The facts recorded for `path` if its identity still matches; nullopt otherwise.
absl::StatusOr<std::optional<FileFacts>> LookupFileState(store::Transaction& tx,
                                                         const std::filesystem::path& path,
                                                         const FileIdentity& identity);

// Records (or replaces) the facts for `path`, unless the file is too recently
// modified to be trusted (see kRacyWindow), in which case any old entry is removed.
absl::Status RecordFileState(store::Transaction& tx, const std::filesystem::path& path,
                             const FileIdentity& identity, const FileFacts& facts,
                             int64_t now_micros);

}  // namespace ferry::dataset
