#include "table/top_values.h"

#include <algorithm>

#include "core/strings.h"
#include "table/hash.h"

namespace ferry::table {

TopValues::TopValues() {
  std::fill(std::begin(slots_), std::end(slots_), int16_t{-1});
}

void TopValues::AddNew(uint64_t hash, std::string_view value) {
  if (entries_.size() == kCapacity) {
    // Misra-Gries: with every counter taken, the new value and one occurrence of each
    // tracked value cancel out.
    DecrementAll(1);
    return;
  }
  const bool truncated = value.size() > kMaxValueBytes;
  Insert(hash, truncated ? value.substr(0, kMaxValueBytes) : value, 1, truncated);
}

void TopValues::Insert(uint64_t hash, std::string_view value, int64_t count, bool truncated) {
  entries_.push_back(Entry{hash, count, static_cast<uint32_t>(arena_.size()),
                           static_cast<uint32_t>(value.size()), truncated});
  arena_.append(value);
  size_t slot = hash & (kSlots - 1);
  while (slots_[slot] >= 0) slot = (slot + 1) & (kSlots - 1);
  slots_[slot] = static_cast<int16_t>(entries_.size() - 1);
}

void TopValues::DecrementAll(int64_t amount) {
  max_error_ += amount;
  std::string arena;
  arena.reserve(arena_.size());
  size_t kept = 0;
  for (const Entry& e : entries_) {
    if (e.count <= amount) continue;
    Entry moved = e;
    moved.count -= amount;
    moved.offset = static_cast<uint32_t>(arena.size());
    arena.append(ValueOf(e));
    entries_[kept++] = moved;
  }
  entries_.resize(kept);
  arena_.swap(arena);
  RebuildSlots();
}

void TopValues::RebuildSlots() {
  std::fill(std::begin(slots_), std::end(slots_), int16_t{-1});
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t slot = entries_[i].hash & (kSlots - 1);
    while (slots_[slot] >= 0) slot = (slot + 1) & (kSlots - 1);
    slots_[slot] = static_cast<int16_t>(i);
  }
}

void TopValues::Merge(const TopValues& other) {
  max_error_ += other.max_error_;
  std::vector<const Entry*> fresh;
  for (const Entry& e : other.entries_) {
    const int index = Find(e.hash);
    if (index >= 0) {
      entries_[static_cast<size_t>(index)].count += e.count;
    } else {
      fresh.push_back(&e);
    }
  }
  if (fresh.empty()) return;
  // Gather every counter, keep the largest kCapacity minus the (kCapacity+1)-th count.
  std::vector<int64_t> counts;
  for (const Entry& e : entries_) counts.push_back(e.count);
  for (const Entry* e : fresh) counts.push_back(e->count);
  int64_t cut = 0;
  if (counts.size() > kCapacity) {
    std::nth_element(counts.begin(), counts.begin() + kCapacity, counts.end(),
                     std::greater<int64_t>());
    cut = counts[kCapacity];
  }
  // Insert the others' counters first (room is made by the cut below).
  std::vector<Entry> entries = entries_;
  std::string arena = arena_;
  entries_.clear();
  arena_.clear();
  std::fill(std::begin(slots_), std::end(slots_), int16_t{-1});
  for (const Entry& e : entries) {
    if (e.count > cut) {
      Insert(e.hash, std::string_view(arena.data() + e.offset, e.length), e.count - cut,
             e.truncated);
    }
  }
  for (const Entry* e : fresh) {
    if (e->count > cut && entries_.size() < kCapacity) {
      Insert(e->hash, other.ValueOf(*e), e->count - cut, e->truncated);
    }
  }
  max_error_ += cut;
}

std::vector<TopValues::Item> TopValues::Items() const {
  std::vector<Item> items;
  items.reserve(entries_.size());
  for (const Entry& e : entries_) items.push_back(Item{std::string(ValueOf(e)), e.count, e.truncated});
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  });
  return items;
}

absl::StatusOr<TopValues> TopValues::FromItems(const std::vector<Item>& items,
                                               int64_t max_error) {
  if (items.size() > kCapacity) {
    return absl::InvalidArgumentError(
        core::Cat("top_values: ", items.size(), " items, more than ", kCapacity));
  }
  if (max_error < 0) return absl::InvalidArgumentError("top_values: negative max_error");
  TopValues top;
  top.max_error_ = max_error;
  for (const Item& item : items) {
    if (item.count < 1) return absl::InvalidArgumentError("top_values: count below 1");
    if (item.value.size() > kMaxValueBytes || (item.truncated && item.value.size() != kMaxValueBytes)) {
      return absl::InvalidArgumentError("top_values: value longer than the limit");
    }
    // A truncated value was counted by the hash of its full text, which is gone; its
    // prefix's hash keeps it distinct from the untruncated values.
    const uint64_t hash = HashBytes(item.value) ^ (item.truncated ? 0x7472756e63617465ULL : 0);
    if (top.Find(hash) >= 0) return absl::InvalidArgumentError("top_values: duplicate value");
    top.Insert(hash, item.value, item.count, item.truncated);
  }
  return top;
}

bool operator==(const TopValues& a, const TopValues& b) {
  return a.max_error_ == b.max_error_ && a.Items() == b.Items();
}

}  // namespace ferry::table
