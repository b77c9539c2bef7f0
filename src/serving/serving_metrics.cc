#include "serving/serving_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::serving {

void ModelMetrics::Record(int http_status, double seconds, uint64_t rows) {
  const auto code = std::find(kCodes.begin(), kCodes.end(), http_status);
  requests_[static_cast<size_t>(code - kCodes.begin())].fetch_add(1, std::memory_order_relaxed);
  const auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  buckets_[static_cast<size_t>(bucket - kBuckets.begin())].fetch_add(1, std::memory_order_relaxed);
  nanos_.fetch_add(static_cast<uint64_t>(std::max(seconds, 0.0) * 1e9), std::memory_order_relaxed);
  rows_.fetch_add(rows, std::memory_order_relaxed);
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
  out += "# HELP ferry_inference_requests_total Inference requests answered, by endpoint,"
         " model version and HTTP status.\n"
         "# TYPE ferry_inference_requests_total counter\n";
  for (const auto& [key, m] : models_) {
    const auto& [endpoint, model, version] = key;
    for (size_t i = 0; i <= ModelMetrics::kCodes.size(); ++i) {
      const uint64_t n = m->requests_[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string code =
          i < ModelMetrics::kCodes.size() ? std::to_string(ModelMetrics::kCodes[i]) : "other";
      out += fmt::format(
          "ferry_inference_requests_total{{endpoint=\"{}\",model=\"{}\",version=\"{}\","
          "code=\"{}\"}} {}\n",
          endpoint, model, version, code, n);
    }
  }
  out += "# HELP ferry_inference_request_duration_seconds Time from routing a request to its"
         " predictions.\n"
         "# TYPE ferry_inference_request_duration_seconds histogram\n";
  for (const auto& [key, m] : models_) {
    const auto& [endpoint, model, version] = key;
    const std::string labels =
        fmt::format("endpoint=\"{}\",model=\"{}\",version=\"{}\"", endpoint, model, version);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < ModelMetrics::kBuckets.size(); ++i) {
      cumulative += m->buckets_[i].load(std::memory_order_relaxed);
      out += fmt::format("ferry_inference_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                         labels, ModelMetrics::kBuckets[i], cumulative);
    }
    cumulative += m->buckets_.back().load(std::memory_order_relaxed);
    out += fmt::format("ferry_inference_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                       labels, cumulative);
    out += fmt::format("ferry_inference_request_duration_seconds_sum{{{}}} {}\n", labels,
                       static_cast<double>(m->nanos_.load(std::memory_order_relaxed)) / 1e9);
    out += fmt::format("ferry_inference_request_duration_seconds_count{{{}}} {}\n", labels,
                       cumulative);
  }
  out += "# HELP ferry_inference_rows_total Rows predicted, by endpoint and model version.\n"
         "# TYPE ferry_inference_rows_total counter\n";
  for (const auto& [key, m] : models_) {
    const auto& [endpoint, model, version] = key;
    out += fmt::format(
        "ferry_inference_rows_total{{endpoint=\"{}\",model=\"{}\",version=\"{}\"}} {}\n",
        endpoint, model, version, m->rows_.load(std::memory_order_relaxed));
  }
}

}  // namespace ferry::serving
