#include "monitoring/model_monitor.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/strings.h"
#include "features/feature_definitions.h"

namespace ferry::monitoring {
namespace {

using core::Cat;

constexpr std::string_view kPredictionColumn = "prediction";

// The monitored value of a prediction row: the output itself, or the class (the
// largest output's index, the first on ties) when there are several.
float PredictionValue(const float* outputs, size_t width) {
  if (width == 1) return outputs[0];
  return static_cast<float>(std::max_element(outputs, outputs + width) - outputs);
}

MonitoredColumns BuildColumns(MonitorSetup& setup,
                              std::vector<std::unique_ptr<FeatureReference>>& references) {
  MonitoredColumns columns;
  const int psi_bins = setup.policy.psi_bins;
  for (const std::string& name : setup.input_names) {
    columns.names.push_back(name);
    if (setup.profile == nullptr) {
      columns.references.push_back(nullptr);
      columns.missing_reference.push_back(setup.no_reference);
      continue;
    }
    auto all = setup.reference_values.find(name);
    absl::StatusOr<FeatureReference> ref =
        all != setup.reference_values.end()
            ? ReferenceFromAllValues(*setup.profile, name, all->second, psi_bins)
            : ReferenceFromProfile(*setup.profile, name, psi_bins);
    if (!ref.ok()) {
      columns.references.push_back(nullptr);
      columns.missing_reference.push_back(std::string(ref.status().message()));
      continue;
    }
    references.push_back(std::make_unique<FeatureReference>(*std::move(ref)));
    columns.references.push_back(references.back().get());
    columns.missing_reference.emplace_back();
  }
  columns.names.emplace_back(kPredictionColumn);
  columns.has_prediction = true;
  const size_t width = std::max<size_t>(setup.num_outputs, 1);
  std::vector<double> predictions;
  for (size_t i = 0; i + width <= setup.reference_outputs.size(); i += width) {
    predictions.push_back(PredictionValue(setup.reference_outputs.data() + i, width));
  }
  if (predictions.empty()) {
    columns.references.push_back(nullptr);
    columns.missing_reference.push_back(
        setup.profile == nullptr ? setup.no_reference
                                 : "no reference predictions (the profile's sample is empty)");
  } else {
    references.push_back(std::make_unique<FeatureReference>(
        ReferenceFromValues(std::string(kPredictionColumn), predictions, psi_bins)));
    columns.references.push_back(references.back().get());
    columns.missing_reference.emplace_back();
  }
  return columns;
}

std::vector<bool> KeepsSample(const MonitoredColumns& columns, const MonitoringPolicy& policy) {
  std::vector<bool> sampled;
  for (size_t i = 0; i < columns.names.size(); ++i) {
    const FeatureReference* ref = columns.references[i];
    const bool prediction = columns.has_prediction && i + 1 == columns.names.size();
    absl::StatusOr<DriftMethod> method =
        ref == nullptr
            ? absl::StatusOr<DriftMethod>(DriftMethod::kAuto)
            : ref->MethodFor(prediction ? policy.prediction : policy.RuleFor(columns.names[i]));
    sampled.push_back(method.ok() && *method == DriftMethod::kKolmogorovSmirnov);
  }
  return sampled;
}

int64_t SteadySecond() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

nlohmann::json Quantile(const stats::DDSketch& sketch, double q) {
  std::optional<double> value = sketch.Quantile(q);
  return value ? nlohmann::json(*value) : nlohmann::json();
}

}  // namespace

std::unique_ptr<ModelMonitor> ModelMonitor::Create(MonitorSetup setup) {
  return std::unique_ptr<ModelMonitor>(new ModelMonitor(setup));
}

ModelMonitor::ModelMonitor(MonitorSetup& setup)
    : policy_(setup.policy),
      max_rows_per_second_(setup.max_rows_per_second),
      num_inputs_(setup.input_names.size()),
      num_outputs_(std::max<size_t>(setup.num_outputs, 1)),
      reference_dataset_(setup.reference_dataset),
      no_reference_(setup.no_reference),
      columns_(BuildColumns(setup, references_)),
      window_(setup.policy.window, columns_.references, KeepsSample(columns_, setup.policy),
              setup.policy.ks_sample, setup.now_micros, setup.seed) {}

bool ModelMonitor::Admit(size_t rows) {
  if (max_rows_per_second_ > 0) {
    const int64_t second = SteadySecond();
    if (cap_second_.load(std::memory_order_relaxed) != second) {
      // Two threads may both reset at a second's turn: the cap is approximate by a request.
      cap_second_.store(second, std::memory_order_relaxed);
      cap_rows_.store(0, std::memory_order_relaxed);
    }
    if (cap_rows_.load(std::memory_order_relaxed) >= max_rows_per_second_ ||
        cap_rows_.fetch_add(static_cast<int64_t>(rows), std::memory_order_relaxed) >=
            max_rows_per_second_) {
      unmonitored_.fetch_add((uint64_t{1} << kRequestShift) | rows, std::memory_order_relaxed);
      return false;
    }
  }
  return true;
}

void ModelMonitor::FlushUnmonitored(int64_t now_micros) {
  if (const int64_t failed = failed_.exchange(0, std::memory_order_relaxed); failed > 0) {
    window_.CountFailed(now_micros, failed);
  }
  const uint64_t pending = unmonitored_.exchange(0, std::memory_order_relaxed);
  if (pending == 0) return;
  const auto rows = static_cast<int64_t>(pending & ((uint64_t{1} << kRequestShift) - 1));
  window_.CountUnmonitored(now_micros, static_cast<int64_t>(pending >> kRequestShift), rows);
  unmonitored_total_.fetch_add(rows, std::memory_order_relaxed);
}

void ModelMonitor::Observe(int64_t now_micros, std::span<const float> inputs,
                           std::span<const float> outputs, size_t rows, double latency_seconds) {
  if (rows == 0) return;
  // The rows as the window takes them: the inputs, then the prediction. A buffer per
  // thread, so a warm thread does not allocate.
  thread_local std::vector<float> values;
  const size_t width = num_inputs_ + 1;
  values.resize(rows * width);
  for (size_t r = 0; r < rows; ++r) {
    std::copy_n(inputs.data() + r * num_inputs_, num_inputs_, values.data() + r * width);
    values[r * width + num_inputs_] = PredictionValue(outputs.data() + r * num_outputs_,
                                                      num_outputs_);
  }
  std::lock_guard lock(mu_);
  FlushUnmonitored(now_micros);
  window_.Add(now_micros, values, rows, latency_seconds);
}

MonitorSnapshot ModelMonitor::Snapshot(int64_t now_micros, bool distributions) {
  MonitorSnapshot out;
  out.window = policy_.window;
  out.reference_dataset = reference_dataset_;
  out.no_reference = no_reference_;
  {
    std::lock_guard lock(mu_);
    FlushUnmonitored(now_micros);
    out.contents = window_.Merge(now_micros);
  }
  out.unmonitored_rows = unmonitored_total_.load(std::memory_order_relaxed);
  out.drift = ComputeDrift(columns_, out.contents, policy_);
  if (distributions) out.distributions = ComputeDistributions(columns_, out.contents);
  out.contents.columns.clear();
  return out;
}

WindowContents ModelMonitor::Traffic(int64_t now_micros) {
  std::lock_guard lock(mu_);
  FlushUnmonitored(now_micros);
  return window_.Merge(now_micros, LiveWindow::Contents::kTrafficOnly);
}

nlohmann::json TrafficToJson(const WindowSpec& spec, const WindowContents& c) {
  nlohmann::json window = {{"kind", spec.kind == WindowSpec::Kind::kTime ? "time" : "rows"},
                           {"slices", spec.slices},
                           {"from", core::FormatTimestamp(c.from_micros)},
                           {"to", core::FormatTimestamp(c.to_micros)}};
  if (spec.kind == WindowSpec::Kind::kTime) {
    window["duration"] = features::FormatDuration(spec.duration.count());
  } else {
    window["rows"] = spec.rows;
  }
  const double seconds = static_cast<double>(c.to_micros - c.from_micros) / 1e6;
  nlohmann::json throughput = nullptr;
  if (seconds > 0) {
    throughput = {{"requests_per_second", static_cast<double>(c.requests) / seconds},
                  {"rows_per_second", static_cast<double>(c.rows) / seconds}};
  }
  nlohmann::json latency = nullptr;
  if (!c.latency.empty()) {
    latency = {{"p50", Quantile(c.latency, 0.5)},
               {"p90", Quantile(c.latency, 0.9)},
               {"p99", Quantile(c.latency, 0.99)},
               {"max", Quantile(c.latency, 1.0)}};
  }
  const int64_t all = c.requests + c.failed;
  return {{"window", std::move(window)},
          {"requests", c.requests},
          {"rows", c.rows},
          {"monitored_rows", c.monitored_rows},
          {"failed", c.failed},
          {"error_rate", all == 0 ? nlohmann::json(nullptr)
                                  : nlohmann::json(static_cast<double>(c.failed) /
                                                   static_cast<double>(all))},
          {"throughput", std::move(throughput)},
          {"latency_seconds", std::move(latency)}};
}

nlohmann::json MonitorSnapshotToJson(const MonitorSnapshot& s) {
  nlohmann::json out = TrafficToJson(s.window, s.contents);
  nlohmann::json reference = {{"dataset", s.reference_dataset.empty()
                                              ? nlohmann::json()
                                              : nlohmann::json(s.reference_dataset)}};
  if (!s.no_reference.empty()) reference["note"] = s.no_reference;
  out["unmonitored_rows"] = s.unmonitored_rows;
  out["reference"] = std::move(reference);
  out["drift"] = DriftReportToJson(s.drift);
  if (!s.distributions.empty()) {
    nlohmann::json distributions = nlohmann::json::array();
    for (const ColumnDistribution& d : s.distributions) {
      distributions.push_back(ColumnDistributionToJson(d));
    }
    out["distributions"] = std::move(distributions);
  }
  return out;
}

}  // namespace ferry::monitoring
