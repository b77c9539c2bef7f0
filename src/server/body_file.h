#pragma once

// BodyFile: a response body that is the content of an open file, for answers too large
// to hold in memory (a dataset version, a training set). A handler sets
// Response::body_file instead of Response::body; the connection then writes the file
// piece by piece through one buffer it reuses (connection_file.cc), so memory stays
// bounded whatever the file's size. The descriptor is closed when the last reference
// goes, which the server drops as soon as the response is written or the connection
// closes. A file that is unlinked once opened (a temporary answer) thus disappears
// with the response.
//
// Thread-safety: ReadAt uses pread, so it may be called from several threads at once;
// the server reads a BodyFile from one thread only.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/file.h"

namespace ferry::server {

class BodyFile {
 public:
  // The first `size` bytes of the file open on `fd` are the body.
  BodyFile(core::UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}

  // Opens `path` for reading; the body is the whole file as it is now (fstat). Errors:
  // the errno-derived status (NotFound, PermissionDenied, ...).
  static absl::StatusOr<std::shared_ptr<BodyFile>> Open(const std::filesystem::path& path);

  uint64_t size() const { return size_; }
  // Reads up to `size` bytes at `offset` (pread, retried on EINTR); 0 at the end of the
  // file. Errors: the errno-derived status.
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* data, size_t size) const;
  // The whole body, for in-process callers of Router::Dispatch (tests). Errors:
  // ReadAt's; DataLoss when the file is shorter than `size()`.
  absl::StatusOr<std::string> ReadAll() const;

 private:
  core::UniqueFd fd_;
  uint64_t size_ = 0;
};

}  // namespace ferry::server
