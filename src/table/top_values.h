#pragma once

// TopValues: the most frequent values of a column with their counts, by the Misra-Gries
// algorithm over at most kCapacity (64) counters, keyed by the value's HashBytes.
//
// Guarantee: for every value, reported count <= true count <= reported count +
// max_error(), and any value occurring more than n / 65 times is among the counters.
// While a column has at most 64 distinct values no counter is ever decremented, so
// max_error() is 0 and the counts are exact.
//
// Values longer than kMaxValueBytes (256) are kept by their first 256 bytes (flagged
// truncated), so memory stays bounded (~2.3 KiB of counters and slots, plus the values'
// bytes), and counted by those bytes (KeyOf): long values that share their first 256 bytes
// share a counter, as they read the same in a report, and the sketch always reads back
// from its serialized items.
//
// Mergeable (Agarwal et al., "Mergeable Summaries", 2012: add counters, subtract the
// 65th largest count, drop the non-positive) and serializable (docs/table-profile.md,
// "top_values").
//
// Thread-safety: a value type; concurrent const calls are safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::table {

class TopValues {
 public:
  static constexpr size_t kCapacity = 64;
  static constexpr size_t kMaxValueBytes = 256;

  struct Item {
    std::string value;
    int64_t count = 0;
    bool truncated = false;
    friend bool operator==(const Item&, const Item&) = default;
  };

  TopValues();

  // The counter key of a value whose HashBytes is `hash`: the hash itself, or for a value
  // longer than kMaxValueBytes the key of the prefix it is kept by. Every counting call
  // below takes a key.
  static uint64_t KeyOf(uint64_t hash, std::string_view value) {
    return value.size() > kMaxValueBytes ? TruncatedKey(value.substr(0, kMaxValueBytes)) : hash;
  }

  // Counts one occurrence of `value`, whose HashBytes is `hash`.
  void Add(uint64_t hash, std::string_view value) {
    const uint64_t key = KeyOf(hash, value);
    if (!Increment(key)) {
      AddNew(key, value);
      OwnValues();
    }
  }
  // Counts `value` only if that needs no eviction (it is tracked, or a counter is
  // free); returns false, counting nothing, otherwise.
  bool AddIfRoom(uint64_t hash, std::string_view value) {
    const uint64_t key = KeyOf(hash, value);
    if (Increment(key)) return true;
    const bool inserted = InsertIfRoom(key, value);
    OwnValues();
    return inserted;
  }
  // The steps of Add, for callers that act between them (the column profiler), each
  // taking KeyOf's key: counts the value if it is tracked (returning true); ...
  bool Increment(uint64_t hash) {
    const int index = Find(hash);
    if (index < 0) return false;
    ++entries_[static_cast<size_t>(index)].count;
    return true;
  }
  // ... counts an untracked value (taking a free counter, or decrementing all);
  void AddNew(uint64_t hash, std::string_view value);
  // ... or counts an untracked value only if a counter is free.
  bool InsertIfRoom(uint64_t hash, std::string_view value) {
    if (size_ == kCapacity) return false;
    AddNew(hash, value);
    return true;
  }
  // AddNew and InsertIfRoom only borrow the value's bytes (most values a busy column
  // offers are evicted again before long): they must stay unchanged until OwnValues(),
  // which copies the bytes of the values still counted. Call it before the bytes change
  // and before copying, moving or merging the sketch.
  void OwnValues() {
    if (owned_ != size_) CopyBorrowed();
  }
  // Records that `count` occurrences were never offered: they widen max_error().
  void AddUncounted(int64_t count) { max_error_ += count; }
  void Merge(const TopValues& other);

  // Counters, most frequent first (ties by value), for reports.
  std::vector<Item> Items() const;
  // Upper bound on how much any reported count falls short of the true count.
  int64_t max_error() const { return max_error_; }
  size_t size() const { return size_; }

  // Rebuilds from serialized counters. Errors: InvalidArgument for more than kCapacity
  // items, duplicate values, counts < 1 or a negative max_error.
  static absl::StatusOr<TopValues> FromItems(const std::vector<Item>& items, int64_t max_error);

  friend bool operator==(const TopValues& a, const TopValues& b);

 private:
  // Open addressing at a load of at most 1/4: a lookup almost always ends at its first
  // slot, empty for a new value, or the value's own counter (which a hit updates anyway).
  static constexpr size_t kSlots = kCapacity * 4;
  struct Entry {
    uint64_t hash;
    int64_t count;
    const char* borrowed;  // the value's bytes while borrowed; null once in arena_
    uint32_t offset;       // into arena_, once owned
    uint16_t length;       // at most kMaxValueBytes
    bool truncated;
  };

  static uint64_t TruncatedKey(std::string_view prefix);

  int Find(uint64_t hash) const {
    size_t slot = hash & (kSlots - 1);
    while (true) {
      const int8_t index = slot_index_[slot];
      if (index < 0) return -1;
      if (entries_[static_cast<size_t>(index)].hash == hash) return index;
      slot = (slot + 1) & (kSlots - 1);
    }
  }
  void Insert(uint64_t hash, std::string_view value, int64_t count, bool truncated);
  void InsertSlot(uint64_t hash, size_t index);
  // Subtracts `amount` from every counter and drops those at or below zero.
  void DecrementAll(int64_t amount);
  void RebuildSlots();
  void CopyBorrowed();
  std::string_view ValueOf(const Entry& e) const {
    return {e.borrowed != nullptr ? e.borrowed : arena_.data() + e.offset, e.length};
  }

  // Counters in insertion order; the borrowed ones are entries_[owned_, size_).
  std::array<Entry, kCapacity> entries_{};
  size_t size_ = 0;
  size_t owned_ = 0;
  int8_t slot_index_[kSlots];  // into entries_, -1 when free
  std::string arena_;  // the owned values' bytes, compacted on every decrement
  int64_t max_error_ = 0;
};

}  // namespace ferry::table
