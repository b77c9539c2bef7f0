#pragma once

// Batcher: adaptive batching of concurrent single-row requests to one model into one
// backend call (serving.batching_max_delay_us > 0; off by default).
//
// Why it can pay: a model call has a fixed cost besides its per-row cost (libxgboost's
// in-place predict: ~24 us per call, ~1.5 us per row), so N rows in one call cost less
// than N calls. Why it often does not: ferry's request handlers run on the server's IO
// threads (one per core), each handling one request at a time, so at most as many
// single-row requests can wait together as there are server threads; and the native
// tree evaluator has almost no fixed cost to share. bench/RESULTS.md has the figures.
//
// How: a request announces itself (Arrive) as soon as it knows its model, before it
// assembles its rows. The first caller to reach PredictOne opens a batch and leads it;
// callers reaching it while the batch is open add their row and wait. The leader
// closes the batch once no announced caller is still on its way, when max_rows rows
// are in, or when max_delay has passed since it opened -- so a caller alone never
// waits -- then makes one call and hands each caller its outputs.
//
// Thread-safety: PredictOne is called from any number of threads at once.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "serving/model_runtime.h"

namespace ferry::serving {

class Batcher {
 public:
  // `model` must outlive the batcher.
  Batcher(const LoadedModel& model, std::chrono::microseconds max_delay, size_t max_rows);

  // A request for this model is on its way to PredictOne; every Arrive is followed by
  // exactly one PredictOne or Leave (use Arrival).
  void Arrive();
  void Leave();

  // Predicts one row (num_features values) into out (num_outputs values), possibly in
  // one call with other callers' rows. Errors: the model's, for every row of the batch.
  absl::Status PredictOne(std::span<const float> row, std::span<float> out);

 private:
  struct Batch {
    std::vector<float> rows;
    std::vector<float> outputs;
    size_t count = 0;
    bool closed = false;
    bool done = false;
    absl::Status status;
  };

  const LoadedModel& model_;
  const size_t width_;
  const size_t out_width_;
  const std::chrono::microseconds max_delay_;
  const size_t max_rows_;

  std::mutex mu_;  // guards the members below and every Batch
  std::condition_variable joined_;    // a caller joined the open batch
  std::condition_variable finished_;  // a batch's outputs are ready
  std::shared_ptr<Batch> open_;
  size_t arriving_ = 0;  // announced callers not yet in a batch
};

// Arrive now, Leave on destruction unless the caller went on to PredictOne (Joined).
class Arrival {
 public:
  explicit Arrival(Batcher* batcher) : batcher_(batcher) {
    if (batcher_ != nullptr) batcher_->Arrive();
  }
  ~Arrival() {
    if (batcher_ != nullptr) batcher_->Leave();
  }
  Arrival(const Arrival&) = delete;
  Arrival& operator=(const Arrival&) = delete;
  // PredictOne takes over the announcement.
  void Joined() { batcher_ = nullptr; }

 private:
  Batcher* batcher_;
};

}  // namespace ferry::serving
