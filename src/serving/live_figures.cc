#include "serving/live_figures.h"

#include <utility>

namespace ferry::serving {

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

}  // namespace ferry::serving
