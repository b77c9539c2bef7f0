#pragma once

// Evaluating alert expressions (expression.h) at one instant, with PromQL's semantics:
//   - a selector yields the current samples whose labels it matches;
//   - rate(s[r]) and increase(s[r]) read the samples SeriesHistory kept of s over
//     [now - r, now]: the increase between the first and last sample, adding the value
//     before each counter reset (a sample lower than the one before), extrapolated toward
//     the window's edges as Prometheus does (at most half an average sample interval
//     past the samples, and never below zero); rate divides by r in seconds. Fewer than
//     two samples give no result;
//   - sum, min, max, avg and count aggregate per group (by: the listed labels; without:
//     all but the listed ones and the metric name; neither: one group);
//   - arithmetic with a number applies to every series; between two vectors it pairs
//     series with identical labels (the metric name aside), and a label set that appears
//     twice on one side is an error, as in PromQL. Results drop the metric name.
//
// Thread-safety: SeriesHistory is not thread-safe (the evaluator owns one); evaluation is a
// pure function of its inputs.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/exposition.h"
#include "alerts/expression.h"
#include "alerts/labels.h"

namespace ferry::alerts {

struct SeriesValue {
  Labels labels;
  double value = 0;
};
using InstantVector = std::vector<SeriesValue>;

// The recent samples of the series that some rate() or increase() reads, for as long as
// the longest range needs them.
class SeriesHistory {
 public:
  // Beyond this, a series' oldest samples are forgotten first (at one evaluation a second,
  // a range of more than 2h45m would see fewer samples than it spans).
  static constexpr size_t kMaxPointsPerSeries = 10'000;

  struct Point {
    int64_t time_ms = 0;
    double value = 0;
  };

  // Adds the samples that match one of `selectors` at `now_ms`, and forgets samples
  // older than `now_ms - retention` (and series left with none).
  void Record(const std::vector<Sample>& samples, const std::vector<VectorSelector>& selectors,
              int64_t now_ms, std::chrono::milliseconds retention);

  const std::map<Labels, std::deque<Point>>& series() const { return series_; }

 private:
  std::map<Labels, std::deque<Point>> series_;
};

struct EvaluationInput {
  const std::vector<Sample>& samples;  // the current exposition
  const SeriesHistory& history;
  int64_t now_ms = 0;
};

// The series an alert expression yields now: those for which its comparison holds (all,
// without one), each with the left side's value and labels. InvalidArgument for a vector
// matching error (a label set twice on one side of an arithmetic operation).
absl::StatusOr<InstantVector> EvaluateAlertExpression(const AlertExpression& expression,
                                                      const EvaluationInput& input);

}  // namespace ferry::alerts
