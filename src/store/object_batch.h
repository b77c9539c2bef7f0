#pragma once

// ObjectBatch: puts many objects into an ObjectStore behind one durability barrier.
// ObjectStore::Put makes every object durable on its own (fsync of the file, link,
// fsync of its folder), which costs milliseconds per object: fine for one model file,
// far too slow for the ~2 000 chunks of a 2 GiB dataset. A batch instead
//  1. writes each new object, in the object store's exact file format, to
//     ROOT/tmp/batch-<pid>-<random>/<digest hex>, without fsync (whole 4 KiB blocks
//     with O_DIRECT where the filesystem allows it, the tail with writeback started
//     at once, so the final barrier finds little left to do);
//  2. skips content the store already holds (ObjectStore::Exists) or the batch already
//     has (an in-memory set), so each distinct object is compressed and written once;
//  3. at Commit(): one syncfs(2) makes every temporary file durable, each is link(2)ed
//     to its final name (a name that exists already holds the same bytes), a second
//     syncfs makes the names durable (fsync of each shard folder costs ~4 ms apiece
//     here, and a 2 GiB file touches all 256), and the temporary folder is removed.
//
// Invariants: nothing appears under a final name before Commit; a final name only ever
// holds a complete, durable object. A batch dropped without Commit (an error, or its
// process killed) leaves at most its temporary folder, which the batch removes when
// destroyed and ObjectStore::CleanTemporaryFiles removes once no live batch holds the
// folder's flock (docs/object-format.md, "Batches").
//
// Thread-safety: Claim and Write may be called from several threads at once (the
// writer pipeline compresses chunks on worker threads); Commit must be called once,
// after every Write has returned. The store must outlive the batch. Deleting objects
// (gc) while a batch runs can delete an object the batch counted as present: callers
// hold StoreLock shared while adding and gc holds it exclusively.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/file.h"
#include "core/sha256.h"
#include "store/digest_set.h"
#include "store/object_encoding.h"
#include "store/object_store.h"

namespace ferry::store {

class ObjectBatch {
 public:
  struct Options {
    // zstd level of new objects, in ObjectStore's range.
    int compression_level = ObjectStore::kDefaultCompressionLevel;
  };
  enum class Presence {
    kNew,      // not stored yet: the caller that claimed it must Write it
    kInBatch,  // claimed earlier in this batch (written, or being written)
    kInStore,  // the store already holds it
  };
  struct Stats {
    uint64_t objects_written = 0;  // new objects written to temporary files
    uint64_t bytes_written = 0;    // their content bytes
    uint64_t stored_bytes = 0;     // their object files' bytes (compressed, headers)
  };

  // Creates the batch's temporary folder and locks it. Errors: InvalidArgument for a
  // compression level out of range; the filesystem's error if the folder cannot be made.
  static absl::StatusOr<std::unique_ptr<ObjectBatch>> Create(ObjectStore& store,
                                                             const Options& options);
  ~ObjectBatch();
  ObjectBatch(const ObjectBatch&) = delete;
  ObjectBatch& operator=(const ObjectBatch&) = delete;

  // Decides who stores `digest`. Exactly one Claim of a digest absent from the store
  // returns kNew, and that caller must then Write its content (or let the batch fail).
  // Errors: the filesystem's error from Exists; FailedPrecondition after Commit.
  absl::StatusOr<Presence> Claim(const core::Digest& digest);

  // Compresses `content`, which must hash to `digest` (the caller hashed it; it is not
  // re-checked), and writes it to its temporary file. Returns the object file's size.
  // Errors: FailedPrecondition unless `digest` was claimed kNew and not written yet;
  // ResourceExhausted for a full disk; the filesystem's error otherwise. A failed
  // Write makes Commit fail.
  absl::StatusOr<uint64_t> Write(const core::Digest& digest, std::string_view content);

  // Hashes `content`, claims it and writes it if new, on the calling thread.
  // Errors: as Claim and Write.
  absl::StatusOr<Presence> Add(std::string_view content);

  // Publishes every written object durably (see the file comment); objects found in
  // the store are durable too when it returns. Errors: FailedPrecondition if a Write
  // failed, a kNew claim was never written, or Commit was called before; the
  // filesystem's error (syncfs, link). After a failed Commit some objects may be
  // published, each complete and durable or absent.
  absl::Status Commit();

  Stats stats() const;
  // The batch's temporary folder (for tests and diagnostics).
  const std::filesystem::path& temp_folder() const { return folder_; }

 private:
  enum class State { kClaimed, kWritten, kInStore };

  ObjectBatch(ObjectStore& store, const Options& options, std::filesystem::path folder,
              core::UniqueFd folder_fd)
      : store_(store),
        options_(options),
        folder_(std::move(folder)),
        folder_fd_(std::move(folder_fd)) {}

  // syncfs(2) on the store's filesystem.
  absl::Status SyncFilesystem();
  // Removes the temporary folder and what is left in it.
  void RemoveTemporaryFolder();

  ObjectStore& store_;
  const Options options_;
  const std::filesystem::path folder_;
  const core::UniqueFd folder_fd_;      // holds LOCK_EX while the batch lives
  std::atomic<bool> direct_io_ = true;  // cleared when the filesystem refuses O_DIRECT

  mutable std::mutex mu_;
  absl::flat_hash_map<core::Digest, State, DigestHash> states_;            // guarded by mu_
  std::vector<core::Digest> written_;                                      // guarded by mu_
  std::vector<std::unique_ptr<object_encoding::ObjectEncoder>> encoders_;  // idle; mu_
  Stats stats_;                                                            // guarded by mu_
  absl::Status failure_;                                                   // guarded by mu_
  bool committed_ = false;                                                 // guarded by mu_
};

}  // namespace ferry::store
