#include "store/garbage_collection.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/manifest.h"

namespace ferry::store {

using core::Cat;
using core::Digest;

absl::StatusOr<GarbageCollectionResult> CollectGarbage(
    ObjectStore& store, const std::function<bool(const Digest&)>& is_live) {
  GarbageCollectionResult result;
  std::vector<Digest> garbage;
  RETURN_IF_ERROR(store.ForEachObject([&](const Digest& digest) {
    if (is_live(digest)) {
      ++result.objects_kept;
    } else {
      garbage.push_back(digest);
    }
    return absl::OkStatus();
  }));
  // ObjectStore::Delete syncs the shard folder per object; thousands of chunks share
  // 256 folders, so unlink them all and sync each folder once (garbage listed in digest
  // order, so one folder's objects are adjacent).
  std::string pending_shard;
  auto sync_pending = [&]() -> absl::Status {
    if (pending_shard.empty()) return absl::OkStatus();
    return core::FsyncDirectory(store.root() / std::exchange(pending_shard, {}));
  };
  for (const Digest& digest : garbage) {
    const std::filesystem::path path = store.PathOf(digest);
    const std::string shard = path.parent_path().filename().string();
    if (shard != pending_shard) RETURN_IF_ERROR(sync_pending());
    struct stat st {};
    const uint64_t size = ::lstat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;  // removed by someone else meanwhile
      return core::ErrnoToStatus(errno, Cat("remove object ", path.string()));
    }
    pending_shard = shard;
    ++result.objects_removed;
    result.bytes_removed += size;
  }
  RETURN_IF_ERROR(sync_pending());
  ASSIGN_OR_RETURN(result.temporary_files_removed, store.CleanTemporaryFiles());
  return result;
}

absl::StatusOr<GarbageCollectionResult> CollectGarbage(ObjectStore& store, const DigestSet& live) {
  return CollectGarbage(store, [&live](const Digest& digest) { return live.contains(digest); });
}

absl::StatusOr<DigestSet> LiveObjectsOf(const ObjectStore& store,
                                        std::span<const Digest> manifests) {
  DigestSet live;
  for (const Digest& digest : manifests) {
    ASSIGN_OR_RETURN(Manifest manifest, GetManifest(store, digest));
    live.insert(digest);
    for (const ChunkRef& chunk : manifest.chunks) live.insert(chunk.digest);
  }
  return live;
}

}  // namespace ferry::store
