#pragma once

// DemoReplay: the world outside ferry in `ferry demo`, talking to a running ferry server
// over HTTP only, as real clients would:
//   - card payments: each transaction of the simulated day, when its time comes, is
//     pushed into the online store (POST /api/v1/features/push, view `transaction`: as a
//     payment stream would) and then scored by one inference request with the entity keys
//     only (transaction_id, customer_id, merchant_id): every input of the model -- the
//     payment's, its customer's and its merchant's features -- comes from the online store;
//   - ground truth: the bank learns which payments were fraud one to four hours later
//     and posts the labels to /api/v1/feedback;
//   - the warehouse: every `export_every` it appends the transactions whose labels are
//     known by then to transactions.csv and uploads the file as a new version of
//     `transactions`; at each
//     midnight it uploads the day's customer and merchant aggregates and has the server
//     materialize them into the online store.
// The replay owns the simulated clock's jumps: AdvanceTo moves the clock and does what
// the world does until then.
//
// Thread-safety: one thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "demo/world.h"
#include "server/http_client.h"

namespace ferry::cli {

struct ReplayOptions {
  std::filesystem::path data_dir;  // where the CSV files live
  uint16_t port = 0;               // the server, on 127.0.0.1
  demo::WorldOptions world;
  int64_t history_days = 28;
  std::chrono::microseconds export_every = std::chrono::hours(6);
  std::chrono::microseconds min_label_delay = std::chrono::hours(1);
  std::chrono::microseconds max_label_delay = std::chrono::hours(4);
};

// One payment as the client saw it.
struct ServedPayment {
  int64_t at = 0;       // the simulated time it was sent
  int32_t version = 0;  // the model version that answered
  float score = 0;
  bool fraud = false;
  float latency_ms = 0;  // client-measured, over HTTP on loopback
};

struct ReplayCounters {
  uint64_t requests = 0;
  uint64_t failed_requests = 0;
  std::string first_failure;
  uint64_t labels_sent = 0;
  uint64_t labels_unknown = 0;
  uint64_t exports = 0;
};

class DemoReplay {
 public:
  // The world up to `history_days` is generated and written to data_dir
  // (transactions.csv, customer_daily.csv, merchant_daily.csv).
  static absl::StatusOr<std::unique_ptr<DemoReplay>> Create(
      const ReplayOptions& options, std::shared_ptr<core::SimulatedClock> clock);

  // Uploads the three history files as the first versions of their datasets.
  absl::Status UploadHistory();

  // Moves the simulated clock to `until` (not before now) and does what the world does up
  // to then: payments, labels due, exports. Errors: a failed upload or materialization
  // (inference failures are counted, not errors: the demo reports them).
  absl::Status AdvanceTo(int64_t until_micros);

  // The first moment of the live period (the end of the history).
  int64_t live_start_micros() const;
  const std::vector<ServedPayment>& payments() const { return payments_; }
  const ReplayCounters& counters() const { return counters_; }
  const demo::GeneratedWorld& history() const { return history_; }

 private:
  struct PendingLabel {
    int64_t due = 0;
    std::string prediction_id;
    demo::Transaction transaction;
    int resent = 0;  // times sent again after the server did not know the prediction yet
    bool operator>(const PendingLabel& other) const { return due > other.due; }
  };

  DemoReplay(const ReplayOptions& options, std::shared_ptr<core::SimulatedClock> clock,
             demo::World world);
  absl::Status Pay(const demo::Transaction& t, int64_t now);
  absl::Status SendDueLabels(int64_t now);
  absl::Status ExportTransactions(int64_t now);
  absl::Status ExportDay();
  absl::Status Upload(std::string_view dataset, const std::filesystem::path& file,
                      std::string_view message);
  // The day holding `micros`, generated when first needed.
  absl::Status EnsureDay(int64_t micros);

  const ReplayOptions options_;
  std::shared_ptr<core::SimulatedClock> clock_;
  demo::World world_;
  server::HttpConnection http_;
  demo::GeneratedWorld history_;
  demo::WorldDay day_;  // the live day being replayed
  bool have_day_ = false;
  size_t next_payment_ = 0;                    // in day_.transactions
  std::vector<demo::Transaction> unexported_;  // labelled since the last export
  int64_t next_export_ = 0;
  std::priority_queue<PendingLabel, std::vector<PendingLabel>, std::greater<>> labels_;
  std::vector<ServedPayment> payments_;
  ReplayCounters counters_;
  std::string body_;  // reused request buffer
};

}  // namespace ferry::cli
