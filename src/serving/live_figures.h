#pragma once

// LiveFigures: what one model version behind an endpoint did since it was last asked —
// requests, failed requests, a latency sketch and a sample of its scores — for the
// rollout controller, which compares a canary with production on each analysis window.
// On a server, SharedFigures (shared_figures.h) takes (and so resets) the window about
// every second and publishes it to the metadata store, where the controller merges the
// windows of every server.
//
// Recording costs one short lock per request: a counter, a DDSketch Add (no allocation
// in steady state) and, for the score sample, a reservoir step (Vitter's algorithm R:
// every score seen has the same chance to be in the sample, whatever the traffic).
//
// Windows merge (MergeWindow): counts add, sketches merge, and two score samples become
// one uniform sample of every score either saw, so a window split across servers or
// flushes analyses like one recorded in one place.
//
// Thread-safety: Record, Take and Restore may be called from any thread. MergeWindow and
// MergeScoreSamples are functions over values (the caller owns the generator).

#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "stats/ddsketch.h"

namespace ferry::serving {

struct FiguresWindow {
  static constexpr size_t kMaxScores = 4096;

  int64_t requests = 0;
  int64_t errors = 0;
  stats::DDSketch latency;     // seconds, per request
  std::vector<double> scores;  // a uniform sample of the first output (a float) of every row
  int64_t scores_seen = 0;

  // Nothing recorded: no request (every score comes with one).
  bool empty() const { return requests == 0 && scores_seen == 0; }
};

// Adds `from` to `into`: requests, errors and scores_seen add, the latency sketches
// merge, and the score samples combine as MergeScoreSamples does. InvalidArgument when
// the sketches' accuracies differ (then `into` is unchanged).
absl::Status MergeWindow(FiguresWindow& into, FiguresWindow from, std::mt19937_64& rng);

// Two uniform samples (without replacement) of populations of seen_a and seen_b scores,
// combined into a uniform sample of all seen_a + seen_b scores, of min(max_size, seen_a +
// seen_b) scores: the number taken from each side is drawn from the hypergeometric
// distribution (as if drawing from the union), then that many are picked at random from
// the side's sample. Samples smaller than their population's share allows (damaged
// input) give a smaller result rather than a biased one.
std::vector<double> MergeScoreSamples(std::vector<double> a, int64_t seen_a, std::vector<double> b,
                                      int64_t seen_b, size_t max_size, std::mt19937_64& rng);

class LiveFigures {
 public:
  LiveFigures();

  // One request: its latency, the first output of each predicted row (outputs has
  // `width` values per row; empty on failure) and whether it failed.
  void Record(double latency_seconds, std::span<const float> outputs, size_t width, bool failed);

  // The window since the last Take, leaving an empty one.
  FiguresWindow Take();

  // Gives back a window taken earlier that could not be published, so its figures count
  // in the next one (merged with what was recorded meanwhile).
  void Restore(FiguresWindow window);

 private:
  std::mutex mu_;  // guards the members below
  FiguresWindow window_;
  std::mt19937_64 rng_;
};

}  // namespace ferry::serving
