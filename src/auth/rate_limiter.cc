#include "auth/rate_limiter.h"

#include <algorithm>
#include <functional>

namespace ferry::auth {

bool RateLimiter::Allow(std::string_view key, double rate, int burst, Clock::time_point now) {
  const double capacity = burst > 0 ? burst : std::max(1.0, rate);
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  if (shard.buckets.size() >= kForgetAbove) {
    // A bucket idle for a minute is full again anyway: forgetting it changes nothing.
    absl::erase_if(shard.buckets, [now](const auto& entry) {
      return now - entry.second.last > std::chrono::minutes(1);
    });
    // Still full of fresh keys (clients from very many addresses): start over rather
    // than grow without bound; those keys get a full bucket once more.
    if (shard.buckets.size() >= 4 * kForgetAbove) shard.buckets.clear();
  }
  auto [it, inserted] = shard.buckets.try_emplace(absl::string_view(key.data(), key.size()));
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = capacity;
  } else {
    const double seconds = std::chrono::duration<double>(now - bucket.last).count();
    bucket.tokens = std::min(capacity, bucket.tokens + std::max(0.0, seconds) * rate);
  }
  bucket.last = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace ferry::auth
