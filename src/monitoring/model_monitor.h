#pragma once

// ModelMonitor: live monitoring of one model version behind one endpoint. Built when
// the version loads, from the references (feature_reference.h) of its inputs and its
// prediction; fed by every inference request (Admit, then Observe); asked for the
// current window's drift, data quality, latency and throughput (Snapshot).
//
// Cost per request: Admit reads the steady clock and, while the monitored rows of the
// current second stay under max_rows_per_second, admits the request: Observe then copies
// its rows into the window under a short lock (a grid lookup per value for its bin). Past
// the cap, Admit counts the request and its rows with one relaxed atomic add and returns
// false: drift at high traffic is measured on a sample of it spread over time, so
// monitoring costs at most that many rows' work per second whatever the traffic. 0 means
// no cap.
//
// Thread-safety: Admit, Observe and Snapshot may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "monitoring/drift_report.h"
#include "monitoring/feature_reference.h"
#include "monitoring/live_window.h"
#include "monitoring/monitoring_policy.h"
#include "nlohmann/json_fwd.hpp"
#include "table/table_profile.h"

namespace ferry::monitoring {

struct MonitorSetup {
  std::vector<std::string> input_names;
  size_t num_outputs = 1;
  // The training set's profile; null when the model names none (drift and data quality
  // then have no verdicts; `no_reference` says why).
  const table::TableProfile* profile = nullptr;
  // Every value of some inputs' reference columns, read again from the dataset (by
  // input name): those references are exact (ReferenceFromAllValues), the others come
  // from the profile's sketches.
  std::map<std::string, std::vector<double>> reference_values;
  std::string reference_dataset;  // "NAME@N", shown
  std::string no_reference;
  // The model's predictions on the profile's sample rows (the prediction's reference):
  // num_outputs values per row.
  std::vector<float> reference_outputs;
  MonitoringPolicy policy;
  int64_t max_rows_per_second = 5000;
  int64_t now_micros = 0;
  uint64_t seed = 1;
};

struct MonitorSnapshot {
  WindowSpec window;
  WindowContents contents;  // columns emptied once the report is made
  DriftReport drift;
  std::vector<ColumnDistribution> distributions;  // only when asked for
  std::string reference_dataset;
  std::string no_reference;
  int64_t unmonitored_rows = 0;  // since the monitor started: over the sampling cap
};

class ModelMonitor {
 public:
  static std::unique_ptr<ModelMonitor> Create(MonitorSetup setup);
  ModelMonitor(const ModelMonitor&) = delete;
  ModelMonitor& operator=(const ModelMonitor&) = delete;

  // The sampling decision for a served request of `rows` rows: true when it is to be
  // observed (then call Observe); false counts it as served but not monitored.
  bool Admit(size_t rows);
  // A request the model failed to answer: one atomic add, moved into the window with the
  // unmonitored counts (the error rate of the status).
  void CountFailed() { failed_.fetch_add(1, std::memory_order_relaxed); }
  // One admitted request: `rows` rows of inputs (input_names.size() values each, NaN
  // missing) and outputs (num_outputs each), answered in `latency_seconds`.
  void Observe(int64_t now_micros, std::span<const float> inputs, std::span<const float> outputs,
               size_t rows, double latency_seconds);

  // With `distributions`, each column's reference and live distributions too.
  MonitorSnapshot Snapshot(int64_t now_micros, bool distributions = false);
  // Requests, rows and latency of the current window, without drift: cheap enough for
  // every status call.
  WindowContents Traffic(int64_t now_micros);

  const MonitoringPolicy& policy() const { return policy_; }

 private:
  explicit ModelMonitor(MonitorSetup& setup);
  // Moves the unmonitored requests and rows counted so far into the window.
  void FlushUnmonitored(int64_t now_micros);

  const MonitoringPolicy policy_;
  const int64_t max_rows_per_second_;
  const size_t num_inputs_;
  const size_t num_outputs_;
  const std::string reference_dataset_;
  const std::string no_reference_;
  std::vector<std::unique_ptr<FeatureReference>> references_;
  MonitoredColumns columns_;

  // The sampling cap: the current second (steady clock) and rows admitted in it.
  std::atomic<int64_t> cap_second_{0};
  std::atomic<int64_t> cap_rows_{0};
  // Requests (high 24 bits) and rows (low 40 bits) not monitored, not yet counted in the
  // window: one atomic add per unmonitored request. Flushed at every monitored request and
  // snapshot, so neither part comes near overflowing.
  static constexpr int kRequestShift = 40;
  std::atomic<uint64_t> unmonitored_{0};
  std::atomic<int64_t> unmonitored_total_{0};
  std::atomic<int64_t> failed_{0};  // failed requests not yet counted in the window

  std::mutex mu_;  // guards window_ (and orders FlushUnmonitored)
  LiveWindow window_;
};

using ModelMonitorPtr = std::shared_ptr<ModelMonitor>;

// {"window": {"kind", "duration"|"rows", "slices", "from", "to"}, "requests", "rows",
//  "monitored_rows", "unmonitored_rows", "throughput": {"requests_per_second",
//  "rows_per_second"}, "latency_seconds": {"p50", "p90", "p99", "max"} (null when no
//  request was monitored), "reference": {"dataset", "note"}, "drift": DriftReportToJson,
//  "distributions": [ColumnDistributionToJson] (when the snapshot has them)}
nlohmann::json MonitorSnapshotToJson(const MonitorSnapshot& snapshot);

// {"window": ..., "requests", "rows", "monitored_rows", "failed", "error_rate" (failed over
// all requests; null without any), "throughput", "latency_seconds"}: the traffic part of
// the above.
nlohmann::json TrafficToJson(const WindowSpec& window, const WindowContents& contents);

}  // namespace ferry::monitoring
