#include "serving/live_figures.h"

#include <algorithm>
#include <utility>

#include "core/check.h"
#include "core/status.h"

namespace ferry::serving {
namespace {

// `count` elements of `from` chosen uniformly at random (a partial Fisher-Yates shuffle),
// appended to `out`.
void AppendRandomSubset(std::vector<double>& from, size_t count, std::mt19937_64& rng,
                        std::vector<double>& out) {
  count = std::min(count, from.size());
  for (size_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<size_t> pick(i, from.size() - 1);
    std::swap(from[i], from[pick(rng)]);
    out.push_back(from[i]);
  }
}

}  // namespace

std::vector<double> MergeScoreSamples(std::vector<double> a, int64_t seen_a, std::vector<double> b,
                                      int64_t seen_b, size_t max_size, std::mt19937_64& rng) {
  seen_a = std::max<int64_t>(seen_a, static_cast<int64_t>(a.size()));
  seen_b = std::max<int64_t>(seen_b, static_cast<int64_t>(b.size()));
  std::vector<double> out;
  if (a.size() + b.size() <= max_size && static_cast<int64_t>(a.size()) == seen_a &&
      static_cast<int64_t>(b.size()) == seen_b) {
    // Both samples are their whole populations, and the union fits.
    out = std::move(a);
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  // How many of a uniform max_size-subset of the union come from a: one draw without
  // replacement per slot.
  const size_t size =
      static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(max_size), seen_a + seen_b));
  int64_t left_a = seen_a;
  int64_t left_b = seen_b;
  size_t from_a = 0;
  for (size_t i = 0; i < size; ++i) {
    std::uniform_int_distribution<int64_t> draw(0, left_a + left_b - 1);
    if (draw(rng) < left_a) {
      ++from_a;
      --left_a;
    } else {
      --left_b;
    }
  }
  out.reserve(size);
  AppendRandomSubset(a, from_a, rng, out);
  AppendRandomSubset(b, size - from_a, rng, out);
  return out;
}

absl::Status MergeWindow(FiguresWindow& into, FiguresWindow from, std::mt19937_64& rng) {
  RETURN_IF_ERROR(into.latency.Merge(from.latency));
  into.requests += from.requests;
  into.errors += from.errors;
  into.scores = MergeScoreSamples(std::move(into.scores), into.scores_seen, std::move(from.scores),
                                  from.scores_seen, FiguresWindow::kMaxScores, rng);
  into.scores_seen += from.scores_seen;
  return absl::OkStatus();
}

LiveFigures::LiveFigures() : rng_(std::random_device{}()) {}

void LiveFigures::Record(double latency_seconds, std::span<const float> outputs, size_t width,
                         bool failed) {
  std::lock_guard<std::mutex> lock(mu_);
  ++window_.requests;
  if (failed) ++window_.errors;
  window_.latency.Add(latency_seconds);
  if (width == 0) return;
  for (size_t i = 0; i < outputs.size(); i += width) {
    const double score = outputs[i];
    const int64_t seen = window_.scores_seen++;
    if (window_.scores.size() < FiguresWindow::kMaxScores) {
      window_.scores.push_back(score);
    } else {
      const auto slot = static_cast<int64_t>(rng_() % static_cast<uint64_t>(seen + 1));
      if (slot < static_cast<int64_t>(FiguresWindow::kMaxScores)) {
        window_.scores[static_cast<size_t>(slot)] = score;
      }
    }
  }
}

FiguresWindow LiveFigures::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  FiguresWindow taken = std::move(window_);
  window_ = FiguresWindow{};
  window_.scores.reserve(FiguresWindow::kMaxScores);
  return taken;
}

void LiveFigures::Restore(FiguresWindow window) {
  std::lock_guard<std::mutex> lock(mu_);
  // Both sketches have this class's default accuracy, so they always merge.
  const absl::Status merged = MergeWindow(window_, std::move(window), rng_);
  FERRY_CHECK(merged.ok());
}

}  // namespace ferry::serving
