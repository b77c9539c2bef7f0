#include "features/shared_online_store.h"

namespace ferry::features {

absl::StatusOr<OnlineStore*> SharedOnlineStore::Get() {
  if (OnlineStore* store = store_.load(std::memory_order_acquire)) return store;
  std::lock_guard<std::mutex> lock(mu_);
  if (owned_) return owned_.get();
  const auto now = std::chrono::steady_clock::now();
  if (tried_ && now - last_attempt_ < kRetryInterval) return last_error_;
  tried_ = true;
  last_attempt_ = now;
  absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> opened =
      RocksDbOnlineStore::Open(path_, options_);
  if (!opened.ok()) {
    last_error_ = opened.status();
    return last_error_;
  }
  owned_ = *std::move(opened);
  store_.store(owned_.get(), std::memory_order_release);
  return owned_.get();
}

}  // namespace ferry::features
