#pragma once

// Moments: count, mean and the sum of squared deviations (M2) of a stream of doubles,
// numerically stable: Welford's update for single values, and for batches a two-pass
// mean/M2 of the batch combined by Chan, Golub and LeVeque's pairwise formula, which is
// also the merge. (The batches' boundaries decide the last bits of the result.) Variance never goes negative through cancellation the way
// sum(x^2) - n*mean^2 does.
//
// Thread-safety: a value type.

#include <algorithm>
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

  // AddBatch for each run of `batch` values in xs[0, count) (the last may be shorter),
  // in order, with the same result; four runs share one loop, so their sums' chains of
  // dependent additions overlap instead of each waiting for the last.
  void AddBatches(const double* xs, size_t count, size_t batch) {
    for (; count >= 4 * batch; xs += 4 * batch, count -= 4 * batch) {
      const double* x0 = xs;
      const double* x1 = x0 + batch;
      const double* x2 = x1 + batch;
      const double* x3 = x2 + batch;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (size_t i = 0; i < batch; ++i) {
        s0 += x0[i];
        s1 += x1[i];
        s2 += x2[i];
        s3 += x3[i];
      }
      const double n = static_cast<double>(batch);
      const double m0 = s0 / n, m1 = s1 / n, m2 = s2 / n, m3 = s3 / n;
      double q0 = 0, q1 = 0, q2 = 0, q3 = 0;
      for (size_t i = 0; i < batch; ++i) {
        const double d0 = x0[i] - m0, d1 = x1[i] - m1, d2 = x2[i] - m2, d3 = x3[i] - m3;
        q0 += d0 * d0;
        q1 += d1 * d1;
        q2 += d2 * d2;
        q3 += d3 * d3;
      }
      const auto runs = static_cast<int64_t>(batch);
      Merge({runs, m0, q0});
      Merge({runs, m1, q1});
      Merge({runs, m2, q2});
      Merge({runs, m3, q3});
    }
    for (; count > 0; xs += std::min(count, batch), count -= std::min(count, batch)) {
      AddBatch(xs, std::min(count, batch));
    }
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
