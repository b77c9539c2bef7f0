#include "table/top_values.h"

#include <algorithm>

#include "core/strings.h"
#include "table/hash.h"

namespace ferry::table {

TopValues::TopValues() { std::fill(std::begin(slot_index_), std::end(slot_index_), int8_t{-1}); }

uint64_t TopValues::TruncatedKey(std::string_view prefix) {
  // Salted: a truncated value never shares a key with a short value of the same bytes.
  return HashBytes(prefix) ^ 0x7472756e63617465ULL;
}

void TopValues::AddNew(uint64_t hash, std::string_view value) {
  if (size_ == kCapacity) {
    // Misra-Gries: with every counter taken, the new value and one occurrence of each
    // tracked value cancel out.
    DecrementAll(1);
    return;
  }
  const bool truncated = value.size() > kMaxValueBytes;
  Insert(hash, truncated ? value.substr(0, kMaxValueBytes) : value, 1, truncated);
}

void TopValues::Insert(uint64_t hash, std::string_view value, int64_t count, bool truncated) {
  entries_[size_] = Entry{hash, count, value.data(), 0, static_cast<uint16_t>(value.size()), truncated};
  InsertSlot(hash, size_++);
}

void TopValues::InsertSlot(uint64_t hash, size_t index) {
  size_t slot = hash & (kSlots - 1);
  while (slot_index_[slot] >= 0) slot = (slot + 1) & (kSlots - 1);
  slot_index_[slot] = static_cast<int8_t>(index);
}

void TopValues::CopyBorrowed() {
  for (size_t i = owned_; i < size_; ++i) {
    Entry& e = entries_[i];
    e.offset = static_cast<uint32_t>(arena_.size());
    arena_.append(e.borrowed, e.length);
    e.borrowed = nullptr;
  }
  owned_ = size_;
}

void TopValues::DecrementAll(int64_t amount) {
  max_error_ += amount;
  size_t kept = 0;
  size_t owned = 0;
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].count <= amount) continue;
    entries_[i].count -= amount;
    if (entries_[i].borrowed == nullptr) ++owned;  // owned entries come first, kept or not
    entries_[kept++] = entries_[i];
  }
  size_ = kept;
  if (owned < owned_) {
    // Owned values were dropped: compact their bytes.
    std::string arena;
    for (size_t i = 0; i < owned; ++i) {
      const std::string_view value = ValueOf(entries_[i]);
      entries_[i].offset = static_cast<uint32_t>(arena.size());
      arena.append(value);
    }
    arena_.swap(arena);
  }
  owned_ = owned;
  RebuildSlots();
}

void TopValues::RebuildSlots() {
  std::fill(std::begin(slot_index_), std::end(slot_index_), int8_t{-1});
  for (size_t i = 0; i < size_; ++i) InsertSlot(entries_[i].hash, i);
}

void TopValues::Merge(const TopValues& other) {
  max_error_ += other.max_error_;
  std::vector<const Entry*> fresh;
  for (size_t i = 0; i < other.size_; ++i) {
    const Entry& e = other.entries_[i];
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
  for (size_t i = 0; i < size_; ++i) counts.push_back(entries_[i].count);
  for (const Entry* e : fresh) counts.push_back(e->count);
  int64_t cut = 0;
  if (counts.size() > kCapacity) {
    std::nth_element(counts.begin(), counts.begin() + kCapacity, counts.end(),
                     std::greater<int64_t>());
    cut = counts[kCapacity];
  }
  // Keep the counters above the cut, this sketch's first; the kept values are borrowed
  // from the old counters and `other` until copied at the end.
  const std::array<Entry, kCapacity> entries = entries_;
  const size_t size = size_;
  const std::string arena = std::move(arena_);
  arena_.clear();
  size_ = 0;
  owned_ = 0;
  std::fill(std::begin(slot_index_), std::end(slot_index_), int8_t{-1});
  for (size_t i = 0; i < size; ++i) {
    const Entry& e = entries[i];
    if (e.count > cut) {
      const char* bytes = e.borrowed != nullptr ? e.borrowed : arena.data() + e.offset;
      Insert(e.hash, std::string_view(bytes, e.length), e.count - cut, e.truncated);
    }
  }
  for (const Entry* e : fresh) {
    if (e->count > cut && size_ < kCapacity) {
      Insert(e->hash, other.ValueOf(*e), e->count - cut, e->truncated);
    }
  }
  max_error_ += cut;
  OwnValues();
}

std::vector<TopValues::Item> TopValues::Items() const {
  std::vector<Item> items;
  items.reserve(size_);
  for (size_t i = 0; i < size_; ++i) {
    const Entry& e = entries_[i];
    items.push_back(Item{std::string(ValueOf(e)), e.count, e.truncated});
  }
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
    const uint64_t hash = item.truncated ? TruncatedKey(item.value) : HashBytes(item.value);
    if (top.Find(hash) >= 0) return absl::InvalidArgumentError("top_values: duplicate value");
    top.Insert(hash, item.value, item.count, item.truncated);
  }
  top.OwnValues();
  return top;
}

bool operator==(const TopValues& a, const TopValues& b) {
  return a.max_error_ == b.max_error_ && a.Items() == b.Items();
}

}  // namespace ferry::table
