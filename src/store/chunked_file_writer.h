#pragma once

// ChunkedFileWriter: stores a file as content-defined chunks (Chunker), each a
// compressed object deduplicated against the store, plus a manifest object listing
// them (Manifest). Storing a file that differs from a stored one by an append or a
// local edit writes only the chunks around the change.
//
// Pipeline (chunked_file_pipeline.cc), on every core, in bounded memory:
//   calling thread   reads the source in 8 MiB reads into 16 MiB refcounted blocks,
//                    hashes the whole file (SHA-256) as it goes and cuts the blocks into
//                    chunks (a chunk never spans two blocks: the unfinished tail of one
//                    block is copied to the start of the next);
//   stream thread    (with an observer only) calls the observer with every byte in
//                    order, so e.g. CSV statistics run beside hashing and compression
//                    instead of after them;
//   worker threads   hash each chunk, claim it in an ObjectBatch (skipping chunks
//                    the store or the batch already has) and compress and write the
//                    new ones.
// At most six blocks exist at once (~96 MiB with the default chunk bounds), so memory
// does not grow with the file; a slow observer or slow workers slow the reading down.
// When everything is read, the batch is committed (one syncfs) and then the manifest
// is put durably: a manifest is never visible before all of its chunks are.
//
// Errors abort the whole write: nothing new becomes visible under a final name and the
// batch's temporary files are removed (a killed process leaves them to
// ObjectStore::CleanTemporaryFiles).
//
// Thread-safety: a ChunkedFileWriter is immutable; Write may run concurrently on
// several threads (each with its own source). The observer and the progress callback
// of one Write are never called concurrently with themselves. The store must outlive
// the writer. Callers hold StoreLock shared for the whole Write (gc must not delete
// chunks this write found present).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "store/chunker.h"
#include "store/manifest.h"
#include "store/object_store.h"

namespace ferry::store {

struct ChunkedFileOptions {
  ChunkerOptions chunker{};
  // zstd level of new chunks, in ObjectStore's range.
  int compression_level = ObjectStore::kDefaultCompressionLevel;
  // Threads hashing and compressing chunks (besides the calling thread and the stream
  // thread); 0 means one per core, at most ObjectStore::kMaxThreads.
  int threads = 0;
  // Called on the stream thread with every byte of the file, in order, in pieces of at
  // most 8 MiB. An error aborts the write, which returns it unchanged. May be empty.
  std::function<absl::Status(std::string_view)> observer{};
  // Called on the calling thread with the bytes read so far, after every read of up to
  // 8 MiB and once at the end with the file's size. May be empty.
  std::function<void(uint64_t bytes_read)> progress{};
};

struct ChunkedFileResult {
  core::Digest manifest_digest;  // names the manifest object: this exact version
  Manifest manifest;             // size, whole-file SHA-256, chunks in order
  uint64_t new_chunks = 0;       // chunks written by this write
  uint64_t new_bytes = 0;        // their content bytes
  uint64_t stored_bytes = 0;     // their object files' bytes on disk (compressed)
  uint64_t reused_chunks = 0;    // chunks found in the store or earlier in the file
  uint64_t reused_bytes = 0;     // their content bytes
};

class ChunkedFileWriter {
 public:
  // Errors: InvalidArgument for chunker bounds, a level or a thread count out of range.
  static absl::StatusOr<ChunkedFileWriter> Create(ObjectStore& store,
                                                  const ChunkedFileOptions& options);

  // Stores everything `source` yields until its end. Errors: the source's or the
  // observer's error, as returned; ResourceExhausted for a file over
  // ObjectStore::kMaxObjectSize or over kMaxManifestChunks chunks, or a full disk;
  // the filesystem's error otherwise.
  absl::StatusOr<ChunkedFileResult> Write(ByteSource& source) const;
  // Stores what `fd` yields from its current offset to its end; does not close it.
  absl::StatusOr<ChunkedFileResult> WriteFd(int fd) const;
  // Stores the file at `path`. Errors: as Write, plus NotFound / PermissionDenied /
  // InvalidArgument (a folder) when it cannot be opened for reading.
  absl::StatusOr<ChunkedFileResult> WriteFile(const std::filesystem::path& path) const;

  int compression_level() const { return options_.compression_level; }
  // The worker thread count, 0 resolved.
  int threads() const { return threads_; }
  const ChunkedFileOptions& options() const { return options_; }

 private:
  ChunkedFileWriter(ObjectStore& store, const ChunkedFileOptions& options, Chunker chunker,
                    int threads)
      : store_(&store), options_(options), chunker_(chunker), threads_(threads) {}

  ObjectStore* store_;
  ChunkedFileOptions options_;
  Chunker chunker_;
  int threads_;
};

}  // namespace ferry::store
