#pragma once

// RateLimiter: a token bucket per key (a token's id, or a client's address), refilled
// at `rate` per second up to `burst`. Keys are spread over shards, each with its own
// mutex, so threads rarely wait for each other; keys not seen for a minute are
// forgotten when their shard grows, which bounds memory whatever clients send.
//
// Thread-safety: Allow may be called from any thread.

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace ferry::auth {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // True when a request by `key` is within rate (per second) and burst (0: one
  // second's worth, at least 1); false when it is over and must wait.
  bool Allow(std::string_view key, double rate, int burst, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  struct Shard {
    std::mutex mutex;
    absl::flat_hash_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;
  static constexpr size_t kForgetAbove = 4096;  // keys per shard before stale ones go

  std::array<Shard, kShards> shards_;
};

}  // namespace ferry::auth
