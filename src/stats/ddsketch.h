#pragma once

// DDSketch: a mergeable quantile sketch with relative-error guarantees (Masson, Rim, Lee,
// "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error Guarantees",
// VLDB 2019), for latencies and other non-negative values whose tail matters: a p99 of
// 250 ms is reported as 250 ms +- 1%, whatever the spread of the rest.
//
// Mapping: with gamma = (1 + alpha) / (1 - alpha), a value x > 0 falls in bucket
// i = ceil(log_gamma(x)), which holds (gamma^(i-1), gamma^i]; the bucket's estimate
// 2 gamma^i / (gamma + 1) is within relative error alpha of every value in it. Values in
// [0, min_indexable()] (zero included) are counted in a separate zero bucket whose
// estimate is 0.
//
// Guarantee: Quantile(q) returns x' with |x' - x_q| <= alpha * x_q, where x_q is the
// value at 0-based position floor(q * (count - 1)) of the sorted input (the paper's lower
// quantile) — as long as the sketch has not collapsed below that rank (see next).
//
// Memory: buckets live in one dense array of counts with a key offset, so Add is an
// index computation and an increment; the array grows (a reallocation) only when a value
// falls outside the keys seen so far. At most max_buckets buckets are kept: when a new
// value would widen the range past that, the lowest buckets are folded into the lowest
// kept one (collapsed() turns true). This loses accuracy only for the lowest quantiles,
// which is the right trade for latencies; with alpha = 0.01 and 2048 buckets the kept
// range spans a factor of gamma^2048 ~ 6e17 before anything collapses.
//
// Rejected values: negative values, NaN, infinities and values above max_indexable() are
// not added; they are counted in rejected_count() so callers can report them.
//
// Thread-safety: none. A DDSketch is a value type; callers that share one lock around it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::stats {

class DDSketch {
 public:
  static constexpr double kDefaultRelativeAccuracy = 0.01;
  static constexpr int kDefaultMaxBuckets = 2048;
  static constexpr int kMinMaxBuckets = 8;
  // Keys stay far inside int32 for any alpha >= this (|key| <= ~7.4e6), so no key
  // arithmetic overflows.
  static constexpr double kMinRelativeAccuracy = 1e-4;

  // alpha = 0.01, 2048 buckets.
  DDSketch();
  // InvalidArgument unless kMinRelativeAccuracy <= relative_accuracy < 1 and
  // max_buckets >= kMinMaxBuckets.
  static absl::StatusOr<DDSketch> Create(double relative_accuracy, int max_buckets);

  // Adds `value` `count` times (count 0 adds nothing). See "Rejected values" above.
  void Add(double value, uint64_t count = 1) {
    if (count == 0) return;
    if (!(value >= 0 && value <= max_indexable_)) {  // also catches NaN
      rejected_count_ += count;
      return;
    }
    if (value <= min_indexable_) {
      zero_count_ += count;
    } else {
      const int32_t key = Key(value);
      if (key < offset_ || key >= offset_ + static_cast<int64_t>(counts_.size())) {
        AddOutsideWindow(key, count);
      } else {
        counts_[key - offset_] += count;
        if (key < min_key_) min_key_ = key;
        if (key > max_key_) max_key_ = key;
      }
    }
    count_ += count;
    sum_ += value * static_cast<double>(count);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  // Adds everything `other` summarized. Afterwards this sketch equals, bucket for bucket,
  // one built from both inputs (collapsing folds keys below a limit set by the highest key
  // alone, so it does not depend on order). InvalidArgument when the relative accuracies
  // differ (their buckets do not line up); this sketch is then unchanged. Keeps this
  // sketch's max_buckets.
  absl::Status Merge(const DDSketch& other);

  // The q-quantile estimate (see "Guarantee"); q = 0 gives min(), q = 1 max(), exactly.
  // nullopt for an empty sketch or q outside [0, 1] (NaN included).
  std::optional<double> Quantile(double q) const;

  // Forgets every value; keeps the accuracy, the bucket limit and the allocated array.
  void Clear();

  double relative_accuracy() const { return alpha_; }
  int max_buckets() const { return max_buckets_; }
  uint64_t count() const { return count_; }  // values added, zero bucket included
  double sum() const { return sum_; }
  // Exact min and max of the values added; nullopt when empty.
  std::optional<double> min() const;
  std::optional<double> max() const;
  uint64_t zero_count() const { return zero_count_; }
  uint64_t rejected_count() const { return rejected_count_; }
  bool collapsed() const { return collapsed_; }
  bool empty() const { return count_ == 0; }
  // Buckets between the lowest and highest non-empty key (what the memory bound counts).
  int bucket_span() const;
  double min_indexable() const { return min_indexable_; }
  double max_indexable() const { return max_indexable_; }

  // Compact bytes for storage: header, then the counts of the non-empty key range as
  // varints (format in docs/ddsketch-format.md). FromBytes returns InvalidArgument for bytes
  // that are not a well-formed sketch (truncated, bad version, counts that do not add up).
  std::string ToBytes() const;
  static absl::StatusOr<DDSketch> FromBytes(std::string_view bytes);

  // For status APIs: {"relative_accuracy", "count", "sum", "min", "max", "zero_count",
  // "rejected_count", "collapsed", "quantiles": {"p50", "p90", "p95", "p99", "p999"}};
  // min, max and the quantiles are null when the sketch is empty.
  nlohmann::json ToJson() const;

  // Same accuracy, limits and contents (bucket for bucket); the array's spare room aside.
  bool operator==(const DDSketch& other) const;

 private:
  DDSketch(double relative_accuracy, int max_buckets);

  int32_t Key(double value) const;
  double KeyValue(int32_t key) const;  // the bucket's estimate
  void AddOutsideWindow(int32_t key, uint64_t count);
  // Makes the array cover [lo, hi], folding keys below hi - max_buckets + 1 into that key.
  void EnsureWindow(int32_t lo, int32_t hi);
  uint64_t BucketCount(int32_t key) const;

  double alpha_;
  int max_buckets_;
  double gamma_;
  double inverse_log_gamma_;
  double min_indexable_;
  double max_indexable_;

  // counts_[i] is the count of key offset_ + i. Non-empty keys lie in [min_key_, max_key_]
  // (min_key_ > max_key_ while no key is set).
  std::vector<uint64_t> counts_;
  int32_t offset_ = 0;
  int32_t min_key_;
  int32_t max_key_;
  bool collapsed_ = false;

  uint64_t count_ = 0;
  uint64_t zero_count_ = 0;
  uint64_t rejected_count_ = 0;
  double sum_ = 0;
  double min_;
  double max_;
};

}  // namespace ferry::stats
