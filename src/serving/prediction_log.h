#pragma once

// PredictionLog: what endpoints predicted, kept so that ground truth arriving later
// (POST /api/v1/feedback) can be joined to it and live quality measured (monitoring
// reads the joined rows).
//
// The request path only hands a prediction over: Record samples it
// (serving.prediction_log_sample_rate) and appends it to a bounded in-memory queue
// under a short lock, or drops it and counts the drop when the queue is full -- it
// never waits for storage. A writer thread drains the queue every kFlushInterval (or
// sooner when it fills up) into the "predictions" tables of the metadata store, many
// rows per transaction, and deletes rows older than the retention.
//
// Stored per prediction: its id, endpoint, model name and version, time, the model's
// input row (JSON array; null for a missing value) and outputs, and once feedback
// arrives the label and when it came. Schema in docs/serving.md.
//
// Thread-safety: Record, AddFeedback and the readers are safe from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "monitoring/live_quality.h"
#include "serving/served_model.h"
#include "store/workspace.h"

namespace ferry::serving {

struct Feedback {
  std::string prediction_id;
  double label = 0;
};

struct FeedbackResult {
  size_t accepted = 0;
  // Ids not in the log (never issued, not sampled, or past retention); at most
  // kMaxReportedUnknown of them are listed, all are counted.
  size_t unknown = 0;
  std::vector<std::string> unknown_ids;
};

struct LoggedPrediction {
  std::string prediction_id;
  std::string endpoint;
  std::string model_name;
  int64_t model_version = 0;
  int64_t created_at = 0;
  std::vector<double> inputs;  // NaN for missing
  std::vector<double> outputs;
  std::optional<double> label;
  std::optional<int64_t> label_at;
};

struct PredictionLogStats {
  uint64_t recorded = 0;  // handed to the queue
  uint64_t written = 0;   // stored
  uint64_t dropped = 0;   // queue full
  uint64_t failed = 0;    // lost to a storage error
};

class PredictionLog {
 public:
  static constexpr std::chrono::milliseconds kFlushInterval{100};
  static constexpr size_t kMaxFeedback = 10'000;
  static constexpr size_t kMaxReportedUnknown = 100;
  // How long stopping waits for the queue to be written. The writer runs at nice 19, so on
  // a saturated machine a full queue (100,000 predictions) took minutes to drain and the
  // server could not stop; past this, the rest is dropped like a full queue's.
  static constexpr std::chrono::milliseconds kStopDrainLimit{5'000};

  // Applies the "predictions" migrations and starts the writer thread.
  static absl::StatusOr<std::unique_ptr<PredictionLog>> Open(store::Workspace& workspace,
                                                            const core::ServingConfig& config);
  ~PredictionLog();  // Stop(kStopDrainLimit)
  PredictionLog(const PredictionLog&) = delete;
  PredictionLog& operator=(const PredictionLog&) = delete;

  // Whether to log the next request's predictions (the sampling decision, per request).
  bool Sample();
  // Queues rows.size() / model.num_inputs predictions: ids[i], input row i, output
  // row i (model.num_outputs values).
  void Record(const ServedModel& model, std::span<const std::string> ids,
              std::span<const float> rows, std::span<const float> outputs);

  // Writes everything queued so far; returns once it is stored (tests, shutdown).
  void Flush();

  // Writes what is queued for at most `limit`, drops (and counts, with a warning) what is
  // still queued then, and stops the writer; Record drops from then on. Idempotent.
  void Stop(std::chrono::milliseconds limit);

  // Joins labels to logged predictions in one transaction. A second label for the same
  // prediction replaces the first. Errors: InvalidArgument for more than kMaxFeedback
  // entries, an empty id or a label that is not finite; the store's errors (nothing is
  // then stored).
  absl::StatusOr<FeedbackResult> AddFeedback(std::span<const Feedback> feedback);

  // Logged predictions of an endpoint, newest first, at most `limit`; with
  // `labeled_only`, those with feedback.
  absl::StatusOr<std::vector<LoggedPrediction>> Recent(std::string_view endpoint, size_t limit,
                                                       bool labeled_only) const;
  absl::StatusOr<LoggedPrediction> Get(std::string_view prediction_id) const;

  // The labeled predictions of one model version behind an endpoint made at or after
  // `since` (microseconds), at most `limit`, newest first: outputs (num_outputs values
  // per row, flattened) and labels, for live quality.
  using Labeled = monitoring::LabeledRows;
  absl::StatusOr<Labeled> LabeledSince(std::string_view endpoint, std::string_view model_name,
                                       int64_t model_version, int64_t since, size_t limit) const;

  // The labeled predictions of one model version behind an endpoint whose label arrived
  // at or after `label_since` (all when nullopt), the latest `limit` by arrival: for
  // live quality, with when each was made and labeled.
  absl::StatusOr<monitoring::LabeledRows> LabeledWindow(std::string_view endpoint,
                                                        std::string_view model_name,
                                                        int64_t model_version,
                                                        std::optional<int64_t> label_since,
                                                        size_t limit) const;

  PredictionLogStats stats() const;
  // Predictions waiting to be written now.
  size_t queued() const;

 private:
  PredictionLog(store::Workspace& workspace, const core::ServingConfig& config);
  void WriterLoop();
  // Stores up to max_rows records of batch from offset on in one transaction; advances
  // offset past them and sets rows to their count.
  absl::Status Write(const std::string& batch, size_t& offset, size_t max_rows, size_t& rows);
  void DeleteExpired();
  // Labeled predictions of one model version behind an endpoint with `order` (created_at
  // or label_at) at or after a time, the latest first. Params: endpoint, since,
  // model_name, model_version, limit.
  absl::StatusOr<monitoring::LabeledRows> ReadLabeled(std::string_view order,
                                                      const store::Params& params) const;

  store::Workspace& workspace_;
  const double sample_rate_;
  const size_t max_queue_;
  const int64_t retention_micros_;

  mutable std::mutex mu_;  // guards the members below
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::string queue_;  // queued records (prediction_log.cc), bytes; keeps its capacity
  size_t queued_ = 0;  // records in queue_
  uint64_t enqueued_seq_ = 0;  // Pending handed over so far
  uint64_t done_seq_ = 0;      // of which written (or failed)
  bool stopping_ = false;
  bool flush_requested_ = false;
  std::chrono::steady_clock::time_point last_expiry_{};

  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<bool> abandon_{false};  // stopping past the limit: drop instead of writing

  std::thread writer_;  // started by Open, joined by Stop (which one thread calls)
};

}  // namespace ferry::serving
