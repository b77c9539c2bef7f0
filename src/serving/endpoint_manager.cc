#include "serving/endpoint_manager.h"

#include <spdlog/spdlog.h>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "serving/model_monitoring.h"

namespace ferry::serving {
namespace {

using core::Cat;

// What identifies a load: the same key twice is the same model, already tried.
std::string LoadKey(const ResolvedDeployment& r) {
  return Cat(r.deployment.model.name, "@", r.version.value_or(0), "/", r.artifact_digest, "/",
             MissingFeaturePolicyName(r.deployment.missing_features));
}

}  // namespace

std::string_view EndpointStateName(EndpointState state) {
  switch (state) {
    case EndpointState::kLoading:
      return "LOADING";
    case EndpointState::kReady:
      return "READY";
    case EndpointState::kFailed:
      return "FAILED";
    case EndpointState::kUnresolved:
      return "UNRESOLVED";
  }
  return "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<EndpointManager>> EndpointManager::Open(
    store::Workspace& workspace, EndpointManagerOptions options) {
  std::unique_ptr<EndpointManager> m(new EndpointManager(workspace, std::move(options)));
  ASSIGN_OR_RETURN(m->datasets_, dataset::DatasetStore::Open(workspace));
  ASSIGN_OR_RETURN(m->features_, features::FeatureRegistry::Open(workspace, *m->datasets_));
  ASSIGN_OR_RETURN(m->tracking_, tracking::TrackingStore::Open(workspace, *m->datasets_));
  ASSIGN_OR_RETURN(m->models_, registry::ModelRegistry::Open(workspace, *m->datasets_,
                                                             *m->features_, *m->tracking_));
  ASSIGN_OR_RETURN(m->deployments_, DeploymentStore::Open(workspace));
  return m;
}

EndpointManager::~EndpointManager() { Stop(); }

absl::StatusOr<ServedModelPtr> EndpointManager::Load(const ResolvedDeployment& r) {
  const std::string ref = Cat(r.deployment.model.name, "@", *r.version);
  ASSIGN_OR_RETURN(registry::ModelVersion version,
                   models_->Resolve(registry::ModelRef{r.deployment.model.name, r.version, {}}));
  ASSIGN_OR_RETURN(const ModelBackend* backend, BackendForFlavor(version.flavor));
  ASSIGN_OR_RETURN(core::Digest digest, core::Digest::FromHex(version.artifact_digest));
  absl::StatusOr<std::string> artifact =
      workspace_.objects().GetBytes(digest, registry::RegisterOptions::kMaxArtifactBytes);
  if (!artifact.ok()) {
    return absl::Status(artifact.status().code(), Cat("reading the artifact of ", ref, ": ",
                                                      core::View(artifact.status().message())));
  }
  LoadOptions load;
  load.display_name = ref;
  load.evaluator = options_.evaluator;
  ASSIGN_OR_RETURN(LoadedModelPtr model, backend->Load(*artifact, load));
  const int64_t now = workspace_.clock().NowMicros();
  return BuildServedModel(
      r.deployment, version, std::move(model), features_.get(), options_.batching, now, &metrics_,
      [&](const ServedModel& served) {
        return options_.monitoring ? BuildModelMonitor(served, *datasets_, r.deployment.monitoring,
                                                       options_.monitoring_max_rows_per_second, now)
                                   : nullptr;
      });
}

ServedModelPtr EndpointManager::RebuildIfFeaturesChanged(const ServedModel& served) {
  const std::string& service = served.version.signature.feature_service;
  if (service.empty()) return nullptr;
  absl::StatusOr<features::FeatureSelection> selection = features_->SelectService(service);
  if (!selection.ok() || !FeaturesChanged(served, *selection)) return nullptr;
  Deployment deployment;
  deployment.endpoint = served.endpoint;
  deployment.missing_features = served.missing_features;
  absl::StatusOr<ServedModelPtr> rebuilt =
      BuildServedModel(deployment, served.version, served.model, features_.get(), options_.batching,
                       workspace_.clock().NowMicros(), &metrics_,
                       [&](const ServedModel&) { return served.monitor; });
  if (!rebuilt.ok()) {
    spdlog::warn("serving: endpoint {}: feature service {} changed and no longer fits {}: {}",
                 served.endpoint, service, served.version.Ref(),
                 core::View(rebuilt.status().message()));
    return nullptr;
  }
  spdlog::info("serving: endpoint {}: feature service {} changed; its online query is ready",
               served.endpoint, service);
  return *std::move(rebuilt);
}

absl::Status EndpointManager::Refresh() {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  ASSIGN_OR_RETURN(std::vector<ResolvedDeployment> resolved, deployments_->Resolve());
  std::map<std::string, RolloutRoute, std::less<>> routes;
  if (rollout_source_) {
    ASSIGN_OR_RETURN(auto active, rollout_source_());
    for (auto& [endpoint, route] : active) routes[endpoint] = route;
  }
  std::shared_ptr<const ServingMap> current = serving_.load();
  auto next = std::make_shared<ServingMap>();
  std::map<std::string, Tracked, std::less<>> tracked;
  bool changed = false;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    tracked = tracked_;
  }

  for (const ResolvedDeployment& r : resolved) {
    const std::string& endpoint = r.deployment.endpoint;
    Tracked& t = tracked[endpoint];
    const bool is_new = t.status.deployment.endpoint.empty();
    t.status.deployment = r.deployment;
    t.status.target_version = r.version;
    auto it = current->find(endpoint);
    const ServedEndpoint* was = it == current->end() ? nullptr : it->second.get();
    ServedModelPtr serving = was ? was->stable : nullptr;
    if (is_new) t.status.state = EndpointState::kLoading;

    // A version already loaded for this endpoint (as its model or a rollout's candidate)
    // is reused: a promotion swaps no model in, it only changes which one answers. A new
    // missing-feature or monitoring policy loads it again.
    const auto loaded_version = [&](int64_t version) -> ServedModelPtr {
      if (was == nullptr) return nullptr;
      for (const ServedModelPtr& m : {was->stable, was->candidate}) {
        if (m && m->version.name == r.deployment.model.name && m->version.version == version &&
            m->missing_features == r.deployment.missing_features &&
            (!m->monitor || m->monitor->policy() == r.deployment.monitoring)) {
          return m;
        }
      }
      return nullptr;
    };

    if (!r.version) {
      t.status.reason =
          Cat("model reference ", r.deployment.model.ToString(), " resolves to no version");
      t.status.state = serving ? EndpointState::kReady : EndpointState::kUnresolved;
    } else if (ServedModelPtr same = loaded_version(*r.version)) {
      serving = std::move(same);
      t.status.reason.clear();
      t.status.state = EndpointState::kReady;
      if (ServedModelPtr rebuilt = RebuildIfFeaturesChanged(*serving)) serving = std::move(rebuilt);
    } else {
      const std::string key = LoadKey(r);
      if (key != t.tried_key || now - t.tried_at >= kRetryInterval) {
        t.tried_key = key;
        t.tried_at = now;
        absl::StatusOr<ServedModelPtr> loaded = Load(r);
        if (loaded.ok()) {
          spdlog::info("serving: endpoint {} now serves {} ({})", endpoint,
                       (*loaded)->version.Ref(), (*loaded)->model->description().evaluator);
          serving = *std::move(loaded);
          t.tried_key.clear();  // only failed loads wait for kRetryInterval
          t.status.reason.clear();
          t.status.state = EndpointState::kReady;
        } else {
          const std::string what = Cat("loading ", r.deployment.model.name, "@", *r.version,
                                       " failed: ", core::View(loaded.status().message()));
          spdlog::error("serving: endpoint {}: {}", endpoint, what);
          t.status.reason = serving ? Cat(what, "; still serving ", serving->version.Ref()) : what;
          t.status.state = serving ? EndpointState::kReady : EndpointState::kFailed;
        }
      }
    }

    auto entry = std::make_shared<ServedEndpoint>();
    entry->stable = serving;
    t.status.rollout.reset();
    t.status.candidate = nullptr;
    if (auto route = routes.find(endpoint); route != routes.end() && serving && r.version) {
      const RolloutRoute& rollout = route->second;
      t.status.rollout = rollout;
      ServedModelPtr candidate = loaded_version(rollout.candidate_version);
      if (!candidate) {
        ResolvedDeployment c = r;
        c.version = rollout.candidate_version;
        const std::string key = Cat(rollout.rollout_id, "/", LoadKey(c));
        if (key != t.candidate_tried_key || now - t.candidate_tried_at >= kRetryInterval) {
          t.candidate_tried_key = key;
          t.candidate_tried_at = now;
          absl::StatusOr<ServedModelPtr> loaded = Load(c);
          if (loaded.ok()) {
            spdlog::info("serving: endpoint {}: candidate {} loaded ({})", endpoint,
                         (*loaded)->version.Ref(), (*loaded)->model->description().evaluator);
            candidate = *std::move(loaded);
            t.candidate_tried_key.clear();
          } else {
            t.status.reason =
                Cat("loading the candidate ", r.deployment.model.name, "@",
                    rollout.candidate_version, " failed: ", core::View(loaded.status().message()));
            spdlog::error("serving: endpoint {}: {}", endpoint, t.status.reason);
          }
        }
      }
      if (candidate && candidate != serving) {
        entry->candidate = candidate;
        entry->rollout = rollout;
        const bool same_rollout =
            was != nullptr && was->candidate && was->rollout.rollout_id == rollout.rollout_id;
        entry->stable_figures =
            same_rollout ? was->stable_figures : std::make_shared<LiveFigures>();
        entry->candidate_figures =
            same_rollout ? was->candidate_figures : std::make_shared<LiveFigures>();
        t.status.candidate = candidate;
      }
    }
    t.status.serving = serving;
    if (!serving) continue;
    const bool same_entry = was != nullptr && was->stable == entry->stable &&
                            was->candidate == entry->candidate && was->rollout == entry->rollout &&
                            was->stable_figures == entry->stable_figures;
    if (same_entry) {
      next->emplace(endpoint, it->second);
    } else {
      changed = true;
      next->emplace(endpoint, std::move(entry));
    }
  }
  // Endpoints deleted since the last refresh.
  for (auto it = tracked.begin(); it != tracked.end();) {
    if (std::none_of(resolved.begin(), resolved.end(), [&](const ResolvedDeployment& r) {
          return r.deployment.endpoint == it->first;
        })) {
      spdlog::info("serving: endpoint {} removed", it->first);
      it = tracked.erase(it);
    } else {
      ++it;
    }
  }
  if (changed || next->size() != current->size()) {
    serving_.store(std::shared_ptr<const ServingMap>(std::move(next)));
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  tracked_ = std::move(tracked);
  return absl::OkStatus();
}

void EndpointManager::Start() {
  std::lock_guard<std::mutex> lock(poll_mu_);
  if (poller_.joinable()) return;
  stopping_ = false;
  if (!feed_) {
    absl::StatusOr<std::unique_ptr<store::ChangeFeed>> feed =
        store::ChangeFeed::Open(workspace_, store::kServingChannel, [this] { OnChange(); });
    if (feed.ok()) {
      feed_ = std::move(*feed);
    } else {
      spdlog::warn("serving: no change feed ({}); polling", core::View(feed.status().message()));
    }
  }
  poller_ = std::thread([this] { PollLoop(); });
}

void EndpointManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    stopping_ = true;
  }
  poll_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  feed_.reset();
}

void EndpointManager::PollLoop() {
  std::unique_lock<std::mutex> lock(poll_mu_);
  while (!stopping_) {
    changed_ = false;
    lock.unlock();
    const absl::Status refreshed = Refresh();
    if (!refreshed.ok()) {
      spdlog::warn("serving: checking deployments: {}", core::View(refreshed.message()));
    }
    lock.lock();
    // While the change feed is connected, every change is announced: polling is only the
    // safety net, so it can be slow -- unless this refresh failed, when the change that
    // was announced may not be applied yet.
    const bool announced = feed_ != nullptr && feed_->connected() && refreshed.ok();
    const auto interval = announced ? std::max(options_.poll_interval, kAnnouncedPollInterval)
                                    : options_.poll_interval;
    poll_cv_.wait_for(lock, interval, [this] { return stopping_ || changed_; });
  }
}

void EndpointManager::OnChange() {
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    changed_ = true;
  }
  poll_cv_.notify_all();
}

ServedEndpointPtr EndpointManager::FindEndpoint(std::string_view endpoint) const {
  std::shared_ptr<const ServingMap> map = serving_.load();
  auto it = map->find(absl::string_view(endpoint.data(), endpoint.size()));
  return it == map->end() ? nullptr : it->second;
}

ServedModelPtr EndpointManager::Find(std::string_view endpoint) const {
  ServedEndpointPtr served = FindEndpoint(endpoint);
  return served ? served->stable : nullptr;
}

std::optional<std::pair<FiguresWindow, FiguresWindow>> EndpointManager::TakeFigures(
    std::string_view endpoint, int64_t rollout_id) const {
  ServedEndpointPtr served = FindEndpoint(endpoint);
  if (!served || !served->candidate || served->rollout.rollout_id != rollout_id) {
    return std::nullopt;
  }
  return std::make_pair(served->stable_figures->Take(), served->candidate_figures->Take());
}

std::vector<RolloutLiveFigures> EndpointManager::LiveRolloutFigures() const {
  std::shared_ptr<const ServingMap> map = serving_.load();
  std::vector<RolloutLiveFigures> out;
  for (const auto& [endpoint, served] : *map) {
    if (!served->candidate) continue;
    out.push_back(
        {endpoint, served->rollout.rollout_id, served->stable_figures, served->candidate_figures});
  }
  return out;
}

std::vector<EndpointStatus> EndpointManager::Statuses() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  std::vector<EndpointStatus> out;
  out.reserve(tracked_.size());
  for (const auto& [name, t] : tracked_) out.push_back(t.status);
  return out;
}

absl::Status EndpointManager::NotServing(std::string_view endpoint) const {
  ASSIGN_OR_RETURN(EndpointStatus status, Status(endpoint));
  return absl::UnavailableError(Cat("endpoint \"", endpoint, "\" is not ready (",
                                    EndpointStateName(status.state),
                                    status.reason.empty() ? "" : Cat(": ", status.reason), ")"));
}

absl::StatusOr<EndpointStatus> EndpointManager::Status(std::string_view endpoint) const {
  RETURN_IF_ERROR(ValidateEndpointName(endpoint));
  std::lock_guard<std::mutex> lock(status_mu_);
  auto it = tracked_.find(endpoint);
  if (it == tracked_.end()) {
    return absl::NotFoundError(Cat("no endpoint named \"", endpoint, "\""));
  }
  return it->second.status;
}

}  // namespace ferry::serving
