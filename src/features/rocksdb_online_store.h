#pragma once

// RocksDbOnlineStore: the embedded online store, a RocksDB database in `.ferry/online/`
// (layout in docs/online-store-format.md). It survives restarts (RocksDB's write-ahead
// log, synced by Sync) and can always be rebuilt from the offline data: deleting the
// folder and materializing again gives the same values.
//
// "Never older over newer" is a read-compare-write under a per-view mutex, not a merge
// operator. Only one process can open a RocksDB database for writing, and in that process
// every write goes through WriteLatest, so the mutex is all the atomicity needed. It
// keeps what is stored a plain value: a lookup reads one value and decodes it, with no
// merge operands to fold on the read path (which is the hot one: materialization is a
// batch job, lookups are per request) and no operator to register wherever the database
// is opened. The extra read per write is a MultiGet per batch, cheap with bloom filters.
//
// Processes. RocksDB lets one process open the database for writing (its LOCK file).
// `ferry server` opens it at start and keeps it; a CLI materialization opens it for its
// duration. Whoever comes second gets Unavailable from Open, naming the store, and
// nothing is touched: the CLI then says to materialize through the running server
// (`--server`, POST /api/v1/features/materialize). Readers in other processes (`ferry
// features online` while the server runs) use OpenFollower, a RocksDB secondary instance:
// it reads the files without the lock and sees what was written up to its opening.
//
// Read path (bench/online_lookup measures it): the writing process keeps an
// OnlineValueCache of values and absences in front of RocksDB (exact, see its header),
// which answers a hot key several times faster than RocksDB's own lookup. Below it: a
// bloom filter per table makes absent keys cheap; data blocks carry a hash index; index
// and filter blocks live in the block cache and stay pinned for level 0; every table
// file stays open (max_open_files = -1). Followers have no value cache (another process
// writes what they read).
//
// Thread-safety: safe for concurrent use; Read never takes a lock of this class.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "features/online_store.h"
#include "features/online_value_cache.h"
#include "store/workspace.h"

namespace rocksdb {
class DB;
}

namespace ferry::features {

inline constexpr char kOnlineDirName[] = "online";

// `.ferry/online` of a workspace.
std::filesystem::path OnlineStorePath(const store::Workspace& workspace);

struct RocksDbOnlineOptions {
  size_t value_cache_bytes = size_t{256} << 20;  // the writer's OnlineValueCache; 0: none
  size_t block_cache_bytes = size_t{64} << 20;
  size_t row_cache_bytes = 0;  // RocksDB's row cache; 0: none
};

class RocksDbOnlineStore final : public OnlineStore {
 public:
  // Opens the store at `path` for reading and writing, creating it when missing. Errors:
  // Unavailable when another process (or another open in this one) has it open for
  // writing; DataLoss when it is damaged; Internal for the engine's other errors.
  static absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> Open(
      const std::filesystem::path& path, const RocksDbOnlineOptions& options = {});

  // Opens the existing store at `path` read-only, beside a process that may be writing
  // it, as it is now. Errors: FailedPrecondition when there is no store at `path`
  // (nothing materialized yet); DataLoss; Internal.
  static absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> OpenFollower(
      const std::filesystem::path& path, const RocksDbOnlineOptions& options = {});

  ~RocksDbOnlineStore() override;

  const std::string& id() const override { return id_; }
  // The view's ttl is not used: a key holds one value, replaced by the next write, and
  // lookups withhold values older than the ttl.
  absl::StatusOr<WriteCounts> WriteLatest(const OnlineView& view,
                                          std::span<const OnlineEntry> entries) override;
  absl::Status Sync() override;
  absl::Status Read(std::span<const std::string_view> keys, FoundFn found) const override;
  absl::StatusOr<std::optional<std::string>> GetRecord(std::string_view name) const override;
  absl::Status PutRecord(std::string_view name, std::string_view value) override;

  // For `ferry fsck` (online_store_check.h). VerifyTables re-reads every table file,
  // checking its blocks' checksums. ForEachValue calls `visit` with every value's key
  // and bytes, ForEachRecord with every record's name and bytes, in key order, reading
  // with checksums checked; both stop at, and return, the first error `visit` returns.
  // Errors: DataLoss naming the file for damage the engine finds; Internal for its
  // other errors.
  using EntryFn = absl::FunctionRef<absl::Status(std::string_view, std::string_view)>;
  absl::Status VerifyTables() const;
  absl::Status ForEachValue(EntryFn visit) const;
  absl::Status ForEachRecord(EntryFn visit) const;

 private:
  RocksDbOnlineStore() = default;

  std::mutex& ViewLock(std::string_view view);
  // Reads from RocksDB itself, below the value cache.
  absl::Status ReadEngine(std::span<const std::string_view> keys, FoundFn found) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<OnlineValueCache> cache_;  // the writer's; null for followers
  std::filesystem::path follower_dir_;  // a follower's own folder, removed on close
  bool writable_ = false;
  std::string id_;

  std::mutex locks_mu_;  // guards view_locks_ (not the writes themselves)
  std::map<std::string, std::unique_ptr<std::mutex>, std::less<>> view_locks_;
};

}  // namespace ferry::features
