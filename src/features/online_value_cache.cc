#include "features/online_value_cache.h"

#include <cstring>
#include <functional>
#include <mutex>
#include <new>

namespace ferry::features {

struct OnlineValueCache::Block {
  uint32_t key_size;
  uint32_t value_size;
  bool present;

  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_size}; }
  std::string_view value() const { return {data() + key_size, value_size}; }
  // What an entry costs: the block, and the slots a half-full table keeps for it.
  size_t Charge() const { return sizeof(Block) + key_size + value_size + 2 * sizeof(Slot); }

  static Block* Make(std::string_view key, std::optional<std::string_view> value) {
    const size_t value_size = value ? value->size() : 0;
    void* memory = ::operator new(sizeof(Block) + key.size() + value_size);
    Block* block = new (memory) Block{static_cast<uint32_t>(key.size()),
                                      static_cast<uint32_t>(value_size), value.has_value()};
    char* out = reinterpret_cast<char*>(block + 1);
    std::memcpy(out, key.data(), key.size());
    if (value) std::memcpy(out + key.size(), value->data(), value_size);
    return block;
  }
  static void Free(Block* block) { ::operator delete(block); }
};

namespace {
constexpr size_t kInitialSlots = 16;
}  // namespace

OnlineValueCache::OnlineValueCache(size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards), shards_(new Shard[kShards]) {
  for (size_t s = 0; s < kShards; ++s) shards_[s].slots.resize(kInitialSlots);
}

OnlineValueCache::~OnlineValueCache() {
  for (size_t s = 0; s < kShards; ++s) {
    for (Slot& slot : shards_[s].slots) {
      if (slot.block) Block::Free(slot.block);
    }
  }
}

uint64_t OnlineValueCache::HashOf(std::string_view key) {
  return std::hash<std::string_view>()(key);
}

size_t OnlineValueCache::Find(const Shard& shard, uint64_t hash, std::string_view key) {
  const size_t mask = shard.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = shard.slots[i];
    if (slot.block == nullptr) return i;
    if (slot.hash == hash && slot.block->key() == key) return i;
  }
}

OnlineValueCache::Probe OnlineValueCache::Lookup(
    std::string_view key, absl::FunctionRef<void(std::optional<std::string_view>)> found) const {
  const uint64_t hash = HashOf(key);
  const Shard& shard = ShardOf(hash);
  std::shared_lock<std::shared_mutex> lock(shard.mu);
  const Block* block = shard.slots[Find(shard, hash, key)].block;
  if (block == nullptr) return {false, shard.epoch};
  if (block->present) {
    found(block->value());
  } else {
    found(std::nullopt);
  }
  return {true, shard.epoch};
}

void OnlineValueCache::Fill(std::string_view key, std::optional<std::string_view> value,
                            uint64_t epoch) {
  if (sizeof(Block) + key.size() + (value ? value->size() : 0) > shard_capacity_) return;
  const uint64_t hash = HashOf(key);
  Shard& shard = ShardOf(hash);
  std::unique_lock<std::shared_mutex> lock(shard.mu);
  if (shard.epoch != epoch) return;  // written since the reader looked: its value may be old
  if (shard.slots[Find(shard, hash, key)].block != nullptr) return;  // filled meanwhile
  Insert(shard, hash, Block::Make(key, value));
  Evict(shard);
}

void OnlineValueCache::Written(std::string_view key, std::string_view value) {
  const uint64_t hash = HashOf(key);
  Shard& shard = ShardOf(hash);
  std::unique_lock<std::shared_mutex> lock(shard.mu);
  ++shard.epoch;
  Slot& slot = shard.slots[Find(shard, hash, key)];
  if (slot.block == nullptr) return;
  shard.bytes -= slot.block->Charge();
  Block::Free(slot.block);
  slot.block = Block::Make(key, value);
  shard.bytes += slot.block->Charge();
  Evict(shard);
}

size_t OnlineValueCache::entries() const {
  size_t n = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::shared_lock<std::shared_mutex> lock(shards_[s].mu);
    n += shards_[s].used;
  }
  return n;
}

void OnlineValueCache::Insert(Shard& shard, uint64_t hash, Block* block) {
  if ((shard.used + 1) * 2 > shard.slots.size()) {
    std::vector<Slot> old(shard.slots.size() * 2);
    old.swap(shard.slots);
    const size_t mask = shard.slots.size() - 1;
    for (const Slot& s : old) {
      if (s.block == nullptr) continue;
      size_t i = s.hash & mask;
      while (shard.slots[i].block != nullptr) i = (i + 1) & mask;
      shard.slots[i] = s;
    }
  }
  const size_t mask = shard.slots.size() - 1;
  size_t i = hash & mask;
  while (shard.slots[i].block != nullptr) i = (i + 1) & mask;
  shard.slots[i] = {hash, block};
  ++shard.used;
  shard.bytes += block->Charge();
}

void OnlineValueCache::EraseAt(Shard& shard, size_t index) {
  const size_t mask = shard.slots.size() - 1;
  shard.bytes -= shard.slots[index].block->Charge();
  Block::Free(shard.slots[index].block);
  --shard.used;
  // Backward shift: pull later entries of the probe run into the hole when their home
  // slot is not between the hole and where they are.
  size_t hole = index;
  shard.slots[hole] = {};
  for (size_t j = (hole + 1) & mask; shard.slots[j].block != nullptr; j = (j + 1) & mask) {
    const size_t home = shard.slots[j].hash & mask;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    shard.slots[hole] = shard.slots[j];
    shard.slots[j] = {};
    hole = j;
  }
}

void OnlineValueCache::Evict(Shard& shard) {
  const size_t mask = shard.slots.size() - 1;
  while (shard.bytes > shard_capacity_ && shard.used > 0) {
    size_t i = shard.hand & mask;
    while (shard.slots[i].block == nullptr) i = (i + 1) & mask;
    EraseAt(shard, i);
    shard.hand = i + 1;
  }
}

}  // namespace ferry::features
