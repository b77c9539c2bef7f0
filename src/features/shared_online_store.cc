#include "features/shared_online_store.h"

#include "core/config.h"
#include "core/status.h"
#include "features/redis_online_store.h"

namespace ferry::features {
namespace {

// redis://HOST:PORT of a workspace whose config names one; nullopt for RocksDB.
std::optional<RedisOnlineOptions> RedisOf(const store::Workspace& workspace) {
  const std::string& target = workspace.config().online_store;
  constexpr std::string_view kRedis = "redis://";
  if (!std::string_view(target).starts_with(kRedis)) return std::nullopt;
  // The config was checked when it was read.
  absl::StatusOr<core::HostPort> address =
      core::ParseHostPort(std::string_view(target).substr(kRedis.size()));
  RedisOnlineOptions options;
  if (address.ok()) {
    options.host = address->host;
    options.port = address->port;
  }
  return options;
}

}  // namespace

// RocksDB is opened by `rocksdb` (for writing, or as a follower); Redis is the same
// connection either way.
template <typename OpenRocksDb>
absl::StatusOr<OnlineStorePtr> OpenConfigured(const store::Workspace& workspace,
                                              OpenRocksDb rocksdb) {
  if (std::optional<RedisOnlineOptions> redis = RedisOf(workspace)) {
    ASSIGN_OR_RETURN(std::unique_ptr<RedisOnlineStore> store, RedisOnlineStore::Connect(*redis));
    return OnlineStorePtr(std::move(store));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDbOnlineStore> store, rocksdb(OnlineStorePath(workspace)));
  return OnlineStorePtr(std::move(store));
}

absl::StatusOr<OnlineStorePtr> OpenOnlineStore(const store::Workspace& workspace,
                                               const RocksDbOnlineOptions& options) {
  return OpenConfigured(workspace, [&options](const std::filesystem::path& path) {
    return RocksDbOnlineStore::Open(path, options);
  });
}

absl::StatusOr<OnlineStorePtr> OpenOnlineStoreForReading(const store::Workspace& workspace) {
  return OpenConfigured(workspace, [](const std::filesystem::path& path) {
    return RocksDbOnlineStore::OpenFollower(path);
  });
}

SharedOnlineStore::SharedOnlineStore(std::filesystem::path path, RocksDbOnlineOptions options)
    : open_([path = std::move(path), options]() -> absl::StatusOr<OnlineStorePtr> {
        ASSIGN_OR_RETURN(std::unique_ptr<RocksDbOnlineStore> store,
                         RocksDbOnlineStore::Open(path, options));
        return OnlineStorePtr(std::move(store));
      }) {}

absl::StatusOr<OnlineStore*> SharedOnlineStore::Get() {
  if (OnlineStore* store = store_.load(std::memory_order_acquire)) return store;
  std::lock_guard<std::mutex> lock(mu_);
  if (owned_) return owned_.get();
  const auto now = std::chrono::steady_clock::now();
  if (tried_ && now - last_attempt_ < kRetryInterval) return last_error_;
  tried_ = true;
  last_attempt_ = now;
  absl::StatusOr<OnlineStorePtr> opened = open_();
  if (!opened.ok()) {
    last_error_ = opened.status();
    return last_error_;
  }
  owned_ = *std::move(opened);
  store_.store(owned_.get(), std::memory_order_release);
  return owned_.get();
}

}  // namespace ferry::features
