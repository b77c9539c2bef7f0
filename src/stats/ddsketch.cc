#include "stats/ddsketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/strings.h"

namespace ferry::stats {
namespace {

constexpr int32_t kNoMinKey = std::numeric_limits<int32_t>::max();
constexpr int32_t kNoMaxKey = std::numeric_limits<int32_t>::min();
// The array grows in steps of this many buckets beyond what is needed, so a stream whose
// range widens slowly reallocates once per step rather than once per new key.
constexpr int64_t kGrowthStep = 128;

}  // namespace

DDSketch::DDSketch() : DDSketch(kDefaultRelativeAccuracy, kDefaultMaxBuckets) {}

DDSketch::DDSketch(double relative_accuracy, int max_buckets)
    : alpha_(relative_accuracy),
      max_buckets_(max_buckets),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      inverse_log_gamma_(1 / std::log(gamma_)),
      // Below DBL_MIN the logarithm of a subnormal loses precision; such values are zero
      // for every purpose this sketch serves. The upper limit keeps the estimate finite.
      min_indexable_(std::numeric_limits<double>::min() * gamma_),
      max_indexable_(std::numeric_limits<double>::max() / gamma_),
      min_key_(kNoMinKey),
      max_key_(kNoMaxKey),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {}

absl::StatusOr<DDSketch> DDSketch::Create(double relative_accuracy, int max_buckets) {
  if (!(relative_accuracy >= kMinRelativeAccuracy && relative_accuracy < 1)) {
    return absl::InvalidArgumentError(core::Cat("DDSketch relative accuracy must be in [",
                                                kMinRelativeAccuracy, ", 1), got ",
                                                relative_accuracy));
  }
  if (max_buckets < kMinMaxBuckets) {
    return absl::InvalidArgumentError(
        core::Cat("DDSketch needs at least ", kMinMaxBuckets, " buckets, got ", max_buckets));
  }
  return DDSketch(relative_accuracy, max_buckets);
}

int32_t DDSketch::Key(double value) const {
  return static_cast<int32_t>(std::ceil(std::log(value) * inverse_log_gamma_));
}

double DDSketch::KeyValue(int32_t key) const {
  return 2 * std::exp(key / inverse_log_gamma_) / (gamma_ + 1);
}

uint64_t DDSketch::BucketCount(int32_t key) const {
  const int64_t i = int64_t{key} - offset_;
  if (i < 0 || i >= static_cast<int64_t>(counts_.size())) return 0;
  return counts_[i];
}

void DDSketch::AddOutsideWindow(int32_t key, uint64_t count) {
  int32_t lo = std::min(key, min_key_);
  const int32_t hi = std::max(key, max_key_);
  if (int64_t{hi} - lo + 1 > max_buckets_) {
    lo = hi - max_buckets_ + 1;
    collapsed_ = true;
  }
  EnsureWindow(lo, hi);
  const int32_t target = std::max(key, lo);
  counts_[target - offset_] += count;
  min_key_ = std::min(min_key_, target);
  max_key_ = std::max(max_key_, target);
}

void DDSketch::EnsureWindow(int32_t lo, int32_t hi) {
  const int64_t size = static_cast<int64_t>(counts_.size());
  if (lo >= offset_ && int64_t{hi} < offset_ + size) return;
  // Keys below lo fold into lo; that can only happen while the span is at its limit.
  const int64_t needed = int64_t{hi} - lo + 1;
  const int64_t new_size = std::min<int64_t>(
      max_buckets_, (needed + kGrowthStep + kGrowthStep - 1) / kGrowthStep * kGrowthStep);
  // Spare room goes on the side the range grew towards, where the next new key will be;
  // around the first key, on both sides. Every choice keeps new_offset >= hi - max_buckets
  // + 1, so a key inside the array never needs folding.
  int32_t new_offset = lo;
  if (size == 0) {
    new_offset = static_cast<int32_t>(lo - (new_size - needed) / 2);
  } else if (lo < offset_ && int64_t{hi} < offset_ + size) {
    new_offset = static_cast<int32_t>(hi - new_size + 1);
  }
  std::vector<uint64_t> grown(new_size, 0);
  if (min_key_ <= max_key_) {
    for (int32_t k = min_key_; k <= max_key_; ++k) {
      const uint64_t c = counts_[k - offset_];
      if (c != 0) grown[std::max(k, lo) - new_offset] += c;
    }
    min_key_ = std::max(min_key_, lo);
    max_key_ = std::max(max_key_, lo);
  }
  counts_ = std::move(grown);
  offset_ = new_offset;
}

absl::Status DDSketch::Merge(const DDSketch& other) {
  if (other.alpha_ != alpha_) {
    return absl::InvalidArgumentError(
        core::Cat("cannot merge DDSketches of different relative accuracy (", alpha_, " and ",
                  other.alpha_, "): their buckets do not line up"));
  }
  rejected_count_ += other.rejected_count_;
  if (other.count_ == 0) return absl::OkStatus();
  if (other.min_key_ <= other.max_key_) {
    int32_t lo = std::min(min_key_, other.min_key_);
    const int32_t hi = std::max(max_key_, other.max_key_);
    if (int64_t{hi} - lo + 1 > max_buckets_) {
      lo = hi - max_buckets_ + 1;
      collapsed_ = true;
    }
    EnsureWindow(lo, hi);
    for (int32_t k = other.min_key_; k <= other.max_key_; ++k) {
      const uint64_t c = other.counts_[k - other.offset_];
      if (c == 0) continue;
      const int32_t target = std::max(k, lo);
      counts_[target - offset_] += c;
      min_key_ = std::min(min_key_, target);
      max_key_ = std::max(max_key_, target);
    }
  }
  // A collapsed input has already folded mass this sketch cannot place lower again.
  collapsed_ = collapsed_ || other.collapsed_;
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  return absl::OkStatus();
}

std::optional<double> DDSketch::Quantile(double q) const {
  if (count_ == 0 || !(q >= 0 && q <= 1)) return std::nullopt;
  if (q == 0) return min_;
  if (q == 1) return max_;
  // The paper's lower quantile: the item at 0-based rank floor(q (n - 1)) is in the
  // first bucket whose cumulative count exceeds q (n - 1).
  const double rank = q * static_cast<double>(count_ - 1);
  double cumulative = static_cast<double>(zero_count_);
  // Clamping to [min, max] never moves an estimate away from the true value, which lies
  // in that interval, and makes the extreme buckets exact.
  if (cumulative > rank) return std::clamp(0.0, min_, max_);
  for (int32_t k = min_key_; k <= max_key_; ++k) {
    cumulative += static_cast<double>(counts_[k - offset_]);
    if (cumulative > rank) return std::clamp(KeyValue(k), min_, max_);
  }
  return max_;
}

void DDSketch::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  min_key_ = kNoMinKey;
  max_key_ = kNoMaxKey;
  collapsed_ = false;
  count_ = 0;
  zero_count_ = 0;
  rejected_count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
}

std::optional<double> DDSketch::min() const {
  if (count_ == 0) return std::nullopt;
  return min_;
}

std::optional<double> DDSketch::max() const {
  if (count_ == 0) return std::nullopt;
  return max_;
}

int DDSketch::bucket_span() const { return min_key_ <= max_key_ ? max_key_ - min_key_ + 1 : 0; }

bool DDSketch::operator==(const DDSketch& other) const {
  if (alpha_ != other.alpha_ || max_buckets_ != other.max_buckets_ ||
      collapsed_ != other.collapsed_ || count_ != other.count_ ||
      zero_count_ != other.zero_count_ || rejected_count_ != other.rejected_count_ ||
      sum_ != other.sum_ || min_key_ != other.min_key_ || max_key_ != other.max_key_) {
    return false;
  }
  if (min_ != other.min_ || max_ != other.max_) return false;
  for (int32_t k = min_key_; k <= max_key_; ++k) {
    if (BucketCount(k) != other.BucketCount(k)) return false;
  }
  return true;
}

}  // namespace ferry::stats
