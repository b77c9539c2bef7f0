#pragma once

// Deterministic samples shared by the stats tests (no random generator: the same values
// on every platform). SampleA and SampleB come with reference values computed once in
// scipy, for the hand-kept tests of distribution_shift_test.cc and
// two_sample_tests_test.cc (the parity tests compare against scipy at test time
// instead); EveryInterleaving enumerates what the exact Kolmogorov-Smirnov p-value counts.
//
// The reference values come from scipy 1.10 / numpy 1.24 (Debian 12's python3) on
// the same samples, built by the same formulas:
//
//   import numpy as np
//   from scipy.stats import ks_2samp, kstwobign
//   from scipy.spatial.distance import jensenshannon
//   def frac(x): return x - np.floor(x)
//   a = frac(np.arange(1000.0) * 0.6180339887498949)
//   b = np.concatenate([frac(np.arange(800.0) * 0.4142135623730950) ** 1.5,
//                       [1.5] * 5, [-0.25] * 3])
//   def cells(x, lo, hi, bins):            # underflow, bins..., overflow
//       c = np.zeros(bins + 2)
//       for v in x:
//           if v < lo: c[0] += 1
//           elif v > hi: c[-1] += 1
//           else: c[1 + min(int((v - lo) * (bins / (hi - lo))), bins - 1)] += 1
//       return c
//   def psi(e, a, eps=1e-4):
//       e = np.maximum(e / e.sum(), eps); a = np.maximum(a / a.sum(), eps)
//       return np.sum((a - e) * np.log(a / e))
//   for lo, hi, bins in [(0, 1, 10), (0, 0.5, 5)]:
//       ca, cb = cells(a, lo, hi, bins), cells(b, lo, hi, bins)
//       print(psi(ca, cb), jensenshannon(ca, cb, base=2))
//   r = ks_2samp(a, b); en = len(a) * len(b) / (len(a) + len(b))
//   print(r.statistic, kstwobign.sf(np.sqrt(en) * r.statistic))
//   r = ks_2samp(np.arange(100) % 7, np.arange(60) % 5)
//   print(r.statistic, kstwobign.sf(np.sqrt(100 * 60 / 160) * r.statistic))
//   print([kstwobign.sf(x) for x in [0.3, 0.8, 1.0, 1.18, 1.5, 2.5]])

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace ferry::stats {

inline double Frac(double x) { return x - std::floor(x); }

inline std::vector<double> SampleA() {
  std::vector<double> a;
  for (int i = 0; i < 1000; ++i) a.push_back(Frac(i * 0.6180339887498949));
  return a;
}

inline std::vector<double> SampleB() {
  std::vector<double> b;
  for (int j = 0; j < 800; ++j) b.push_back(std::pow(Frac(j * 0.4142135623730950), 1.5));
  for (int k = 0; k < 5; ++k) b.push_back(1.5);
  for (int k = 0; k < 3; ++k) b.push_back(-0.25);
  return b;
}

inline std::vector<double> Sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Two samples of sizes n1 and n2 holding the values 0, 1, ..., n1 + n2 - 1 in some
// interleaving, and its Kolmogorov-Smirnov gap max |i n2 - j n1| over the prefixes (i of
// a's values and j of b's): D = gap / (n1 n2).
struct Interleaving {
  std::vector<double> a;
  std::vector<double> b;
  int gap = 0;
};

// All (n1 + n2 choose n1) interleavings, equally likely when both samples come from the
// same continuous distribution. For small sizes: 2^(n1 + n2) masks are tried.
inline std::vector<Interleaving> EveryInterleaving(int n1, int n2) {
  std::vector<Interleaving> all;
  for (unsigned mask = 0; mask < (1u << (n1 + n2)); ++mask) {
    if (__builtin_popcount(mask) != n1) continue;
    Interleaving& s = all.emplace_back();
    for (int k = 0; k < n1 + n2; ++k) {
      ((mask >> k) & 1 ? s.a : s.b).push_back(k);
      s.gap = std::max(
          s.gap, std::abs(static_cast<int>(s.a.size()) * n2 - static_cast<int>(s.b.size()) * n1));
    }
  }
  return all;
}

}  // namespace ferry::stats
