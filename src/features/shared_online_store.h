#pragma once

// SharedOnlineStore: a long-running process's one read-write handle on the workspace's
// online store (`ferry server`: the feature routes and, later, serving share it). It is
// opened on first use and kept until the process ends.
//
// If another process holds the store for writing (a CLI materialization in progress when
// the server starts), Get answers Unavailable with the reason, and tries again at most
// once a second, so the server starts anyway and the feature routes come up as soon as
// the other process lets go.
//
// Thread-safety: Get is safe from any thread; once the store is open it is one atomic
// load.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "features/rocksdb_online_store.h"
#include "store/workspace.h"

namespace ferry::features {

// The workspace's online store as its config names it (`online_store`): RocksDB in
// `.ferry/online/` (`options`; one writing process at a time), or a Redis server.
// Errors: as RocksDbOnlineStore::Open or RedisOnlineStore::Connect.
absl::StatusOr<OnlineStorePtr> OpenOnlineStore(const store::Workspace& workspace,
                                               const RocksDbOnlineOptions& options = {});
// The same for reading beside a writer in another process: a RocksDB follower (what was
// written up to its opening), or Redis. Errors: as RocksDbOnlineStore::OpenFollower or
// RedisOnlineStore::Connect.
absl::StatusOr<OnlineStorePtr> OpenOnlineStoreForReading(const store::Workspace& workspace);

class SharedOnlineStore {
 public:
  using Opener = std::function<absl::StatusOr<OnlineStorePtr>()>;
  // The RocksDB store at `path`.
  explicit SharedOnlineStore(std::filesystem::path path, RocksDbOnlineOptions options = {});
  // Whatever `open` opens (OpenOnlineStore of a workspace, say).
  explicit SharedOnlineStore(Opener open) : open_(std::move(open)) {}

  // The open store. Errors: Unavailable (naming why) while it cannot be opened; the
  // store's other open errors.
  absl::StatusOr<OnlineStore*> Get();

 private:
  static constexpr std::chrono::seconds kRetryInterval{1};

  const Opener open_;
  std::atomic<OnlineStore*> store_{nullptr};  // set once, when opened

  std::mutex mu_;  // guards the members below
  OnlineStorePtr owned_;
  bool tried_ = false;
  std::chrono::steady_clock::time_point last_attempt_;
  absl::Status last_error_;
};

}  // namespace ferry::features
