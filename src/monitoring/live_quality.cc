#include "monitoring/live_quality.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "stats/quality.h"

namespace ferry::monitoring {
namespace {

using core::Cat;

// Nearest-rank quantile of sorted values.
double Quantile(const std::vector<double>& sorted, double q) {
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

LiveQuality ComputeLiveQuality(std::string_view objective, const LabeledRows& rows) {
  LiveQuality out;
  out.labeled = static_cast<int64_t>(rows.labels.size());
  if (rows.labels.empty()) {
    out.note = "no labeled predictions in the window";
    return out;
  }
  std::vector<double> delays;
  for (size_t i = 0; i < rows.labels.size(); ++i) {
    delays.push_back(static_cast<double>(rows.label_at[i] - rows.created_at[i]) / 1e6);
  }
  std::sort(delays.begin(), delays.end());
  out.label_delay_p50 = Quantile(delays, 0.5);
  out.label_delay_p95 = Quantile(delays, 0.95);
  out.label_delay_max = delays.back();

  const int width = static_cast<int>(rows.width);
  std::vector<std::pair<std::string, stats::QualityMetric>> metrics;
  if (objective.starts_with("binary:")) {
    metrics = {{"accuracy", stats::QualityMetric::kAccuracy},
               {"auc", stats::QualityMetric::kAuc},
               {"logloss", stats::QualityMetric::kLogLoss}};
  } else if (objective.starts_with("multi:")) {
    metrics = {{"accuracy", stats::QualityMetric::kAccuracy}};
    if (width > 1) metrics.emplace_back("logloss", stats::QualityMetric::kLogLoss);
  } else if (stats::QualityMetricForObjective(objective).ok()) {
    metrics = {{"rmse", stats::QualityMetric::kRmse}, {"mae", stats::QualityMetric::kMae}};
  } else {
    out.note = Cat("no quality metrics for objective \"", objective, "\"");
    return out;
  }
  for (const auto& [name, metric] : metrics) {
    absl::StatusOr<std::optional<double>> value =
        stats::ComputeQuality(metric, rows.outputs, width, rows.labels);
    if (!value.ok()) {
      out.note = Cat(name, ": ", core::View(value.status().message()));
      out.metrics[name] = std::nullopt;
      continue;
    }
    out.metrics[name] = *value;
  }
  if (objective.starts_with("binary:") || objective.starts_with("multi:")) {
    const stats::Averaging averaging = objective.starts_with("binary:")
                                           ? stats::Averaging::kBinary
                                           : stats::Averaging::kMacro;
    const auto add = [&](const char* name, absl::StatusOr<std::optional<double>> value) {
      if (!value.ok()) out.note = Cat(name, ": ", core::View(value.status().message()));
      out.metrics[name] = value.ok() ? *value : std::nullopt;
    };
    add("precision", stats::Precision(rows.outputs, width, rows.labels, averaging));
    add("recall", stats::Recall(rows.outputs, width, rows.labels, averaging));
  }
  return out;
}

nlohmann::json LiveQualityToJson(const LiveQuality& q) {
  const auto optional = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json();
  };
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : q.metrics) metrics[name] = optional(value);
  nlohmann::json out = {{"labeled", q.labeled},
                        {"metrics", std::move(metrics)},
                        {"label_delay_seconds",
                         {{"p50", optional(q.label_delay_p50)},
                          {"p95", optional(q.label_delay_p95)},
                          {"max", optional(q.label_delay_max)}}}};
  if (!q.note.empty()) out["note"] = q.note;
  return out;
}

}  // namespace ferry::monitoring
