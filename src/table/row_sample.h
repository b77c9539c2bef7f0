#pragma once

// RowSample: a uniform random sample of up to `capacity` whole rows of a table
// (reservoir sampling, Li's "Algorithm L": after the reservoir fills, the index of the
// next row to keep is drawn directly, so a row that is not kept costs one comparison).
// Deterministic given the seed. While the table has no more rows than the capacity the
// sample is every row, in order.
//
// Cells are kept as text (the field as read; null for empty CSV fields and JSON nulls or
// missing keys). Rows are stored compactly (one string and one offset per cell).
//
// Mergeable (each output row comes from either input with probability proportional to
// the rows that input saw) and serializable (docs/table-profile.md, "sample").
//
// Thread-safety: a value type.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "table/random.h"

namespace ferry::table {

class RowSample {
 public:
  // One sampled row: cell i is null or its text.
  class Row {
   public:
    Row() = default;
    explicit Row(std::span<const std::optional<std::string_view>> cells);
    size_t size() const { return ends_.size(); }
    // Null for cells past the end (columns a JSON Lines file introduced later).
    std::optional<std::string_view> cell(size_t i) const;
    friend bool operator==(const Row&, const Row&) = default;

   private:
    static constexpr uint32_t kNullBit = 0x80000000u;
    std::string bytes_;
    std::vector<uint32_t> ends_;  // end offset of each cell; kNullBit marks a null
  };

  RowSample(size_t capacity, uint64_t seed);

  // Whether the next row (the seen()-th, 0-based) will be kept, so the caller gathers
  // its cells only then. Every row must then be passed to Offer, kept or not.
  bool WantsNext() const { return seen_ < capacity_ || seen_ == next_; }
  // Accounts for the next row, storing it when WantsNext() said so.
  void Offer(std::span<const std::optional<std::string_view>> cells);
  // Accounts for the next row when !WantsNext(), without its cells.
  void Skip() { ++seen_; }

  void Merge(const RowSample& other);

  size_t capacity() const { return capacity_; }
  uint64_t seen() const { return seen_; }
  const std::vector<Row>& rows() const { return rows_; }

  // --- Serialization ------------------------------------------------------------------
  struct State {
    uint64_t rng_state = 0;
    uint64_t next = 0;
    double w = 0;
  };
  State state() const { return {rng_.state(), next_, w_}; }
  static RowSample FromParts(size_t capacity, uint64_t seen, std::vector<Row> rows,
                             const State& state);

  friend bool operator==(const RowSample& a, const RowSample& b);

 private:
  // Draws the next index to keep after the current one (Algorithm L).
  void DrawNext();

  size_t capacity_;
  uint64_t seen_ = 0;
  std::vector<Row> rows_;
  SplitMix64 rng_;
  double w_ = 0;
  uint64_t next_ = 0;
};

}  // namespace ferry::table
