#pragma once

// Byte streams over file descriptors, and filling a buffer from a ByteSource: the
// small adapters every reader and writer of the object store shares.
//
// Thread-safety: each object is used by one thread at a time; the descriptor is not
// owned.

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/file.h"
#include "store/object_store.h"

namespace ferry::store {

// Reads what `fd` yields from its current offset.
class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    return core::ReadSome(fd_, buffer, size);
  }

 private:
  int fd_;
};

// Writes everything to `fd`.
class FdSink final : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  absl::Status Write(std::string_view data) override {
    return core::WriteAll(fd_, data.data(), data.size());
  }

 private:
  int fd_;
};

// Opens `path` for a sequential read of the whole file. Errors: NotFound /
// PermissionDenied from open(2); InvalidArgument for a folder.
absl::StatusOr<core::UniqueFd> OpenForSequentialRead(const std::filesystem::path& path);

// Reads until `size` bytes or the end of `source`; returns the count. Internal if
// the source claims more bytes than were asked for; the source's error otherwise.
absl::StatusOr<size_t> FillFromSource(ByteSource& source, char* buffer, size_t size);

}  // namespace ferry::store
