#include "table/row_sample.h"

#include <cmath>
#include <utility>

namespace ferry::table {

RowSample::Row::Row(std::span<const std::optional<std::string_view>> cells) {
  ends_.reserve(cells.size());
  for (const auto& cell : cells) {
    if (cell) {
      bytes_.append(*cell);
      ends_.push_back(static_cast<uint32_t>(bytes_.size()));
    } else {
      ends_.push_back(static_cast<uint32_t>(bytes_.size()) | kNullBit);
    }
  }
}

std::optional<std::string_view> RowSample::Row::cell(size_t i) const {
  if (i >= ends_.size() || (ends_[i] & kNullBit) != 0) return std::nullopt;
  const uint32_t begin = i == 0 ? 0 : ends_[i - 1] & ~kNullBit;
  return std::string_view(bytes_).substr(begin, ends_[i] - begin);
}

RowSample::RowSample(size_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {
  if (capacity_ > 0) {
    w_ = std::exp(std::log(rng_.NextOpenUnit()) / static_cast<double>(capacity_));
    next_ = capacity_ - 1;
    DrawNext();
  }
}

void RowSample::DrawNext() {
  // Skip a geometric number of rows; w_ shrinks as the reservoir's bar rises.
  const double skip = std::floor(std::log(rng_.NextOpenUnit()) / std::log1p(-w_));
  next_ += 1 + (skip < 1e18 ? static_cast<uint64_t>(skip) : uint64_t{1} << 62);
  w_ *= std::exp(std::log(rng_.NextOpenUnit()) / static_cast<double>(capacity_));
}

void RowSample::Offer(std::span<const std::optional<std::string_view>> cells) {
  if (seen_ < capacity_) {
    rows_.emplace_back(cells);
  } else if (seen_ == next_) {
    rows_[rng_.NextBelow(capacity_)] = Row(cells);
    DrawNext();
  }
  ++seen_;
}

void RowSample::Merge(const RowSample& other) {
  if (other.seen_ == 0) return;
  std::vector<Row> mine = std::move(rows_);
  std::vector<Row> theirs = other.rows_;
  rows_.clear();
  // Draw without replacement from the two samples, each pick from a side with
  // probability proportional to the rows that side still stands for.
  double weight_mine = static_cast<double>(seen_);
  double weight_theirs = static_cast<double>(other.seen_);
  const double per_row_mine = mine.empty() ? 0 : weight_mine / static_cast<double>(mine.size());
  const double per_row_theirs =
      theirs.empty() ? 0 : weight_theirs / static_cast<double>(theirs.size());
  while (rows_.size() < capacity_ && (!mine.empty() || !theirs.empty())) {
    const bool take_mine =
        theirs.empty() ||
        (!mine.empty() && rng_.NextOpenUnit() * (weight_mine + weight_theirs) < weight_mine);
    std::vector<Row>& from = take_mine ? mine : theirs;
    const size_t pick = rng_.NextBelow(from.size());
    rows_.push_back(std::move(from[pick]));
    from[pick] = std::move(from.back());
    from.pop_back();
    (take_mine ? weight_mine : weight_theirs) -= take_mine ? per_row_mine : per_row_theirs;
  }
  seen_ += other.seen_;
  // Continue as a reservoir over the combined stream: after t rows the keep threshold
  // is about capacity / t.
  if (seen_ >= capacity_ && capacity_ > 0) {
    w_ = static_cast<double>(capacity_) / static_cast<double>(seen_);
    next_ = seen_ - 1;
    DrawNext();
  }
}

RowSample RowSample::FromParts(size_t capacity, uint64_t seen, std::vector<Row> rows,
                               const State& state) {
  RowSample sample(capacity, 0);
  sample.seen_ = seen;
  sample.rows_ = std::move(rows);
  sample.rng_ = SplitMix64(state.rng_state);
  sample.next_ = state.next;
  sample.w_ = state.w;
  return sample;
}

bool operator==(const RowSample& a, const RowSample& b) {
  return a.capacity_ == b.capacity_ && a.seen_ == b.seen_ && a.rows_ == b.rows_ &&
         a.rng_.state() == b.rng_.state() && a.next_ == b.next_ && a.w_ == b.w_;
}

}  // namespace ferry::table
