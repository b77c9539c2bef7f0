#include "monitoring/live_window.h"

#include <algorithm>
#include <cmath>

namespace ferry::monitoring {
namespace {

// A column without a reference is counted (present, missing, moments) and nothing else.
std::vector<const FeatureReference*> WithoutNulls(std::vector<const FeatureReference*> columns) {
  static const FeatureReference kNone;
  for (const FeatureReference*& column : columns) {
    if (column == nullptr) column = &kNone;
  }
  return columns;
}

}  // namespace

void ColumnCounts::Clear() {
  present = missing = below = above = 0;
  below_distance = above_distance = sum = sum_squares = 0;
  std::fill(bins.begin(), bins.end(), 0);
  std::fill(bin_sums.begin(), bin_sums.end(), 0.0);
  std::fill(categories.begin(), categories.end(), 0);
  sample.clear();
  sample_seen = 0;
}

LiveWindow::LiveWindow(const WindowSpec& spec, std::vector<const FeatureReference*> columns,
                       const std::vector<bool>& sampled, int64_t ks_sample, int64_t now_micros,
                       uint64_t seed)
    : spec_(spec),
      slice_micros_(std::max<int64_t>(1, spec.duration.count() * 1'000'000 / spec.slices)),
      slice_rows_(std::max<int64_t>(1, spec.rows / spec.slices)),
      references_(WithoutNulls(std::move(columns))),
      ring_(static_cast<size_t>(spec.slices)),
      rng_(seed) {
  const size_t per_slice =
      static_cast<size_t>((ks_sample + spec.slices - 1) / spec.slices);
  for (size_t i = 0; i < references_.size(); ++i) {
    sample_capacity_.push_back(i < sampled.size() && sampled[i] ? per_slice : 0);
    bin_index_.push_back(MakeBinIndex(*references_[i]));
  }
  for (Slice& slice : ring_) {
    slice.columns.resize(references_.size());
    for (size_t i = 0; i < references_.size(); ++i) {
      const FeatureReference& ref = *references_[i];
      ColumnCounts& counts = slice.columns[i];
      if (ref.numeric()) {
        counts.bins.assign(ref.edges.size() - 1, 0);
        counts.bin_sums.assign(ref.edges.size() - 1, 0.0);
      }
      if (ref.categorical()) counts.categories.assign(ref.categories.size() + 1, 0);
      counts.sample.reserve(sample_capacity_[i]);
    }
  }
  ring_[0].start_micros = now_micros;
}

void LiveWindow::StartSlice(int64_t start_micros) {
  current_ = (current_ + 1) % ring_.size();
  used_ = std::min(used_ + 1, ring_.size());
  Slice& slice = ring_[current_];
  slice.start_micros = start_micros;
  slice.requests = slice.rows = slice.monitored_rows = slice.failed = 0;
  slice.latency.Clear();
  for (ColumnCounts& counts : slice.columns) counts.Clear();
}

void LiveWindow::Rotate(int64_t now_micros) {
  if (spec_.kind != WindowSpec::Kind::kTime) return;
  const int64_t start = ring_[current_].start_micros;
  if (now_micros < start + slice_micros_) return;
  const int64_t elapsed = (now_micros - start) / slice_micros_;
  // Past a whole window nothing is left: restart at the slice now falls in.
  const int64_t steps = std::min<int64_t>(elapsed, static_cast<int64_t>(ring_.size()));
  const int64_t first = start + (elapsed - steps + 1) * slice_micros_;
  for (int64_t i = 0; i < steps; ++i) StartSlice(first + i * slice_micros_);
}

void LiveWindow::CountUnmonitored(int64_t now_micros, int64_t requests, int64_t rows) {
  Rotate(now_micros);
  ring_[current_].requests += requests;
  ring_[current_].rows += rows;
}

void LiveWindow::CountFailed(int64_t now_micros, int64_t requests) {
  Rotate(now_micros);
  ring_[current_].failed += requests;
}

void LiveWindow::Add(int64_t now_micros, std::span<const float> values, size_t rows,
                     double latency_seconds) {
  Rotate(now_micros);
  if (spec_.kind == WindowSpec::Kind::kRows && ring_[current_].monitored_rows >= slice_rows_) {
    StartSlice(now_micros);
  }
  Slice& slice = ring_[current_];
  ++slice.requests;
  slice.rows += static_cast<int64_t>(rows);
  slice.monitored_rows += static_cast<int64_t>(rows);
  slice.latency.Add(latency_seconds);
  const size_t width = references_.size();
  for (size_t r = 0; r < rows; ++r) {
    const float* row = values.data() + r * width;
    for (size_t c = 0; c < width; ++c) {
      AddValue(slice.columns[c], *references_[c], bin_index_[c], sample_capacity_[c], row[c]);
    }
  }
}

LiveWindow::BinIndex LiveWindow::MakeBinIndex(const FeatureReference& ref) {
  BinIndex index;
  if (ref.edges.size() < 4) return index;  // fewer than two inner edges: nothing to index
  const std::span<const double> inner(ref.edges.data() + 1, ref.edges.size() - 2);
  const double lo = inner.front(), hi = inner.back();
  if (!(hi > lo)) return index;
  index.lo = lo;
  index.cells_per_unit = static_cast<double>(BinIndex::kCells) / (hi - lo);
  index.first.resize(BinIndex::kCells + 1);
  size_t below = 0;
  for (size_t g = 0; g <= BinIndex::kCells; ++g) {
    const double start = lo + static_cast<double>(g) / index.cells_per_unit;
    while (below < inner.size() && inner[below] < start) ++below;
    index.first[g] = static_cast<uint32_t>(below);
  }
  return index;
}

size_t LiveWindow::FindBin(const FeatureReference& ref, const BinIndex& index, double v) {
  // Bins are (e[i], e[i+1]], the first also holding e[0]: the bin is the number of inner
  // edges below v.
  const double* inner = ref.edges.data() + 1;
  const size_t n = ref.edges.size() - 2;
  size_t bin;
  if (index.first.empty()) {
    bin = 0;
  } else {
    const double cell = (v - index.lo) * index.cells_per_unit;
    bin = cell <= 0 ? 0
          : cell >= static_cast<double>(BinIndex::kCells)
              ? index.first[BinIndex::kCells]
              : index.first[static_cast<size_t>(cell)];
  }
  // The cell's count is the answer up to the edges inside the cell (and rounding at its
  // borders): step to it.
  while (bin > 0 && !(inner[bin - 1] < v)) --bin;
  while (bin < n && inner[bin] < v) ++bin;
  return bin;
}

void LiveWindow::AddValue(ColumnCounts& counts, const FeatureReference& ref,
                          const BinIndex& index, size_t sample_capacity, float value) {
  if (std::isnan(value)) {
    ++counts.missing;
    return;
  }
  const double v = value;
  ++counts.present;
  counts.sum += v;
  counts.sum_squares += v * v;
  if (ref.rows > 0 && v < ref.min) {
    ++counts.below;
    counts.below_distance += ref.min - v;
  } else if (ref.rows > 0 && v > ref.max) {
    ++counts.above;
    counts.above_distance += v - ref.max;
  } else if (!counts.bins.empty()) {
    const size_t bin = FindBin(ref, index, v);
    ++counts.bins[bin];
    counts.bin_sums[bin] += v;
  }
  if (!counts.categories.empty()) {
    const auto it = std::lower_bound(ref.categories.begin(), ref.categories.end(), value);
    const bool known = it != ref.categories.end() && *it == value;
    ++counts.categories[known ? static_cast<size_t>(it - ref.categories.begin())
                              : counts.categories.size() - 1];
  }
  if (const size_t capacity = sample_capacity; capacity > 0) {
    // Reservoir sampling (algorithm R): each value seen has the same chance to be kept.
    ++counts.sample_seen;
    if (counts.sample.size() < capacity) {
      counts.sample.push_back(value);
    } else {
      const uint64_t j = rng_() % static_cast<uint64_t>(counts.sample_seen);
      if (j < capacity) counts.sample[j] = value;
    }
  }
}

WindowContents LiveWindow::Merge(int64_t now_micros, Contents contents) {
  Rotate(now_micros);
  WindowContents out;
  out.to_micros = now_micros;
  out.columns.resize(references_.size());
  const size_t oldest = (current_ + ring_.size() + 1 - used_) % ring_.size();
  out.from_micros = ring_[oldest].start_micros;
  std::vector<const Slice*> slices;
  for (size_t i = 0; i < used_; ++i) slices.push_back(&ring_[(oldest + i) % ring_.size()]);
  for (const Slice* slice : slices) {
    out.requests += slice->requests;
    out.rows += slice->rows;
    out.monitored_rows += slice->monitored_rows;
    out.failed += slice->failed;
    (void)out.latency.Merge(slice->latency);  // same parameters: cannot fail
  }
  if (contents == Contents::kTrafficOnly) {
    out.columns.clear();
    return out;
  }
  for (size_t c = 0; c < references_.size(); ++c) {
    ColumnCounts& merged = out.columns[c];
    merged.bins.assign(ring_[0].columns[c].bins.size(), 0);
    merged.bin_sums.assign(ring_[0].columns[c].bins.size(), 0.0);
    merged.categories.assign(ring_[0].columns[c].categories.size(), 0);
    int64_t seen = 0;
    size_t kept = 0;
    for (const Slice* slice : slices) {
      const ColumnCounts& counts = slice->columns[c];
      merged.present += counts.present;
      merged.missing += counts.missing;
      merged.below += counts.below;
      merged.above += counts.above;
      merged.below_distance += counts.below_distance;
      merged.above_distance += counts.above_distance;
      merged.sum += counts.sum;
      merged.sum_squares += counts.sum_squares;
      for (size_t b = 0; b < counts.bins.size(); ++b) {
        merged.bins[b] += counts.bins[b];
        merged.bin_sums[b] += counts.bin_sums[b];
      }
      for (size_t k = 0; k < counts.categories.size(); ++k) {
        merged.categories[k] += counts.categories[k];
      }
      seen += counts.sample_seen;
      kept += counts.sample.size();
    }
    if (sample_capacity_[c] == 0 || seen == 0) continue;
    // A uniform sample of the window: from each slice a share proportional to the values
    // it saw (its reservoir is a uniform sample of them), drawn at random.
    const double target = static_cast<double>(
        std::min(kept, sample_capacity_[c] * static_cast<size_t>(spec_.slices)));
    merged.sample_seen = seen;
    for (const Slice* slice : slices) {
      std::vector<float> pool = slice->columns[c].sample;
      const double share =
          static_cast<double>(slice->columns[c].sample_seen) / static_cast<double>(seen);
      const size_t take = std::min(pool.size(), static_cast<size_t>(std::llround(target * share)));
      for (size_t i = 0; i < take; ++i) {
        std::swap(pool[i], pool[i + rng_() % (pool.size() - i)]);
        merged.sample.push_back(pool[i]);
      }
    }
  }
  return out;
}

}  // namespace ferry::monitoring
