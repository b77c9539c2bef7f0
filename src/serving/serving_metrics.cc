#include "serving/serving_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>

namespace ferry::serving {

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendMetricFamily(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

size_t ModelMetrics::ThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

void ModelMetrics::Record(int http_status, double seconds, uint64_t rows) {
  Shard& s = shards_[ThreadShard()];
  const auto code = std::find(kCodes.begin(), kCodes.end(), http_status);
  s.requests[static_cast<size_t>(code - kCodes.begin())].fetch_add(1, std::memory_order_relaxed);
  const auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  s.buckets[static_cast<size_t>(bucket - kBuckets.begin())].fetch_add(1,
                                                                      std::memory_order_relaxed);
  s.nanos.fetch_add(static_cast<uint64_t>(std::max(seconds, 0.0) * 1e9),
                    std::memory_order_relaxed);
  s.rows.fetch_add(rows, std::memory_order_relaxed);
  if (rows > 0) {
    const auto row_bucket =
        std::lower_bound(kRowBuckets.begin(), kRowBuckets.end(), static_cast<double>(rows));
    s.row_buckets[static_cast<size_t>(row_bucket - kRowBuckets.begin())].fetch_add(
        1, std::memory_order_relaxed);
  }
}

uint64_t ModelMetrics::Requests(size_t code) const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.requests[code].load(std::memory_order_relaxed);
  return n;
}

uint64_t ModelMetrics::Bucket(size_t bucket) const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.buckets[bucket].load(std::memory_order_relaxed);
  return n;
}

uint64_t ModelMetrics::Nanos() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.nanos.load(std::memory_order_relaxed);
  return n;
}

uint64_t ModelMetrics::RowBucket(size_t bucket) const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.row_buckets[bucket].load(std::memory_order_relaxed);
  return n;
}

uint64_t ModelMetrics::Rows() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.rows.load(std::memory_order_relaxed);
  return n;
}

std::shared_ptr<ModelMetrics> ServingMetrics::For(const std::string& endpoint,
                                                  const std::string& model, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<ModelMetrics>& slot = models_[{endpoint, model, version}];
  if (!slot) slot = std::make_shared<ModelMetrics>();
  return slot;
}

void ServingMetrics::Append(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  // Endpoint and model names are [A-Za-z0-9._-] (validated), so label values need no
  // escaping here.
  AppendMetricFamily(out, "ferry_inference_requests_total", "counter",
                     "Inference requests answered, by endpoint, model version and HTTP status.");
  for (const auto& [key, m] : models_) {
    const auto& [endpoint, model, version] = key;
    for (size_t i = 0; i <= ModelMetrics::kCodes.size(); ++i) {
      const uint64_t n = m->Requests(i);
      if (n == 0) continue;
      const std::string code =
          i < ModelMetrics::kCodes.size() ? std::to_string(ModelMetrics::kCodes[i]) : "other";
      out += fmt::format(
          "ferry_inference_requests_total{{endpoint=\"{}\",model=\"{}\",version=\"{}\","
          "code=\"{}\"}} {}\n",
          endpoint, model, version, code, n);
    }
  }
  // One histogram's series: cumulative buckets, +Inf, sum and count.
  const auto histogram = [&out](std::string_view name, const std::string& labels,
                                std::span<const double> bounds, auto count_in, double sum) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += count_in(i);
      out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds[i], cumulative);
    }
    cumulative += count_in(bounds.size());
    out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, cumulative);
    out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum);
    out += fmt::format("{}_count{{{}}} {}\n", name, labels, cumulative);
  };
  const auto labels_of = [](const auto& key) {
    const auto& [endpoint, model, version] = key;
    return fmt::format("endpoint=\"{}\",model=\"{}\",version=\"{}\"", endpoint, model, version);
  };
  AppendMetricFamily(out, "ferry_inference_request_duration_seconds", "histogram",
                     "Time from routing a request to its predictions.");
  for (const auto& [key, m] : models_) {
    histogram("ferry_inference_request_duration_seconds", labels_of(key), ModelMetrics::kBuckets,
              [&m](size_t i) { return m->Bucket(i); }, static_cast<double>(m->Nanos()) / 1e9);
  }
  AppendMetricFamily(out, "ferry_inference_request_rows", "histogram",
                     "Rows per answered inference request (batch sizes).");
  for (const auto& [key, m] : models_) {
    histogram("ferry_inference_request_rows", labels_of(key), ModelMetrics::kRowBuckets,
              [&m](size_t i) { return m->RowBucket(i); }, static_cast<double>(m->Rows()));
  }
  AppendMetricFamily(out, "ferry_inference_rows_total", "counter",
                     "Rows predicted, by endpoint and model version.");
  for (const auto& [key, m] : models_) {
    const auto& [endpoint, model, version] = key;
    out += fmt::format(
        "ferry_inference_rows_total{{endpoint=\"{}\",model=\"{}\",version=\"{}\"}} {}\n",
        endpoint, model, version, m->Rows());
  }
}

}  // namespace ferry::serving
