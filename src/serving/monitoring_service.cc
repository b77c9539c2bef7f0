#include "serving/monitoring_service.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "serving/serving_metrics.h"

namespace ferry::serving {
namespace {

using core::Cat;

struct Observed {
  std::string labels;  // endpoint="...",model="...",version="..."
  const ServedModel* model;
  monitoring::MonitorSnapshot snapshot;
  monitoring::LiveQuality quality;
};

void AppendSeries(std::string& out, std::string_view name, std::string_view labels,
                  std::string_view extra, double value) {
  if (!std::isfinite(value)) return;
  out += fmt::format("{}{{{}{}}} {}\n", name, labels, extra, value);
}

}  // namespace

MonitoringService::MonitoringService(EndpointManager& endpoints, const PredictionLog* log,
                                     core::ClockPtr clock)
    : endpoints_(endpoints), log_(log), clock_(std::move(clock)) {}

template <typename T, typename Compute>
T MonitoringService::Cached(Cache<T>& cache, const ServedModel& model, std::chrono::seconds ttl,
                            Compute compute) {
  const std::string key = Cat(model.endpoint, "/", model.version.Ref());
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache.find(key); it != cache.end() && now - it->second.first < ttl) {
      return it->second.second;
    }
  }
  T value = compute();
  std::lock_guard lock(mu_);
  if (cache.size() >= kMaxCached) cache.clear();
  cache[key] = {now, value};
  return value;
}

monitoring::LiveQuality MonitoringService::Quality(const ServedModel& model) {
  return Cached(quality_, model, kQualityTtl, [&] {
    monitoring::LiveQuality quality;
    if (log_ == nullptr || !model.monitor) {
      quality.note = "the prediction log is off";
      return quality;
    }
    const monitoring::MonitoringPolicy& policy = model.monitor->policy();
    const monitoring::WindowSpec& window = policy.QualityWindow();
    std::optional<int64_t> since;
    size_t limit = static_cast<size_t>(policy.quality_max_rows);
    if (window.kind == monitoring::WindowSpec::Kind::kTime) {
      since = clock_->NowMicros() - window.duration.count() * 1'000'000;
    } else {
      limit = std::min(limit, static_cast<size_t>(window.rows));
    }
    absl::StatusOr<monitoring::LabeledRows> rows =
        log_->LabeledWindow(model.endpoint, model.version.name, model.version.version, since, limit);
    if (rows.ok() && static_cast<int64_t>(rows->labels.size()) < policy.quality_min_labels) {
      quality.labeled = static_cast<int64_t>(rows->labels.size());
      quality.note = Cat(quality.labeled, " labeled in the window, fewer than quality.min_labels (",
                         policy.quality_min_labels, ")");
    } else if (rows.ok()) {
      quality = monitoring::ComputeLiveQuality(model.model->description().objective, *rows);
    } else {
      quality.note = Cat("reading labels: ", core::View(rows.status().message()));
    }
    return quality;
  });
}

monitoring::MonitorSnapshot MonitoringService::Snapshot(const ServedModel& model,
                                                        int64_t now_micros) {
  return Cached(snapshots_, model, kSnapshotTtl,
                [&] { return model.monitor->Snapshot(now_micros); });
}

absl::StatusOr<nlohmann::json> MonitoringService::Report(std::string_view endpoint,
                                                         bool distributions) {
  ASSIGN_OR_RETURN(EndpointStatus status, endpoints_.Status(endpoint));
  if (!status.serving) return endpoints_.NotServing(endpoint);
  if (!status.serving->monitor) {
    return absl::FailedPreconditionError(
        "monitoring is off in this workspace (serving.monitoring: false in .ferry/config.yaml)");
  }
  nlohmann::json models = nlohmann::json::array();
  const int64_t now = clock_->NowMicros();
  for (const auto& [role, model] : {std::pair{"stable", status.serving},
                                    std::pair{"candidate", status.candidate}}) {
    if (!model || !model->monitor) continue;
    // Fresh for the API (the caller asks for now); the cached one serves scrapes.
    nlohmann::json report =
        monitoring::MonitorSnapshotToJson(model->monitor->Snapshot(now, distributions));
    report["role"] = role;
    report["model"] = model->version.name;
    report["version"] = model->version.version;
    report["policy"] = monitoring::MonitoringPolicyToJson(model->monitor->policy());
    report["quality"] = monitoring::LiveQualityToJson(Quality(*model));
    models.push_back(std::move(report));
  }
  return nlohmann::json{{"endpoint", std::string(endpoint)}, {"models", std::move(models)}};
}

void MonitoringService::AppendMetrics(std::string& out) {
  std::vector<Observed> observed;
  const int64_t now = clock_->NowMicros();
  for (const EndpointStatus& status : endpoints_.Statuses()) {
    for (const ServedModelPtr& model : {status.serving, status.candidate}) {
      if (!model || !model->monitor) continue;
      observed.push_back({fmt::format("endpoint=\"{}\",model=\"{}\",version=\"{}\"",
                                      EscapeLabelValue(model->endpoint),
                                      EscapeLabelValue(model->version.name),
                                      model->version.version),
                          model.get(), Snapshot(*model, now), Quality(*model)});
    }
  }
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          const auto& each) {
    AppendMetricFamily(out, name, type, help);
    for (const Observed& o : observed) each(o);
  };
  const auto feature = [](const monitoring::ColumnDrift& d) {
    return fmt::format(",feature=\"{}\"", EscapeLabelValue(d.name));
  };
  family("ferry_feature_drift_score", "gauge",
         "Drift statistic of a feature in the current window (p-value of a test, else the "
         "distance).",
         [&](const Observed& o) {
           for (const monitoring::ColumnDrift& d : o.snapshot.drift.features) {
             if (!d.drifted) continue;
             AppendSeries(out, "ferry_feature_drift_score", o.labels,
                          fmt::format("{},method=\"{}\"", feature(d),
                                      monitoring::DriftMethodName(d.method)),
                          *d.score());
           }
         });
  family("ferry_feature_drift_detected", "gauge",
         "1 when a feature drifted in the current window, else 0.", [&](const Observed& o) {
           for (const monitoring::ColumnDrift& d : o.snapshot.drift.features) {
             if (d.drifted) {
               AppendSeries(out, "ferry_feature_drift_detected", o.labels, feature(d), *d.drifted);
             }
           }
         });
  family("ferry_prediction_drift_score", "gauge",
         "Drift statistic of the prediction in the current window.", [&](const Observed& o) {
           const auto& p = o.snapshot.drift.prediction;
           if (p && p->drifted) {
             AppendSeries(out, "ferry_prediction_drift_score", o.labels,
                          fmt::format(",method=\"{}\"", monitoring::DriftMethodName(p->method)),
                          *p->score());
           }
         });
  family("ferry_prediction_drift_detected", "gauge",
         "1 when the prediction drifted in the current window, else 0.", [&](const Observed& o) {
           const auto& p = o.snapshot.drift.prediction;
           if (p && p->drifted) {
             AppendSeries(out, "ferry_prediction_drift_detected", o.labels, "", *p->drifted);
           }
         });
  family("ferry_dataset_drift_share", "gauge",
         "Share of the features with a verdict that drifted in the current window.",
         [&](const Observed& o) {
           if (o.snapshot.drift.drifted_share) {
             AppendSeries(out, "ferry_dataset_drift_share", o.labels, "",
                          *o.snapshot.drift.drifted_share);
           }
         });
  family("ferry_dataset_drift_detected", "gauge",
         "1 when the drifted share reached the policy's dataset_drift_share, else 0.",
         [&](const Observed& o) {
           if (o.snapshot.drift.dataset_drift) {
             AppendSeries(out, "ferry_dataset_drift_detected", o.labels, "",
                          *o.snapshot.drift.dataset_drift);
           }
         });
  const auto quality_family = [&](std::string_view name, std::string_view help,
                                  auto value_of) {
    family(name, "gauge", help, [&](const Observed& o) {
      for (const monitoring::ColumnQuality& q : o.snapshot.drift.quality) {
        if (q.present + q.missing == 0) continue;
        if (std::optional<double> v = value_of(q)) {
          AppendSeries(out, name, o.labels,
                       fmt::format(",feature=\"{}\"", EscapeLabelValue(q.name)), *v);
        }
      }
    });
  };
  quality_family("ferry_feature_missing_ratio",
                 "Share of missing values of a feature in the current window.",
                 [](const monitoring::ColumnQuality& q) -> std::optional<double> {
                   return q.missing_rate;
                 });
  quality_family("ferry_feature_out_of_range_ratio",
                 "Share of a feature's values outside the training reference's range.",
                 [](const monitoring::ColumnQuality& q) -> std::optional<double> {
                   return q.present > 0 ? std::optional<double>(q.out_of_range_rate)
                                        : std::nullopt;
                 });
  quality_family("ferry_feature_unseen_category_ratio",
                 "Share of a categorical feature's values the training reference never had.",
                 [](const monitoring::ColumnQuality& q) { return q.unseen_rate; });
  family("ferry_monitoring_window_rows", "gauge",
         "Rows monitored in the current drift window.", [&](const Observed& o) {
           AppendSeries(out, "ferry_monitoring_window_rows", o.labels, "",
                        static_cast<double>(o.snapshot.contents.monitored_rows));
         });
  family("ferry_monitoring_unmonitored_rows_total", "counter",
         "Rows served but not monitored (over monitoring.max_rows_per_second).",
         [&](const Observed& o) {
           AppendSeries(out, "ferry_monitoring_unmonitored_rows_total", o.labels, "",
                        static_cast<double>(o.snapshot.unmonitored_rows));
         });
  family("ferry_model_quality", "gauge",
         "Live quality from feedback labels in the quality window, by metric.",
         [&](const Observed& o) {
           for (const auto& [metric, value] : o.quality.metrics) {
             if (value) {
               AppendSeries(out, "ferry_model_quality", o.labels,
                            fmt::format(",metric=\"{}\"", metric), *value);
             }
           }
         });
  family("ferry_model_quality_labeled_predictions", "gauge",
         "Labeled predictions in the quality window.", [&](const Observed& o) {
           AppendSeries(out, "ferry_model_quality_labeled_predictions", o.labels, "",
                        static_cast<double>(o.quality.labeled));
         });
  family("ferry_feedback_label_delay_seconds", "gauge",
         "Time from prediction to label in the quality window, by quantile.",
         [&](const Observed& o) {
           const std::pair<const char*, std::optional<double>> quantiles[] = {
               {"0.5", o.quality.label_delay_p50},
               {"0.95", o.quality.label_delay_p95},
               {"1", o.quality.label_delay_max}};
           for (const auto& [q, value] : quantiles) {
             if (value) {
               AppendSeries(out, "ferry_feedback_label_delay_seconds", o.labels,
                            fmt::format(",quantile=\"{}\"", q), *value);
             }
           }
         });
}

}  // namespace ferry::serving
