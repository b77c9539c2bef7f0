#pragma once

// OnlineValueCache: the online store's values (and absences) kept in memory in front of
// the engine, for the process that writes the store. A hit costs a hash, a shard's
// shared lock and, typically, two cache misses (the slot, then one block holding key and
// value), with no allocation; RocksDB's own read path (version, memtables, row cache
// with its LRU list) costs several times more per lookup (bench/online_lookup).
//
// Coherence. Only the process that holds the store for writing keeps a cache, and every
// write of that store goes through it, so it can stay exact:
//   - a writer, after its engine write, replaces the cached entry of every key it wrote
//     (if cached) and bumps the shard's epoch;
//   - a reader that misses notes the shard's epoch, reads the engine, and fills the
//     entry only if the epoch has not moved meanwhile, so a value read before a
//     concurrent write can never be cached after it.
// When a shard is over its share of the capacity, entries are evicted in slot order
// from a moving hand (a cheap stand-in for LRU: online keys are looked up at random).
//
// Layout: 64 shards, each an open-addressing table (linear probing, load <= 1/2,
// backward-shift deletion) of (hash, block) slots; a block holds the key and the value
// back to back.
//
// Thread-safety: safe for concurrent use.

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace ferry::features {

class OnlineValueCache {
 public:
  // `capacity_bytes` counts keys, values and a per-entry overhead.
  explicit OnlineValueCache(size_t capacity_bytes);
  ~OnlineValueCache();
  OnlineValueCache(const OnlineValueCache&) = delete;
  OnlineValueCache& operator=(const OnlineValueCache&) = delete;

  struct Probe {
    bool hit = false;
    uint64_t epoch = 0;  // on a miss: pass to Fill
  };
  // On a hit calls `found` with the value, or with nullopt for a key known to be absent,
  // while holding the shard's shared lock; the bytes are valid during the call only.
  Probe Lookup(std::string_view key,
               absl::FunctionRef<void(std::optional<std::string_view>)> found) const;

  // Caches what a reader found for `key` (nullopt: absent), unless the key's shard was
  // written since `epoch` (from Lookup).
  void Fill(std::string_view key, std::optional<std::string_view> value, uint64_t epoch);

  // After `key` was written with `value`: replaces a cached entry, invalidates fills
  // in flight.
  void Written(std::string_view key, std::string_view value);

  size_t entries() const;

 private:
  struct Block;  // key and value bytes, allocated together
  struct Slot {
    uint64_t hash = 0;
    Block* block = nullptr;  // null: empty
  };
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    std::vector<Slot> slots;  // guarded by mu; a power of two
    size_t used = 0;          // guarded by mu
    size_t bytes = 0;         // guarded by mu
    size_t hand = 0;          // guarded by mu: the next eviction candidate
    uint64_t epoch = 0;       // guarded by mu
  };
  static constexpr size_t kShardBits = 6;
  static constexpr size_t kShards = size_t{1} << kShardBits;

  static uint64_t HashOf(std::string_view key);
  Shard& ShardOf(uint64_t hash) const { return shards_[hash >> (64 - kShardBits)]; }
  // The slot holding `key`, or the empty slot where it would go.
  static size_t Find(const Shard& shard, uint64_t hash, std::string_view key);
  void Insert(Shard& shard, uint64_t hash, Block* block);
  void EraseAt(Shard& shard, size_t index);
  void Evict(Shard& shard);

  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace ferry::features
