#include "serving/batcher.h"

#include <algorithm>

namespace ferry::serving {

Batcher::Batcher(const LoadedModel& model, std::chrono::microseconds max_delay, size_t max_rows)
    : model_(model),
      width_(static_cast<size_t>(model.description().num_features)),
      out_width_(static_cast<size_t>(model.description().num_outputs)),
      max_delay_(max_delay),
      max_rows_(std::max<size_t>(max_rows, 1)) {}

void Batcher::Arrive() {
  std::lock_guard<std::mutex> lock(mu_);
  ++arriving_;
}

void Batcher::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  --arriving_;
  if (arriving_ == 0) joined_.notify_all();
}

absl::Status Batcher::PredictOne(std::span<const float> row, std::span<float> out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (arriving_ > 0) --arriving_;
  if (row.size() != width_ || out.size() != out_width_) {
    lock.unlock();
    joined_.notify_all();
    return model_.Predict(row, out);  // the model reports the size mismatch
  }
  const bool leader = open_ == nullptr;
  if (leader) open_ = std::make_shared<Batch>();
  std::shared_ptr<Batch> batch = open_;
  const size_t slot = batch->count++;
  batch->rows.insert(batch->rows.end(), row.begin(), row.end());
  const auto full = [&] { return batch->count >= max_rows_ || arriving_ == 0; };
  if (leader) {
    const auto deadline = std::chrono::steady_clock::now() + max_delay_;
    joined_.wait_until(lock, deadline, full);
    batch->closed = true;
    open_.reset();
    lock.unlock();
    batch->outputs.resize(batch->count * out_width_);
    absl::Status status = model_.Predict(batch->rows, batch->outputs);
    lock.lock();
    batch->status = std::move(status);
    batch->done = true;
    finished_.notify_all();
  } else {
    if (full()) joined_.notify_all();
    finished_.wait(lock, [&] { return batch->done; });
  }
  if (!batch->status.ok()) return batch->status;
  std::copy_n(batch->outputs.begin() + static_cast<std::ptrdiff_t>(slot * out_width_),
              out_width_, out.begin());
  return absl::OkStatus();
}

}  // namespace ferry::serving
