#pragma once

// ObjectStore: ferry's content-addressed store of immutable blobs (dataset files,
// model artifacts). An object is named by the SHA-256 of its uncompressed bytes and
// kept zstd-compressed in one file under the store's root folder:
//
//   ROOT/ab/ab3f...(64 hex)   an object: 64-byte header, then zstd frames
//   ROOT/tmp/                 puts in progress (temporary files, never read)
//
// The on-disk format (header fields, frames, limits, crash safety) is specified in
// docs/object-format.md.
//
// Invariants:
//  - A file under its final name is complete and durable: puts write a temporary file
//    under ROOT/tmp, fsync it, then link(2) it to its final name and fsync the folder.
//    A put killed half-way leaves only a temporary file, which Open and
//    CleanTemporaryFiles remove once no live put holds it.
//  - Storing the same content twice stores one file (the second put reports
//    `already_existed`).
//  - Reads verify: bytes are decompressed (zstd checks each frame's XXH64 checksum)
//    and re-hashed, and any mismatch with the name is DataLoss naming the object.
//  - Memory is bounded whatever the object size: a put keeps (threads + 2) blocks of
//    2 MiB (plus their compressed copies) in flight, about 30 MiB with 2 threads; a
//    read uses a ring of four 1 MiB chunks and a 1 MiB read buffer.
//
// Thread-safety: an ObjectStore is safe to share between threads; every method may be
// called concurrently (the store keeps no mutable state in memory). Several processes
// may use one root at once. Concurrent puts of the same content all succeed and leave
// one object. Deleting an object while another thread puts or reads the same content
// is the caller's race to avoid (gc must not delete what a running put may report).
// ByteSource and ByteSink objects are used by the one call they are passed to, and
// only on the thread that made it (helper threads never touch them).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/file.h"
#include "core/sha256.h"

namespace ferry::store {

// A stream of bytes to store, read once from start to end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `buffer` and returns how many it read; returns 0
  // only at the end of the stream. Any error aborts the put that is reading.
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t size) = 0;
};

// Where a read object's bytes go, in order.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Takes the next bytes. Any error aborts the read, which returns it.
  virtual absl::Status Write(std::string_view data) = 0;
};

struct PutResult {
  core::Digest digest;         // SHA-256 of the content: the object's name
  uint64_t size = 0;           // uncompressed bytes
  uint64_t stored_size = 0;    // bytes of the object file on disk (header included)
  bool already_existed = false;  // the store held this content before the put
};

struct ObjectInfo {
  uint64_t size = 0;         // uncompressed bytes, from the header
  uint64_t stored_size = 0;  // bytes of the object file on disk
};

class ObjectStore {
 public:
  struct Options {
    // zstd level for new objects, in [kMinCompressionLevel, kMaxCompressionLevel].
    // The default, -1, compresses CSV ~2x at ~650 MB/s per core on the 2-core
    // development machine, which keeps a put of a large file as fast as `cp` + sync;
    // level 1 compresses ~3.1x at ~470 MB/s per core, about 10% slower overall
    // (bench/RESULTS.md, "object_put"). The level only affects new objects.
    int compression_level = kDefaultCompressionLevel;
    // Compression threads per put; 0 means one per core (at most kMaxThreads).
    int threads = 0;
  };
  static constexpr int kDefaultCompressionLevel = -1;
  static constexpr int kMinCompressionLevel = -50;
  static constexpr int kMaxCompressionLevel = 19;
  static constexpr int kMaxThreads = 16;
  // Objects larger than this are refused on put and their headers rejected on read.
  static constexpr uint64_t kMaxObjectSize = uint64_t{1} << 50;  // 1 PiB

  // Opens the store at `root`, creating `root` and `root/tmp` if missing, and removes
  // temporary files left by puts that died (see CleanTemporaryFiles).
  // Errors: InvalidArgument for options out of range; the filesystem's error
  // (PermissionDenied, NotFound for a missing parent, ...) when the folders cannot be
  // created or opened.
  static absl::StatusOr<std::unique_ptr<ObjectStore>> Open(const std::filesystem::path& root,
                                                           const Options& options);

  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;
  ~ObjectStore();

  // --- Writing -------------------------------------------------------------------
  // Stores everything `source` yields until its end. Reading, hashing and
  // compression overlap on several threads; memory stays bounded for any size.
  // Errors: the source's error as returned (nothing is stored); ResourceExhausted
  // for content over kMaxObjectSize or a full disk; the filesystem's error otherwise.
  absl::StatusOr<PutResult> Put(ByteSource& source);
  // Stores `bytes`. Hashes first and skips writing when the object exists.
  absl::StatusOr<PutResult> PutBytes(std::string_view bytes);
  // Stores the file at `path`. Errors as Put, plus NotFound / PermissionDenied /
  // InvalidArgument (a folder) when it cannot be opened for reading.
  absl::StatusOr<PutResult> PutFile(const std::filesystem::path& path);
  // Stores what `fd` yields from its current offset to its end; does not close it.
  absl::StatusOr<PutResult> PutFd(int fd);

  // --- Reading -------------------------------------------------------------------
  // Streams the object's content into `sink` in bounded memory, verifying as it
  // goes. Errors: NotFound if the store has no such object; DataLoss naming the
  // object if its file is damaged (bad header, zstd error, wrong size or wrong
  // SHA-256); FailedPrecondition if a newer ferry wrote it in a format version this
  // one does not read; the sink's error as returned. When an error is returned the sink may
  // already have received bytes, including wrong ones: use GetToFile or GetBytes
  // for an all-or-nothing result.
  absl::Status Get(const core::Digest& digest, ByteSink& sink) const;
  // Writes the object's content to `destination` (replacing it) through an
  // AtomicFile committed only after verification, so a damaged object never leaves
  // bytes at `destination`. Errors: as Get, plus the filesystem's error for the
  // destination's folder.
  absl::Status GetToFile(const core::Digest& digest,
                         const std::filesystem::path& destination) const;
  // Returns the content of an object of at most `max_size` bytes. Errors: as Get,
  // plus ResourceExhausted (before reading) when the object is larger.
  absl::StatusOr<std::string> GetBytes(const core::Digest& digest, size_t max_size) const;
  // Reads and checks the whole object without producing output. Errors: NotFound,
  // DataLoss, FailedPrecondition as Get.
  absl::Status Verify(const core::Digest& digest) const;

  // --- Inspecting and removing ---------------------------------------------------
  // Whether an object file exists (its content is not checked). Errors: the
  // filesystem's error other than "no such file".
  absl::StatusOr<bool> Exists(const core::Digest& digest) const;
  // Sizes from the object's header and file (the content is not checked). Errors:
  // NotFound; DataLoss if the header is damaged or names another object;
  // FailedPrecondition for a newer format version.
  absl::StatusOr<ObjectInfo> Stat(const core::Digest& digest) const;
  // Removes the object durably. Errors: NotFound if it does not exist.
  absl::Status Delete(const core::Digest& digest);
  // Calls `visit` for every object file, in increasing digest order, without opening
  // the files (pair with Verify for an fsck). Names that are not objects (the tmp
  // folder, strays) are skipped. Stops at, and returns, the first error `visit`
  // returns; the filesystem's error if a folder cannot be listed. Objects put or
  // deleted during the walk may or may not be visited.
  absl::Status ForEachObject(
      const std::function<absl::Status(const core::Digest&)>& visit) const;
  // Removes temporary files of puts and ObjectBatch folders that are no longer running
  // (crashed or killed processes; a live put holds an flock on its file, a live batch
  // on its folder). Returns how many files it removed. Errors: the filesystem's error
  // if ROOT/tmp cannot be listed.
  absl::StatusOr<size_t> CleanTemporaryFiles();

  // Where the object named `digest` lives (it may not exist).
  std::filesystem::path PathOf(const core::Digest& digest) const;
  const std::filesystem::path& root() const { return root_; }
  // ROOT/tmp, where writes in progress keep their temporary files (ObjectBatch too).
  const std::filesystem::path& temp_dir() const { return tmp_dir_; }
  const Options& options() const { return options_; }

 private:
  // The fixed header at the start of every object file (docs/object-format.md).
  static constexpr size_t kHeaderSize = 64;

  struct OpenedObject {
    core::UniqueFd fd;  // positioned at the first frame
    ObjectInfo info;
  };

  ObjectStore(std::filesystem::path root, const Options& options);

  // Reserves the header with zeroes, then writes `source` as zstd frames to the new file `fd`
  // (object_store_frames.cc). Returns the digest and size of the content and the
  // file's size in stored_size. Errors: as Put.
  static absl::StatusOr<PutResult> WriteBody(ByteSource& source, int fd, int level, int threads);

  // Opens an object file and checks its header. Errors as Stat.
  absl::StatusOr<OpenedObject> OpenObject(const core::Digest& digest) const;

  const std::filesystem::path root_;
  const std::filesystem::path tmp_dir_;
  const Options options_;
  const int threads_;  // options_.threads resolved
};

}  // namespace ferry::store
