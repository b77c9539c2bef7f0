#pragma once

// EndpointManager: the models `ferry server` serves, one per endpoint, kept in step
// with the deployments in the metadata store.
//
// Refresh asks the DeploymentStore which version every endpoint resolves to now (one
// query), loads each version that changed -- artifact read from the object store
// (hash-checked), loaded by its flavor's backend, built into a ServedModel -- and then
// publishes the new set in one atomic swap. A background thread calls Refresh every
// serving.poll_interval_ms, so `ferry deploy` from another process, or an alias moved
// by anyone, reaches the server within that interval; the API calls it at once after
// its own changes. On PostgreSQL the writers of deployments, aliases and rollouts also
// announce them (store/change_feed.h): the thread refreshes as soon as it hears, and
// polls only every kAnnouncedPollInterval while the feed is connected.
//
// Feature definitions: a model whose signature names a feature service reads its
// features through an online query prepared for the service's views as they were; when
// `ferry features apply` changes them, Refresh prepares the query again (the model
// itself is not reloaded).
//
// Hot swap: requests take the current ServedModel by shared_ptr (Find) and keep it for
// their whole run, so a swap never fails or drops a request; the old version unloads
// when the last request using it finishes. A version that fails to load (a corrupt
// artifact, a backend error) leaves the endpoint as it was: still serving the previous
// version if it had one (its status says what failed), not ready otherwise; other
// endpoints are unaffected. A failed load is retried when the deployment changes, or
// after kRetryInterval.
//
// Thread-safety: Find and the status readers are safe from any thread and lock-free
// apart from the shared_ptr's own synchronization; Refresh calls are serialized.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "registry/model_registry.h"
#include "serving/deployment_store.h"
#include "serving/live_figures.h"
#include "serving/served_model.h"
#include "store/change_feed.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace ferry::serving {

enum class EndpointState : uint8_t {
  kLoading,     // deployed, its first version not loaded yet
  kReady,       // serving a version (perhaps not the one it should: see reason)
  kFailed,      // its version could not be loaded and nothing else is served
  kUnresolved,  // its model reference resolves to no version
};
std::string_view EndpointStateName(EndpointState state);  // "LOADING", "READY", ...

// An endpoint's active rollout as serving sees it (the rollout store has the rest).
struct RolloutRoute {
  int64_t rollout_id = 0;
  bool shadow = false;  // the candidate gets a copy of every request, never answers
  int weight = 0;       // percent of requests the candidate answers (canary)
  std::string sticky_key;
  int64_t candidate_version = 0;
  friend bool operator==(const RolloutRoute&, const RolloutRoute&) = default;
};

// What answers an endpoint's requests: its model, and during a rollout the candidate
// version with its share of traffic and the live figures the controller compares.
struct ServedEndpoint {
  ServedModelPtr stable;
  ServedModelPtr candidate;  // null without an active rollout (or while it cannot load)
  RolloutRoute rollout;
  std::shared_ptr<LiveFigures> stable_figures;     // null without a candidate
  std::shared_ptr<LiveFigures> candidate_figures;  // null without a candidate
};
using ServedEndpointPtr = std::shared_ptr<const ServedEndpoint>;

// The live figures of one rollout this server routes to (see ServedEndpoint).
struct RolloutLiveFigures {
  std::string endpoint;
  int64_t rollout_id = 0;
  std::shared_ptr<LiveFigures> stable;
  std::shared_ptr<LiveFigures> candidate;
};

struct EndpointStatus {
  Deployment deployment;
  EndpointState state = EndpointState::kLoading;
  std::optional<int64_t> target_version;  // what the reference resolves to
  ServedModelPtr serving;                 // null when nothing is served
  ServedModelPtr candidate;               // a rollout's candidate, when loaded
  std::optional<RolloutRoute> rollout;    // the active rollout, if any
  std::string reason;                     // why it is not serving target_version
};

// Active rollouts by endpoint, from the rollout store (injected so serving does not
// depend on how rollouts are kept).
using RolloutSource =
    std::function<absl::StatusOr<std::vector<std::pair<std::string, RolloutRoute>>>()>;

struct EndpointManagerOptions {
  std::chrono::milliseconds poll_interval{250};
  // Forces an evaluator for every load (benchmarks, tests).
  EvaluatorChoice evaluator = EvaluatorChoice::kAuto;
  BatchingOptions batching;
  // Whether served models get a monitor, and the rows per second each takes at most
  // (0: all).
  bool monitoring = true;
  int64_t monitoring_max_rows_per_second = 5000;
};

class EndpointManager {
 public:
  static constexpr std::chrono::seconds kRetryInterval{30};
  // How often deployments are polled while the change feed announces every change.
  static constexpr std::chrono::milliseconds kAnnouncedPollInterval{5000};

  // Opens the stores it needs; does not load anything yet (call Refresh, or Start).
  // The workspace must outlive the manager.
  static absl::StatusOr<std::unique_ptr<EndpointManager>> Open(store::Workspace& workspace,
                                                               EndpointManagerOptions options);
  ~EndpointManager();  // stops the polling thread
  EndpointManager(const EndpointManager&) = delete;
  EndpointManager& operator=(const EndpointManager&) = delete;

  // Brings the served models in step with the store now (see above). Errors: the
  // store's (then nothing changes); load failures are not errors but statuses.
  absl::Status Refresh();
  // Starts calling Refresh every poll_interval on a thread of its own.
  void Start();
  void Stop();

  // Where Refresh learns of active rollouts; set before Start.
  void SetRolloutSource(RolloutSource source) { rollout_source_ = std::move(source); }

  // The model an endpoint serves now; null when it has none (unknown endpoint, or not
  // loaded).
  ServedModelPtr Find(std::string_view endpoint) const;
  // The same with its rollout, for routing requests.
  ServedEndpointPtr FindEndpoint(std::string_view endpoint) const;
  // Takes (and resets) the live figures of an endpoint's rollout: stable first, then
  // candidate. nullopt when the endpoint has no such rollout loaded.
  std::optional<std::pair<FiguresWindow, FiguresWindow>> TakeFigures(std::string_view endpoint,
                                                                     int64_t rollout_id) const;
  // The live figures of every rollout whose candidate this server serves now (what
  // SharedFigures publishes).
  std::vector<RolloutLiveFigures> LiveRolloutFigures() const;
  // Every deployed endpoint's status, by name; one endpoint's (NotFound when unknown).
  std::vector<EndpointStatus> Statuses() const;
  // Why an endpoint that Find did not find serves nothing: InvalidArgument for a name no
  // endpoint can have (ValidateEndpointName), NotFound when it is not deployed,
  // Unavailable with its state and reason when it is not ready.
  absl::Status NotServing(std::string_view endpoint) const;
  // InvalidArgument or NotFound as NotServing.
  absl::StatusOr<EndpointStatus> Status(std::string_view endpoint) const;

  DeploymentStore& deployments() { return *deployments_; }
  ServingMetrics& metrics() { return metrics_; }
  const features::FeatureRegistry& feature_registry() const { return *features_; }

 private:
  using ServingMap = absl::flat_hash_map<std::string, ServedEndpointPtr>;
  struct Tracked {
    EndpointStatus status;
    // The load last tried for this endpoint, and when, so a failure is not retried
    // on every poll.
    std::string tried_key;
    std::chrono::steady_clock::time_point tried_at;
    std::string candidate_tried_key;
    std::chrono::steady_clock::time_point candidate_tried_at;
  };

  explicit EndpointManager(store::Workspace& workspace, EndpointManagerOptions options)
      : workspace_(workspace), options_(std::move(options)) {}
  // Loads the version a deployment resolves to. Errors say what failed.
  absl::StatusOr<ServedModelPtr> Load(const ResolvedDeployment& resolved);
  // The same model with its online query prepared again when its feature service's
  // definitions changed since it was built; null when nothing changed (or the new
  // definitions no longer fit the model, which is logged: the old query keeps serving).
  ServedModelPtr RebuildIfFeaturesChanged(const ServedModel& served);
  void PollLoop();
  void OnChange();  // the change feed's callback: refresh now

  store::Workspace& workspace_;
  const EndpointManagerOptions options_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<features::FeatureRegistry> features_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<registry::ModelRegistry> models_;
  std::unique_ptr<DeploymentStore> deployments_;
  RolloutSource rollout_source_;
  ServingMetrics metrics_;

  std::atomic<std::shared_ptr<const ServingMap>> serving_{std::make_shared<const ServingMap>()};

  std::mutex refresh_mu_;         // serializes Refresh; guards tracked_ writes
  mutable std::mutex status_mu_;  // guards tracked_
  std::map<std::string, Tracked, std::less<>> tracked_;

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stopping_ = false;  // guarded by poll_mu_
  bool changed_ = false;   // guarded by poll_mu_: the feed announced a change
  std::thread poller_;
  // Declared last: destroyed (its thread stopped) first, so OnChange never runs on a
  // half-destroyed manager.
  std::unique_ptr<store::ChangeFeed> feed_;
};

}  // namespace ferry::serving
