#pragma once

// SortByHash: sorts entries by their 64-bit `hash` member with a stable LSD radix sort
// (four passes of 16 bits), then each run of equal hashes by `less`. Key hashes are
// uniform, so runs are short (one key's rows) and the radix passes do nearly all the
// work in sequential memory: several times faster than a comparison sort on millions of
// entries. Needs a second buffer the size of the input.
//
// Thread-safety: a pure function on the caller's vector.

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace ferry::features {

template <typename Entry, typename Less>
void SortByHash(std::vector<Entry>& entries, Less less) {
  constexpr int kBits = 16;
  constexpr size_t kBuckets = size_t{1} << kBits;
  std::vector<Entry> buffer(entries.size());
  std::vector<size_t> counts(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    std::fill(counts.begin(), counts.end(), 0);
    for (const Entry& e : entries) ++counts[(e.hash >> shift) & (kBuckets - 1)];
    size_t total = 0;
    for (size_t& c : counts) {
      const size_t n = c;
      c = total;
      total += n;
    }
    for (const Entry& e : entries) buffer[counts[(e.hash >> shift) & (kBuckets - 1)]++] = e;
    entries.swap(buffer);
  }
  for (size_t start = 0; start < entries.size();) {
    size_t end = start + 1;
    while (end < entries.size() && entries[end].hash == entries[start].hash) ++end;
    if (end - start > 1) std::sort(entries.begin() + start, entries.begin() + end, less);
    start = end;
  }
}

}  // namespace ferry::features
