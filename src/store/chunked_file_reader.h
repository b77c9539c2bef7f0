#pragma once

// ChunkedFileReader: a file stored by ChunkedFileWriter, streamed back byte-identical
// from its manifest, in bounded memory and verified: every chunk is checked by the
// object store (zstd checksums, its SHA-256 name) and against the size the manifest
// gives it, and the whole stream against the manifest's size and SHA-256.
//
// Helper threads fetch and verify the next chunks (a window of 2 * threads + 2, each
// at most the chunker's max_size) while the caller hashes and consumes the current
// one. As with ObjectStore::Get, bytes handed out before an error may be wrong:
// ExportChunkedFile gives all-or-nothing semantics for files.
//
// Thread-safety: a reader is used by one thread at a time (its helpers are internal).
// The store must outlive it.

#include <cstdint>
#include <filesystem>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "store/manifest.h"
#include "store/object_store.h"

namespace ferry::store {

class ChunkFetcher;

class ChunkedFileReader : public ByteSource {
 public:
  struct Options {
    // Threads fetching and decompressing chunks ahead; 0 means one per core (at most
    // ObjectStore::kMaxThreads).
    int threads = 0;
  };

  // Reads the manifest object `manifest_digest`. Errors: as GetManifest;
  // InvalidArgument for a thread count out of range.
  static absl::StatusOr<std::unique_ptr<ChunkedFileReader>> Open(
      const ObjectStore& store, const core::Digest& manifest_digest, const Options& options);
  // Errors: InvalidArgument for a thread count out of range.
  static absl::StatusOr<std::unique_ptr<ChunkedFileReader>> Open(const ObjectStore& store,
                                                                 Manifest manifest,
                                                                 const Options& options);
  ~ChunkedFileReader() override;

  // The next bytes of the file; 0 at its end, once the whole file has been verified.
  // Errors (sticky: every later call returns the same): NotFound naming the chunk's
  // digest, index and offset when a chunk object is missing; DataLoss naming it when
  // it is damaged or has another size than the manifest records; DataLoss when the
  // file's bytes do not hash to the manifest's SHA-256.
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override;

  // Streams the rest of the file into `sink` without an intermediate copy. Errors: as
  // Read, and the sink's error as returned.
  absl::Status CopyTo(ByteSink& sink);

  const Manifest& manifest() const { return manifest_; }

 private:
  ChunkedFileReader(Manifest manifest, std::unique_ptr<ChunkFetcher> fetcher);

  // Makes the next chunk current (hashing it). Returns false at the end of the file,
  // after checking the whole-file digest.
  absl::StatusOr<bool> Advance();

  const Manifest manifest_;
  std::unique_ptr<ChunkFetcher> fetcher_;
  core::Sha256 hasher_;
  std::string_view current_;  // unread bytes of the current chunk
  bool holding_ = false;      // the fetcher's current chunk is not released yet
  size_t next_chunk_ = 0;
  uint64_t produced_ = 0;
  bool done_ = false;
  absl::Status error_;
};

// Streams the file named by its manifest into `sink`. Errors: as GetManifest and
// ChunkedFileReader::CopyTo.
absl::Status ReadChunkedFile(const ObjectStore& store, const core::Digest& manifest_digest,
                             ByteSink& sink);

// Rebuilds the file at `destination` (replacing it) through a core::AtomicFile
// committed only once every byte is verified: on any error nothing is left at
// `destination`. Errors: as ReadChunkedFile, plus the filesystem's error for the
// destination's folder.
absl::Status ExportChunkedFile(const ObjectStore& store, const core::Digest& manifest_digest,
                               const std::filesystem::path& destination);

}  // namespace ferry::store
