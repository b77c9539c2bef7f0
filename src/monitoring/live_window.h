#pragma once

// LiveWindow: the bounded state that live drift, data quality, latency and throughput
// are computed from -- never the rows themselves. The window (monitoring_policy.h,
// WindowSpec) is a ring of `slices` slices; each holds, per monitored column (the model's
// inputs, then its prediction):
//   - counts of present and missing values, and of values below the reference's minimum
//     or above its maximum with the sums of their distances to it (which make the
//     Wasserstein distance's tails exact);
//   - counts and sums of the values per reference bin (numeric; the sums make the
//     Wasserstein distance exact within bins where the two CDFs do not cross), counts
//     per reference category plus one "unseen" cell (categorical);
//   - for columns tested with Kolmogorov-Smirnov, a uniform reservoir sample of at most
//     ks_sample / slices values;
// and per slice the requests and rows seen (all of them) and a latency sketch of the
// monitored requests. A time window starts a new slice every duration / slices (so the
// window spans between (slices - 1) / slices and all of the duration); a count window
// every rows / slices monitored rows. The oldest slice is dropped as a new one starts.
//
// Memory: slices x columns x (bins + categories + sample) counters, fixed at creation.
//
// Thread-safety: none; ModelMonitor locks around it.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "monitoring/feature_reference.h"
#include "monitoring/monitoring_policy.h"
#include "stats/ddsketch.h"

namespace ferry::monitoring {

// One column's live values over a slice, or over the merged window.
struct ColumnCounts {
  int64_t present = 0;
  int64_t missing = 0;
  int64_t below = 0;  // < reference min
  int64_t above = 0;  // > reference max
  double below_distance = 0;  // sum of (min - x) over values below
  double above_distance = 0;  // sum of (x - max) over values above
  double sum = 0;             // of present values
  double sum_squares = 0;
  std::vector<uint64_t> bins;        // per reference bin (values within [min, max])
  std::vector<double> bin_sums;      // the sum of the values in each bin
  std::vector<uint64_t> categories;  // per reference category, then "unseen"
  std::vector<float> sample;         // KS reservoir
  int64_t sample_seen = 0;

  uint64_t unseen() const { return categories.empty() ? 0 : categories.back(); }
  void Clear();
};

// The merged window.
struct WindowContents {
  int64_t from_micros = 0;  // start of the oldest slice (workspace clock)
  int64_t to_micros = 0;    // now
  int64_t requests = 0;     // every request answered
  int64_t rows = 0;         // every row
  int64_t monitored_rows = 0;
  int64_t failed = 0;       // requests answered with an error (not in `requests`)
  stats::DDSketch latency;  // seconds, monitored requests
  std::vector<ColumnCounts> columns;
};

class LiveWindow {
 public:
  // `columns[i]` is the reference of column i (inputs, then the prediction; null for
  // none);
  // `sampled[i]` whether column i keeps a KS sample. The references must outlive it.
  LiveWindow(const WindowSpec& spec, std::vector<const FeatureReference*> columns,
             const std::vector<bool>& sampled, int64_t ks_sample, int64_t now_micros,
             uint64_t seed);

  // Counts requests and rows that were not monitored (the sampling cap).
  void CountUnmonitored(int64_t now_micros, int64_t requests, int64_t rows);
  // Counts requests the model failed to answer (bad input, a failed evaluation).
  void CountFailed(int64_t now_micros, int64_t requests);
  // One monitored request: `rows` rows, `values` row-major with one value per column
  // (NaN: missing).
  void Add(int64_t now_micros, std::span<const float> values, size_t rows,
           double latency_seconds);
  // The window as of now (time windows first drop what expired); with kTrafficOnly,
  // requests, rows and latency without the columns (what a status needs, cheaply).
  enum class Contents : uint8_t { kAll, kTrafficOnly };
  WindowContents Merge(int64_t now_micros, Contents contents = Contents::kAll);

 private:
  // A column's bin lookup: `first[g]` is the number of inner edges below the start of
  // cell g of a uniform grid over [lo, hi] (the inner edges' range), so a value's bin is
  // found from its cell with a step or two instead of a binary search (whose dependent
  // loads dominated the cost of a value).
  struct BinIndex {
    static constexpr size_t kCells = 1024;
    double lo = 0;
    double cells_per_unit = 0;
    std::vector<uint32_t> first;  // kCells + 1 entries; empty: no numeric bins
  };
  static BinIndex MakeBinIndex(const FeatureReference& ref);
  static size_t FindBin(const FeatureReference& ref, const BinIndex& index, double v);

  struct Slice {
    int64_t start_micros = 0;
    int64_t requests = 0;
    int64_t rows = 0;
    int64_t monitored_rows = 0;
    int64_t failed = 0;
    stats::DDSketch latency;
    std::vector<ColumnCounts> columns;
  };

  // Time windows: starts new slices until the current one covers now.
  void Rotate(int64_t now_micros);
  void StartSlice(int64_t start_micros);
  void AddValue(ColumnCounts& counts, const FeatureReference& ref, const BinIndex& index,
                size_t sample_capacity, float value);

  const WindowSpec spec_;
  const int64_t slice_micros_;
  const int64_t slice_rows_;
  std::vector<const FeatureReference*> references_;
  std::vector<BinIndex> bin_index_;  // per column
  std::vector<size_t> sample_capacity_;  // per column; 0: no sample
  std::vector<Slice> ring_;              // spec.slices slices
  size_t current_ = 0;
  size_t used_ = 1;  // slices holding data, current included
  std::mt19937_64 rng_;
};

}  // namespace ferry::monitoring
