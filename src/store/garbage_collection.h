#pragma once

// Garbage collection of the object store: removes every object that is not live.
// Chunked files make this necessary (a dataset version that is dropped leaves chunks
// only it used) and delicate: an add in progress has chunks it found present but has
// not yet referenced from a committed manifest. So:
//
//   Callers must hold StoreLock in exclusive mode for the whole collection (and adds
//   hold it shared), so that no put, batch or chunked write runs concurrently.
//
// What is live is the caller's knowledge (the metadata store's versions, models...);
// LiveObjectsOf expands manifests into the manifest objects plus their chunks.
//
// Thread-safety: the functions are safe to call from any thread; see the lock above.

#include <cstdint>
#include <functional>
#include <span>

#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "store/digest_set.h"
#include "store/object_store.h"

namespace ferry::store {

struct GarbageCollectionResult {
  uint64_t objects_kept = 0;
  uint64_t objects_removed = 0;
  uint64_t bytes_removed = 0;            // object files' bytes on disk
  uint64_t temporary_files_removed = 0;  // left by dead puts and batches
};

// Removes every object for which `is_live` returns false, then the temporary files of
// dead writers, and fsyncs each shard folder it changed once. Errors: the
// filesystem's error listing or removing (objects removed before it stay removed).
absl::StatusOr<GarbageCollectionResult> CollectGarbage(
    ObjectStore& store, const std::function<bool(const core::Digest&)>& is_live);
absl::StatusOr<GarbageCollectionResult> CollectGarbage(ObjectStore& store, const DigestSet& live);

// The manifests named and every chunk they list. Errors: as GetManifest (a missing or
// damaged manifest stops the collection before anything is deleted).
absl::StatusOr<DigestSet> LiveObjectsOf(const ObjectStore& store,
                                        std::span<const core::Digest> manifests);

}  // namespace ferry::store
