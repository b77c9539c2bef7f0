#pragma once

// LiveFigures: what one model version behind an endpoint did since it was last asked —
// requests, failed requests, a latency sketch and a sample of its scores — for the
// rollout controller, which takes (and so resets) the window every analysis interval and
// compares a canary with production on it.
//
// Recording costs one short lock per request: a counter, a DDSketch Add (no allocation
// in steady state) and, for the score sample, a reservoir step (Vitter's algorithm R:
// every score seen has the same chance to be in the sample, whatever the traffic).
//
// Thread-safety: Record and Take may be called from any thread.

#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <vector>

#include "stats/ddsketch.h"

namespace ferry::serving {

struct FiguresWindow {
  static constexpr size_t kMaxScores = 4096;

  int64_t requests = 0;
  int64_t errors = 0;
  stats::DDSketch latency;     // seconds, per request
  std::vector<double> scores;  // a uniform sample of the first output of every row
  int64_t scores_seen = 0;
};

class LiveFigures {
 public:
  LiveFigures();

  // One request: its latency, the first output of each predicted row (outputs has
  // `width` values per row; empty on failure) and whether it failed.
  void Record(double latency_seconds, std::span<const float> outputs, size_t width, bool failed);

  // The window since the last Take, leaving an empty one.
  FiguresWindow Take();

 private:
  std::mutex mu_;  // guards the members below
  FiguresWindow window_;
  std::mt19937_64 rng_;
};

}  // namespace ferry::serving
