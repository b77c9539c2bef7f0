// The Kolmogorov-Smirnov part of two_sample_tests.h: the statistic, the exact null
// distribution by a walk over the lattice of interleavings, the limiting one.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

#include "core/status.h"
#include "stats/sample_checks.h"
#include "stats/two_sample_tests.h"

namespace ferry::stats {
namespace {

int64_t FloorDiv(int64_t x, int64_t y) {  // y > 0
  const int64_t q = x / y;
  return (x % y != 0 && x < 0) ? q - 1 : q;
}

// P(the interleaving path leaves the band |i b - j a| < gap), a >= b >= 1, gap >= 1 (see
// KolmogorovSmirnovExactSurvival). Points (i, j): i values of the larger sample and j of
// the smaller one seen so far. p[j] holds the probability that a uniformly random path
// passes through (i, j) without having left the band, for the column i being built;
// from (i, j) the path steps to (i + 1, j) with probability (a - i) / ((a - i) + (b - j)).
// The band in column i is j in [Low(i), High(i)]; both bounds only grow with i, so one
// column of b + 1 values suffices and each column touches only its band.
double ExactPathExitProbability(int64_t a, int64_t b, int64_t gap) {
  const auto low = [&](int64_t i) {  // smallest j with i b - j a < gap
    return std::clamp<int64_t>(FloorDiv(i * b - gap, a) + 1, 0, b);
  };
  const auto high = [&](int64_t i) {  // largest j with j a - i b < gap
    return std::min<int64_t>(FloorDiv(i * b + gap - 1, a), b);
  };
  // Probabilities of the steps from (i, j) to (i, j + 1) and to (i + 1, j).
  const auto up = [&](int64_t i, int64_t j) {
    return static_cast<double>(b - j) / static_cast<double>((a - i) + (b - j));
  };
  const auto right = [&](int64_t i, int64_t j) {
    return static_cast<double>(a - i) / static_cast<double>((a - i) + (b - j));
  };
  std::vector<double> p(static_cast<size_t>(b) + 1, 0.0);
  double exited = 0;
  // Climbs column i from Low(i) to High(i); mass stepping above High(i) leaves the band.
  const auto climb = [&](int64_t i) {
    const int64_t lo = low(i);
    const int64_t hi = high(i);
    for (int64_t j = lo + 1; j <= hi; ++j) p[j] += p[j - 1] * up(i, j - 1);
    if (hi < b) exited += p[hi] * up(i, hi);
  };
  p[0] = 1;  // (0, 0) is inside: gap >= 1
  climb(0);
  for (int64_t i = 1; i <= a; ++i) {
    // Step right from column i - 1; rows below Low(i) are now outside the band (rows above
    // High(i) cannot be reached: High(i - 1) <= High(i)).
    const int64_t lo = low(i);
    for (int64_t j = low(i - 1); j <= high(i - 1); ++j) {
      const double moved = p[j] * right(i - 1, j);
      if (j < lo) {
        exited += moved;
        p[j] = 0;
      } else {
        p[j] = moved;
      }
    }
    climb(i);
  }
  return std::clamp(exited, 0.0, 1.0);
}

// The exact p-value for a statistic given as max |i n2 - j n1| over the path (= D n1 n2).
double ExactPValueForGap(uint64_t n1, uint64_t n2, uint64_t gap) {
  if (gap == 0) return 1;
  const uint64_t a = std::max(n1, n2);
  const uint64_t b = std::min(n1, n2);
  if (gap > a * b) return 0;
  return ExactPathExitProbability(static_cast<int64_t>(a), static_cast<int64_t>(b),
                                  static_cast<int64_t>(gap));
}

}  // namespace

absl::StatusOr<std::optional<KolmogorovSmirnovResult>> KolmogorovSmirnov(
    std::span<const double> sorted_a, std::span<const double> sorted_b,
    KolmogorovSmirnovMethod method) {
  RETURN_IF_ERROR(CheckSortedSample(sorted_a, "a"));
  RETURN_IF_ERROR(CheckSortedSample(sorted_b, "b"));
  if (sorted_a.empty() || sorted_b.empty()) return std::nullopt;
  const uint64_t n = sorted_a.size();
  const uint64_t m = sorted_b.size();
  size_t i = 0;
  size_t j = 0;
  // D n m = max |i m - j n|, kept in integers so that the exact p-value sees the lattice
  // point itself, not a rounded fraction. Walk the merged values; after stepping past
  // every copy of the smallest remaining value in both samples, i / n and j / m are the
  // two empirical CDFs at that value. Past the end of one sample the other CDF only
  // climbs towards 1, closing the gap.
  uint64_t gap = 0;
  while (i < sorted_a.size() && j < sorted_b.size()) {
    const double v = std::min(sorted_a[i], sorted_b[j]);
    while (i < sorted_a.size() && sorted_a[i] == v) ++i;
    while (j < sorted_b.size() && sorted_b[j] == v) ++j;
    const uint64_t im = i * m;
    const uint64_t jn = j * n;
    gap = std::max(gap, im > jn ? im - jn : jn - im);
  }
  if (method == KolmogorovSmirnovMethod::kAuto) {
    method = std::max(n, m) <= kKolmogorovSmirnovExactMaxSize
                 ? KolmogorovSmirnovMethod::kExact
                 : KolmogorovSmirnovMethod::kAsymptotic;
  }
  KolmogorovSmirnovResult result;
  result.statistic = static_cast<double>(gap) / (static_cast<double>(n) * static_cast<double>(m));
  result.method = method;
  if (method == KolmogorovSmirnovMethod::kExact) {
    result.p_value = ExactPValueForGap(n, m, gap);
  } else {
    const double effective_size =
        static_cast<double>(n) * static_cast<double>(m) / static_cast<double>(n + m);
    result.p_value = KolmogorovSurvival(std::sqrt(effective_size) * result.statistic);
  }
  return result;
}

double KolmogorovSmirnovExactSurvival(size_t n1, size_t n2, double d) {
  if (std::isnan(d)) return d;
  if (n1 == 0 || n2 == 0 || d <= 0) return 1;
  const uint64_t g = std::gcd(n1, n2);
  const double lcm = static_cast<double>(n1 / g) * static_cast<double>(n2);
  const double h = std::round(d * lcm);
  if (h > lcm) return 0;  // D never exceeds 1
  return ExactPValueForGap(n1, n2, static_cast<uint64_t>(h) * g);
}

double KolmogorovSurvival(double lambda) {
  if (!(lambda > 0)) return 1;
  constexpr int kMaxTerms = 100;
  constexpr double kTolerance = 1e-17;
  double sum = 0;
  if (lambda < 1.18) {
    // The alternating series converges slowly for small lambda; the Jacobi-theta form of
    // the CDF, sqrt(2 pi) / lambda * sum_k exp(-(2k - 1)^2 pi^2 / (8 lambda^2)), fast.
    const double x = -std::numbers::pi * std::numbers::pi / (8 * lambda * lambda);
    for (int k = 1; k <= kMaxTerms; ++k) {
      const double term = std::exp((2 * k - 1) * (2 * k - 1) * x);
      sum += term;
      if (term <= kTolerance * sum) break;
    }
    return std::clamp(1 - std::sqrt(2 * std::numbers::pi) / lambda * sum, 0.0, 1.0);
  }
  for (int k = 1; k <= kMaxTerms; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    sum += (k % 2 == 1) ? term : -term;
    if (term < kTolerance) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

}  // namespace ferry::stats
