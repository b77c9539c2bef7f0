#pragma once

// RolloutRuntime: the running server's side of canary and shadow rollouts. It
//   - tells the EndpointManager which rollouts are active (RolloutStore::Active), so
//     requests reach the candidate by the rollout's weight (inference.h);
//   - drives the RolloutController on a thread of its own: every tick (real time,
//     serving.rollout_tick_ms) the controller analyses the rollouts whose interval has
//     passed by the workspace's clock — injectable, so tests and the demo run a rollout
//     in seconds;
//   - publishes this server's live figures of every active rollout to the metadata store
//     about every second, on a flusher thread of its own (SharedFigures::Flush), so that
//     whichever server's controller analyses a rollout sees the traffic of all servers;
//     the flusher runs on every server, the controller's loop only where it analyses;
//   - gives the controller each window's figures: requests, failures and latency p99 per
//     side merged over every server's published window and this server's pending one
//     (SharedFigures::Take: taken, so the next window starts empty), the Jensen-Shannon
//     distance between the two sides' merged score samples, and live quality from the
//     labels feedback joined to logged predictions since the rollout started;
//   - announces every transition: logged, POSTed to the policy's webhooks (never
//     blocking), and applied to serving at once (Refresh).
//
// Thread-safety: TickNow must not overlap the thread's own ticks (call it only when the
// threads are not started: tests). Start and Stop from one thread. Stop publishes what is
// still pending (the flusher's last flush) before it returns.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "server/webhook_sender.h"
#include "serving/endpoint_manager.h"
#include "serving/prediction_log.h"
#include "serving/rollout_controller.h"
#include "serving/rollout_store.h"
#include "serving/shared_figures.h"
#include "store/leadership.h"
#include "store/workspace.h"

namespace ferry::serving {

class RolloutRuntime {
 public:
  // Most bins of the score histograms the prediction shift compares (fewer for small
  // samples); fewer than the policy's min_requests scores on a side leave it unknown.
  static constexpr int kShiftBins = 20;
  // Labeled predictions read per side for live quality.
  static constexpr size_t kMaxQualityRows = 100'000;

  // Opens the rollout store and connects it to `endpoints` (its rollout source). All
  // given must outlive the runtime; `log` may be null (no live quality). `flush` is how
  // often the flusher publishes this server's figures.
  static absl::StatusOr<std::unique_ptr<RolloutRuntime>> Open(
      store::Workspace& workspace, EndpointManager& endpoints, PredictionLog* log,
      std::chrono::milliseconds tick,
      std::chrono::milliseconds flush = SharedFigures::kFlushInterval);
  ~RolloutRuntime();

  void Start();
  void Stop();
  // One controller tick now; the events it recorded.
  absl::StatusOr<std::vector<RolloutEvent>> TickNow();

  // Among several servers on one workspace, only the leader's controller analyses
  // (null, the default: this one always does). Set before Start.
  void set_leadership(std::shared_ptr<const store::Leadership> leadership) {
    leadership_ = std::move(leadership);
  }

  RolloutStore& store() { return *store_; }
  SharedFigures& shared_figures() { return *figures_; }
  const server::WebhookSender& webhooks() const { return webhooks_; }

  // The figures of a rollout's window, merged over every server (taking them); public
  // for tests. Errors: SharedFigures::Take's -- Aborted when the rollout changed since
  // `rollout` was read, the store's -- and then the window is left for the next call.
  absl::StatusOr<WindowFigures> Figures(const Rollout& rollout);

 private:
  RolloutRuntime(store::Workspace& workspace, EndpointManager& endpoints, PredictionLog* log,
                 std::chrono::milliseconds tick, std::chrono::milliseconds flush)
      : workspace_(workspace), endpoints_(endpoints), log_(log), tick_(tick), flush_(flush) {}
  void OnEvent(const RolloutEvent& event);
  void Loop();
  void FlushLoop();

  store::Workspace& workspace_;
  EndpointManager& endpoints_;
  PredictionLog* log_;
  const std::chrono::milliseconds tick_;
  const std::chrono::milliseconds flush_;
  std::unique_ptr<RolloutStore> store_;
  std::unique_ptr<SharedFigures> figures_;
  std::unique_ptr<RolloutController> controller_;
  server::WebhookSender webhooks_;
  std::shared_ptr<const store::Leadership> leadership_;

  std::mutex mu_;  // guards stopping_; wake_ wakes both threads
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;   // Loop: the controller's ticks
  std::thread flusher_;  // FlushLoop: this server's figures to the store
};

}  // namespace ferry::serving
