#include "serving/rollout_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "core/strings.h"
#include "stats/distribution_shift.h"
#include "stats/quality.h"

namespace ferry::serving {
namespace {

using core::Cat;

SideFigures Side(const FiguresWindow& window) {
  SideFigures side;
  side.requests = window.requests;
  side.errors = window.errors;
  side.p99_seconds = window.latency.Quantile(0.99);
  return side;
}

// The Jensen-Shannon distance between two score samples, on equal bins over their common
// range; nullopt when either side has fewer than min_samples. Fewer bins for smaller
// samples (Sturges' rule, 5 to max_bins): many bins over few scores would show sampling
// noise as shift.
std::optional<double> Shift(const std::vector<double>& a, const std::vector<double>& b,
                            size_t min_samples, int max_bins) {
  if (a.empty() || b.empty() || a.size() < min_samples || b.size() < min_samples) {
    return std::nullopt;
  }
  const double smaller = static_cast<double>(std::min(a.size(), b.size()));
  const int bins = std::clamp(static_cast<int>(std::ceil(std::log2(smaller))) + 1, 5, max_bins);
  const auto [a_min, a_max] = std::minmax_element(a.begin(), a.end());
  const auto [b_min, b_max] = std::minmax_element(b.begin(), b.end());
  const double lo = std::min(*a_min, *b_min);
  const double hi = std::max(*a_max, *b_max);
  if (!(hi > lo)) return 0.0;  // every score the same on both sides
  absl::StatusOr<stats::Histogram> ha = stats::Histogram::Create(lo, hi, bins);
  absl::StatusOr<stats::Histogram> hb = stats::Histogram::Create(lo, hi, bins);
  if (!ha.ok() || !hb.ok()) return std::nullopt;
  for (double v : a) ha->Add(v);
  for (double v : b) hb->Add(v);
  absl::StatusOr<std::optional<double>> distance = stats::JensenShannonDistance(*ha, *hb);
  if (!distance.ok()) return std::nullopt;
  return *distance;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RolloutRuntime>> RolloutRuntime::Open(
    store::Workspace& workspace, EndpointManager& endpoints, PredictionLog* log,
    std::chrono::milliseconds tick, std::chrono::milliseconds flush) {
  std::unique_ptr<RolloutRuntime> runtime(
      new RolloutRuntime(workspace, endpoints, log, tick, flush));
  ASSIGN_OR_RETURN(runtime->store_, RolloutStore::Open(workspace));
  runtime->figures_ = std::make_unique<SharedFigures>(workspace, endpoints);
  RolloutRuntime* raw = runtime.get();
  runtime->controller_ = std::make_unique<RolloutController>(
      *runtime->store_, workspace.clock_ptr(),
      [raw](const Rollout& rollout) { return raw->Figures(rollout); },
      [raw](const RolloutEvent& event) { raw->OnEvent(event); });
  endpoints.SetRolloutSource(
      [store = runtime->store_.get()]()
          -> absl::StatusOr<std::vector<std::pair<std::string, RolloutRoute>>> {
        ASSIGN_OR_RETURN(std::vector<Rollout> active, store->Active());
        std::vector<std::pair<std::string, RolloutRoute>> routes;
        for (const Rollout& r : active) {
          RolloutRoute route;
          route.rollout_id = r.id;
          route.shadow = r.kind == RolloutKind::kShadow;
          route.weight = r.state.weight;
          route.sticky_key = r.policy.sticky_key;
          route.candidate_version = r.candidate_version;
          routes.emplace_back(r.endpoint, std::move(route));
        }
        return routes;
      });
  return runtime;
}

RolloutRuntime::~RolloutRuntime() { Stop(); }

absl::StatusOr<WindowFigures> RolloutRuntime::Figures(const Rollout& rollout) {
  WindowFigures figures;
  ASSIGN_OR_RETURN(const RolloutWindows windows, figures_->Take(rollout));
  figures.stable = Side(windows.stable);
  figures.canary = Side(windows.candidate);
  figures.prediction_shift =
      Shift(windows.stable.scores, windows.candidate.scores,
            static_cast<size_t>(std::max<int64_t>(rollout.policy.min_requests, 1)), kShiftBins);
  // Live quality: every label that arrived for predictions made since the rollout began
  // (labels come late, so the whole rollout, not just this window).
  ServedEndpointPtr served = endpoints_.FindEndpoint(rollout.endpoint);
  if (log_ == nullptr || !served || !served->stable) return figures;
  const std::string& objective = served->stable->model->description().objective;
  absl::StatusOr<stats::QualityMetric> metric = stats::QualityMetricForObjective(objective);
  if (!metric.ok()) return figures;  // e.g. ranking: no per-row quality
  figures.quality_metric = std::string(stats::QualityMetricName(*metric));
  figures.quality_higher_is_better = stats::HigherIsBetter(*metric);
  const auto quality = [&](int64_t version, SideFigures& side) -> absl::Status {
    ASSIGN_OR_RETURN(PredictionLog::Labeled labeled,
                     log_->LabeledSince(rollout.endpoint, rollout.model_name, version,
                                        rollout.created_at, kMaxQualityRows));
    side.labels = static_cast<int64_t>(labeled.labels.size());
    if (labeled.labels.empty()) return absl::OkStatus();
    absl::StatusOr<std::optional<double>> value = stats::ComputeQuality(
        *metric, labeled.outputs, static_cast<int>(labeled.width), labeled.labels);
    if (value.ok()) {
      side.quality = *value;
    } else {
      spdlog::warn("rollouts: {}: quality of {}@{}: {}", rollout.endpoint, rollout.model_name,
                   version, core::View(value.status().message()));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(quality(rollout.stable_version, figures.stable));
  RETURN_IF_ERROR(quality(rollout.candidate_version, figures.canary));
  return figures;
}

void RolloutRuntime::OnEvent(const RolloutEvent& event) {
  spdlog::info("rollouts: {} {}: {} (weight {}%){}", event.endpoint, event.type,
               RolloutPhaseName(event.phase), event.weight,
               event.reason.empty() ? "" : Cat(": ", event.reason));
  absl::StatusOr<Rollout> rollout = store_->Get(event.endpoint);
  if (rollout.ok() && !rollout->policy.webhooks.empty()) {
    webhooks_.Send(rollout->policy.webhooks, RolloutEventToJson(event).dump());
  }
  // New weights, a promotion or a rollback take effect now, not at the next poll.
  if (absl::Status status = endpoints_.Refresh(); !status.ok()) {
    spdlog::warn("rollouts: applying {} on {}: {}", event.type, event.endpoint,
                 core::View(status.message()));
  }
}

absl::StatusOr<std::vector<RolloutEvent>> RolloutRuntime::TickNow() { return controller_->Tick(); }

void RolloutRuntime::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  flusher_ = std::thread([this] { FlushLoop(); });
}

void RolloutRuntime::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (flusher_.joinable()) flusher_.join();
}

void RolloutRuntime::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, tick_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // Only the leader analyses; its decisions are written under its term's fence.
    store::RunIfLeading(leadership_.get(), [this] {
      absl::StatusOr<std::vector<RolloutEvent>> events = controller_->Tick();
      if (!events.ok()) {
        spdlog::warn("rollouts: analysis: {}", core::View(events.status().message()));
      }
    });
    lock.lock();
  }
}

// Runs on every server, whether or not its controller analyses anything: the figures of
// its traffic belong to whichever server does. A last flush on the way out, so a server
// that stops (scale-in, a deploy) leaves what it recorded to the others.
void RolloutRuntime::FlushLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  bool last = false;
  while (!last) {
    wake_.wait_for(lock, flush_, [this] { return stopping_; });
    last = stopping_;
    lock.unlock();
    if (absl::Status status = figures_->Flush(); !status.ok()) {
      spdlog::warn("rollouts: publishing this server's figures: {}", core::View(status.message()));
    }
    lock.lock();
  }
}

}  // namespace ferry::serving
