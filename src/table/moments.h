#pragma once

// Moments: count, mean and the sum of squared deviations (M2) of a stream of doubles,
// numerically stable: Welford's update for single values, and for batches a two-pass
// mean/M2 of the batch combined by Chan, Golub and LeVeque's pairwise formula, which is
// also the merge. Variance never goes negative through cancellation the way
// sum(x^2) - n*mean^2 does.
//
// Thread-safety: a value type.

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ferry::table {

struct Moments {
  int64_t n = 0;
  double mean = 0;
  double m2 = 0;

  void Add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }

  void AddBatch(const double* xs, size_t count) {
    if (count == 0) return;
    double sum = 0;
    for (size_t i = 0; i < count; ++i) sum += xs[i];
    Moments batch;
    batch.n = static_cast<int64_t>(count);
    batch.mean = sum / static_cast<double>(count);
    double squares = 0;
    for (size_t i = 0; i < count; ++i) {
      const double d = xs[i] - batch.mean;
      squares += d * d;
    }
    batch.m2 = squares;
    Merge(batch);
  }

  void Merge(const Moments& other) {
    if (other.n == 0) return;
    if (n == 0) {
      *this = other;
      return;
    }
    const double total = static_cast<double>(n + other.n);
    const double delta = other.mean - mean;
    mean += delta * (static_cast<double>(other.n) / total);
    m2 += other.m2 + delta * delta * (static_cast<double>(n) * static_cast<double>(other.n) / total);
    n += other.n;
  }

  // Sample standard deviation (divides by n - 1, like pandas' std()); 0 below 2 values.
  double SampleStddev() const { return n < 2 ? 0.0 : std::sqrt(m2 / static_cast<double>(n - 1)); }

  friend bool operator==(const Moments&, const Moments&) = default;
};

}  // namespace ferry::table
