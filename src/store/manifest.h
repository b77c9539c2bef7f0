#pragma once

// Manifest: how a file's bytes are laid out in the object store — its size, its
// whole-file SHA-256 (what `sha256sum` prints) and the ordered list of its chunks,
// each an object named by its own SHA-256. A manifest is stored as an object itself,
// so its digest identifies one exact version of a file's bytes. Encoding:
// docs/manifest-format.md.
//
// Invariants of a valid Manifest (checked by Encode and Decode): the chunk sizes are
// all non-zero and add up to `size`; an empty file has no chunk; at most kMaxChunks
// chunks.
//
// Thread-safety: values and pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "store/object_store.h"

namespace ferry::store {

struct ChunkRef {
  core::Digest digest;  // SHA-256 of the chunk's bytes: its object's name
  uint32_t size = 0;    // bytes

  friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct Manifest {
  uint64_t size = 0;    // bytes of the whole file
  core::Digest sha256;  // SHA-256 of the whole file
  std::vector<ChunkRef> chunks;

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

inline constexpr size_t kManifestHeaderSize = 64;
inline constexpr size_t kManifestEntrySize = 36;
// 2^22 chunks of ~1.2 MiB describe ~5 TB; their manifest is 151 MB.
inline constexpr uint64_t kMaxManifestChunks = uint64_t{1} << 22;
inline constexpr size_t kMaxManifestSize =
    kManifestHeaderSize + kMaxManifestChunks * kManifestEntrySize;

// Errors: InvalidArgument if `manifest` breaks the invariants above.
absl::StatusOr<std::string> EncodeManifest(const Manifest& manifest);

// Errors: DataLoss saying what is wrong for bytes that are not a valid version-1
// manifest (bad magic, truncated, counts or sizes that do not add up, reserved bits
// set, too many chunks); FailedPrecondition for a newer version this ferry does not read.
absl::StatusOr<Manifest> DecodeManifest(std::string_view bytes);

// Stores the manifest as an object (durably, like ObjectStore::PutBytes) and returns its
// digest. Errors: as EncodeManifest and ObjectStore::PutBytes.
absl::StatusOr<core::Digest> PutManifest(ObjectStore& store, const Manifest& manifest);

// Reads and decodes the manifest object `digest`. Errors: NotFound if the store has no
// such object; DataLoss / FailedPrecondition as ObjectStore::Get and DecodeManifest
// (the message names the manifest's digest).
absl::StatusOr<Manifest> GetManifest(const ObjectStore& store, const core::Digest& digest);

}  // namespace ferry::store
