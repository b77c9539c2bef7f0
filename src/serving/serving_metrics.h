#pragma once

// ServingMetrics: the inference counters `GET /metrics` exports, kept per endpoint and
// model version as plain atomics that the request path bumps directly (the ServedModel
// holds its ModelMetrics, so a request does no lookup and takes no lock). The registry
// keeps every ModelMetrics it handed out for the life of the process, so counters only
// grow, as Prometheus counters must, across hot swaps and reloads.
//
//   ferry_inference_requests_total{endpoint,model,version,code}    counter
//   ferry_inference_request_duration_seconds{endpoint,model,version} histogram
//   ferry_inference_rows_total{endpoint,model,version}             counter (rows predicted)
//   ferry_inference_request_rows{endpoint,model,version}           histogram (rows per
//                                                                   answered request)
//
// Duration: from routing to the prediction (request parsing and response writing are the
// HTTP server's), in buckets from 25 us to 2.5 s: fine enough for sub-millisecond serving.
//
// Thread-safety: Record from any thread; Append (a scrape) may run concurrently.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace ferry::serving {

// A label value escaped for the text format (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

// Writes a metric family's "# HELP" and "# TYPE" lines (Prometheus text format).
void AppendMetricFamily(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help);

class ModelMetrics {
 public:
  static constexpr std::array<double, 16> kBuckets = {
      25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3,
      10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,   2.5};
  static constexpr std::array<double, 13> kRowBuckets = {1,   2,   5,    10,   20,   50,   100,
                                                         200, 500, 1000, 2000, 5000, 10000};
  // The HTTP statuses counted apart; anything else is counted as "other".
  static constexpr std::array<int, 7> kCodes = {200, 400, 404, 413, 429, 500, 503};

  void Record(int http_status, double seconds, uint64_t rows);

 private:
  friend class ServingMetrics;
  // Counters are sharded by thread, each shard on cache lines of its own, so request
  // threads on different cores do not bounce one line between them; a scrape sums them.
  static constexpr size_t kShards = 8;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kCodes.size() + 1> requests{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> nanos{0};
    std::atomic<uint64_t> rows{0};
    std::array<std::atomic<uint64_t>, kRowBuckets.size() + 1> row_buckets{};  // last: +Inf
  };
  static size_t ThreadShard();
  uint64_t Requests(size_t code) const;
  uint64_t Bucket(size_t bucket) const;
  uint64_t Nanos() const;
  uint64_t Rows() const;
  uint64_t RowBucket(size_t bucket) const;

  std::array<Shard, kShards> shards_{};
};

class ServingMetrics {
 public:
  // The counters of one endpoint's model version (created on first use).
  std::shared_ptr<ModelMetrics> For(const std::string& endpoint, const std::string& model,
                                    int64_t version);
  // Appends the families above in the Prometheus text format.
  void Append(std::string& out) const;

 private:
  mutable std::mutex mu_;  // guards models_
  std::map<std::tuple<std::string, std::string, int64_t>, std::shared_ptr<ModelMetrics>> models_;
};

}  // namespace ferry::serving
