#include "table/kll_sketch.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"

namespace ferry::table {
namespace {

constexpr size_t kMinLevelCapacity = 8;
// Minimum-capacity levels kept as compactors above the sampler.
constexpr size_t kCompactorsAtMinimum = 1;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Insertion sort: level 0 is small (8 items once the sketch is deep), where it beats
// std::sort.
void SortSmall(std::vector<double>& v) {
  if (v.size() > 32) {
    std::sort(v.begin(), v.end());
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    const double x = v[i];
    size_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      --j;
    }
    v[j] = x;
  }
}

}  // namespace

std::vector<uint32_t> KllSketch::CapacitiesByDepth(int k) {
  std::vector<uint32_t> capacities;
  for (double c = k; c > kMinLevelCapacity; c *= 2.0 / 3.0) {
    capacities.push_back(static_cast<uint32_t>(std::ceil(c)));
  }
  return capacities;
}

KllSketch::KllSketch(int k, uint64_t seed)
    : k_(std::clamp(k, kMinK, kMaxK)),
      min_(kInfinity),
      max_(-kInfinity),
      levels_(1),
      rng_(seed),
      capacity_by_depth_(CapacitiesByDepth(k_)) {
  Reshape();
}

size_t KllSketch::Capacity(size_t level) const {
  const size_t depth = levels_.size() - 1 - level;
  return depth < capacity_by_depth_.size() ? capacity_by_depth_[depth] : kMinLevelCapacity;
}

void KllSketch::Reshape() {
  level0_capacity_ = Capacity(0);
  total_capacity_ = 0;
  for (size_t h = 0; h < levels_.size(); ++h) total_capacity_ += Capacity(h);
  // Levels 0 .. H-1-D sit at the minimum capacity (D: depths above it).
  const size_t depth_above_minimum = capacity_by_depth_.size();
  const size_t at_minimum =
      levels_.size() > depth_above_minimum ? levels_.size() - depth_above_minimum : 0;
  if (block_seen_ == 0 && at_minimum > kCompactorsAtMinimum &&
      at_minimum - kCompactorsAtMinimum > entry_level_) {
    entry_level_ = at_minimum - kCompactorsAtMinimum;
  }
}

void KllSketch::UpdateBatch(const double* values, size_t count) {
  double low = min_;
  double high = max_;
  bool has_nan = false;
  for (size_t i = 0; i < count; ++i) {
    low = values[i] < low ? values[i] : low;
    high = values[i] > high ? values[i] : high;
    has_nan |= values[i] != values[i];
  }
  if (has_nan || entry_level_ == 0) {
    for (size_t i = 0; i < count; ++i) Update(values[i]);
    return;
  }
  min_ = low;
  max_ = high;
  const uint64_t block = uint64_t{1} << entry_level_;
  size_t i = 0;
  while (i < count) {
    if (block_seen_ == 0) pick_ = rng_.NextBelow(block);
    const uint64_t take = std::min<uint64_t>(count - i, block - block_seen_);
    if (pick_ >= block_seen_ && pick_ < block_seen_ + take) {
      candidate_ = values[i + (pick_ - block_seen_)];
    }
    last_ = values[i + take - 1];
    block_seen_ += take;
    n_ += take;
    i += take;
    // EndBlock may deepen the sketch and so change the block size for what follows.
    if (block_seen_ == block) {
      EndBlock();
      if (entry_level_ == 0 || (uint64_t{1} << entry_level_) != block) {
        for (; i < count; ++i) Update(values[i]);
        return;
      }
    }
  }
}

void KllSketch::EndBlock() {
  block_seen_ = 0;
  InsertSorted(entry_level_, candidate_);
  if (retained_ >= total_capacity_) Compress();
}

void KllSketch::InsertSorted(size_t level, double value) {
  ++retained_;
  std::vector<double>& v = levels_[level];
  if (level <= entry_level_) {
    v.push_back(value);  // levels up to the entry level are sorted when compacted
  } else {
    v.insert(std::upper_bound(v.begin(), v.end(), value), value);
  }
}

void KllSketch::AddWeighted(double value, uint64_t weight) {
  for (size_t h = 0; weight != 0; ++h, weight >>= 1) {
    if ((weight & 1) == 0) continue;
    if (h >= levels_.size()) levels_.resize(h + 1);
    InsertSorted(h, value);
  }
}

void KllSketch::Flush() {
  if (block_seen_ > 0) {
    const uint64_t weight = block_seen_;
    const double representative = Representative();
    block_seen_ = 0;
    AddWeighted(representative, weight);
    Reshape();
    if (retained_ >= total_capacity_) Compress();
  }
  // Serialized levels above 0 are sorted.
  for (size_t h = 1; h <= entry_level_ && h < levels_.size(); ++h) {
    std::sort(levels_[h].begin(), levels_[h].end());
  }
}

bool KllSketch::flushed() const {
  if (block_seen_ > 0) return false;
  for (size_t h = 1; h <= entry_level_ && h < levels_.size(); ++h) {
    if (!std::is_sorted(levels_[h].begin(), levels_[h].end())) return false;
  }
  return true;
}

void KllSketch::Compress() {
  if (entry_level_ == 0 && levels_[0].size() >= level0_capacity_) {
    CompactLevel(0);
    Reshape();
  }
  // While the sketch is at its total capacity some level is at or over its own.
  while (retained_ >= total_capacity_) {
    size_t h = 0;
    while (levels_[h].size() < Capacity(h)) ++h;
    CompactLevel(h);
    Reshape();
  }
}

void KllSketch::CompactLevel(size_t h) {
  if (h <= entry_level_) SortSmall(levels_[h]);
  if (h + 1 == levels_.size()) levels_.emplace_back();
  std::vector<double>& level = levels_[h];
  std::vector<double>& above = levels_[h + 1];
  const size_t size = level.size();
  const size_t paired = size - (size % 2);
  const size_t offset = rng_.Next() & 1;
  const size_t promoted = paired / 2;
  size_t a = above.size();
  size_t out = a + promoted;
  above.resize(out);
  if (h + 1 <= entry_level_) {
    // Levels up to the sampler's entry level stay unsorted until their own compaction.
    for (size_t t = 0; t < promoted; ++t) above[a + t] = level[offset + 2 * t];
  } else {
    // Merge the promoted half (sorted, as `level` now is) into the sorted level above,
    // from the back, in place.
    for (size_t t = promoted; t > 0;) {
      const double x = level[offset + 2 * (t - 1)];
      if (a > 0 && above[a - 1] > x) {
        above[--out] = above[--a];
      } else {
        above[--out] = x;
        --t;
      }
    }
  }
  // An odd item out stays at this level.
  if (size % 2 == 1) level[0] = level[size - 1];
  level.resize(size % 2);
  retained_ -= paired - promoted;
}

void KllSketch::Scale(double factor) {
  if (n_ == 0) return;
  min_ *= factor;
  max_ *= factor;
  candidate_ *= factor;
  last_ *= factor;
  for (std::vector<double>& level : levels_) {
    for (double& x : level) x *= factor;
  }
}

absl::Status KllSketch::Merge(const KllSketch& other) {
  if (other.k_ != k_) {
    return absl::InvalidArgumentError(
        core::Cat("cannot merge KLL sketches with k ", k_, " and ", other.k_));
  }
  if (other.n_ == 0) return absl::OkStatus();
  Flush();
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  n_ += other.n_;
  if (levels_.size() < other.levels_.size()) levels_.resize(other.levels_.size());
  for (size_t h = 0; h < other.levels_.size(); ++h) {
    std::vector<double>& mine = levels_[h];
    const std::vector<double>& theirs = other.levels_[h];
    const size_t middle = mine.size();
    mine.insert(mine.end(), theirs.begin(), theirs.end());
    if (h > 0 && h <= std::max(entry_level_, other.entry_level_)) {
      std::sort(mine.begin(), mine.end());  // either side may be unsorted here
    } else if (h > 0) {
      std::inplace_merge(mine.begin(), mine.begin() + static_cast<ptrdiff_t>(middle), mine.end());
    }
  }
  retained_ += other.retained_;
  if (other.block_seen_ > 0) AddWeighted(other.Representative(), other.block_seen_);
  Reshape();
  if (retained_ >= total_capacity_) Compress();
  return absl::OkStatus();
}

KllSketch::SortedView KllSketch::View() const {
  SortedView view;
  view.n_ = n_;
  view.min_ = min();
  view.max_ = max();
  std::vector<std::pair<double, uint64_t>> items;
  for (size_t h = 0; h < levels_.size(); ++h) {
    for (double x : levels_[h]) items.emplace_back(x, uint64_t{1} << h);
  }
  if (block_seen_ > 0) items.emplace_back(Representative(), block_seen_);
  std::sort(items.begin(), items.end());
  view.values_.reserve(items.size());
  view.cumulative_.reserve(items.size());
  uint64_t total = 0;
  for (const auto& [value, weight] : items) {
    total += weight;
    view.values_.push_back(value);
    view.cumulative_.push_back(total);
  }
  return view;
}

double KllSketch::SortedView::Quantile(double q) const {
  if (n_ == 0 || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  const double target = q * static_cast<double>(cumulative_.back());
  const auto it = std::lower_bound(cumulative_.begin(), cumulative_.end(), target,
                                   [](uint64_t c, double t) { return static_cast<double>(c) < t; });
  if (it == cumulative_.end()) return max_;
  return values_[static_cast<size_t>(it - cumulative_.begin())];
}

double KllSketch::SortedView::Rank(double x) const {
  if (n_ == 0 || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x < min_) return 0;
  if (x >= max_) return 1;
  const auto it = std::upper_bound(values_.begin(), values_.end(), x);
  if (it == values_.begin()) return 0;
  const uint64_t below = cumulative_[static_cast<size_t>(it - values_.begin()) - 1];
  return static_cast<double>(below) / static_cast<double>(cumulative_.back());
}

absl::StatusOr<KllSketch> KllSketch::FromParts(int k, uint64_t n, double min, double max,
                                               std::vector<std::vector<double>> levels,
                                               uint64_t rng_state) {
  if (k < kMinK || k > kMaxK) {
    return absl::InvalidArgumentError(
        core::Cat("kll: k ", k, " is outside [", kMinK, ", ", kMaxK, "]"));
  }
  if (levels.empty()) levels.emplace_back();
  if (levels.size() > 64) return absl::InvalidArgumentError("kll: more than 64 levels");
  uint64_t weight = 0;
  for (size_t h = 0; h < levels.size(); ++h) {
    for (double x : levels[h]) {
      if (!std::isfinite(x)) return absl::InvalidArgumentError("kll: non-finite value");
      if (x < min || x > max) return absl::InvalidArgumentError("kll: value outside [min, max]");
    }
    if (h > 0 && !std::is_sorted(levels[h].begin(), levels[h].end())) {
      return absl::InvalidArgumentError(core::Cat("kll: level ", h, " is not sorted"));
    }
    weight += static_cast<uint64_t>(levels[h].size()) << h;
  }
  if (weight != n) {
    return absl::InvalidArgumentError(
        core::Cat("kll: retained items weigh ", weight, " but n is ", n));
  }
  KllSketch sketch(k, 0);
  sketch.n_ = n;
  if (n > 0) {
    if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
      return absl::InvalidArgumentError("kll: bad min/max");
    }
    sketch.min_ = min;
    sketch.max_ = max;
  }
  sketch.levels_ = std::move(levels);
  sketch.retained_ = 0;
  for (const auto& level : sketch.levels_) sketch.retained_ += level.size();
  sketch.rng_ = SplitMix64(rng_state);
  sketch.Reshape();
  return sketch;
}

bool operator==(const KllSketch& a, const KllSketch& b) {
  return a.k_ == b.k_ && a.n_ == b.n_ && (a.n_ == 0 || (a.min_ == b.min_ && a.max_ == b.max_)) &&
         a.levels_ == b.levels_ &&
         a.rng_.state() == b.rng_.state() && a.entry_level_ == b.entry_level_ &&
         a.block_seen_ == b.block_seen_ &&
         (a.block_seen_ == 0 || (a.pick_ == b.pick_ && a.Representative() == b.Representative()));
}

}  // namespace ferry::table
