#pragma once

// SharedFigures: the rollout windows of every server on one workspace, kept in the
// metadata store so that the one controller that analyses a rollout (the leader, when
// several `ferry server`s share the workspace behind a load balancer) sees all of its
// traffic, not just its own share.
//
// Each server publishes what its LiveFigures recorded (Flush, about every second, from
// RolloutRuntime's flusher thread): for every active rollout it routes to, the window of
// each side is taken from memory and added, in one write transaction for all rollouts, to
// this server's row of that rollout and side in `rollout_figures` -- so the table holds at
// most one row per rollout, side and server, however long a window lasts. Nothing is
// written when nothing was recorded. A window of a rollout that is no longer progressing
// or paused is dropped (ending a rollout deletes its rows, in the same transaction: see
// RolloutStore), so rows of finished rollouts never come back.
//
// The controller takes a rollout's window (Take): this server's pending window and every
// server's row, merged (MergeWindow: counts add, sketches merge, score samples combine
// into one uniform sample), with the rows deleted in the same write transaction -- a
// window taken is never counted again. Windows that other servers recorded but have not
// flushed yet count in the next window (they arrive at most one flush interval late).
//
// Row format (table and encodings): docs/serving.md, "Rollout figures across servers".
//
// Thread-safety: Flush and Take may be called from any thread; they run one at a time,
// so a window taken from memory is in the store (or given back to its LiveFigures, when
// the store fails) before the next Flush or Take looks.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/endpoint_manager.h"
#include "serving/live_figures.h"
#include "serving/rollout_store.h"
#include "store/workspace.h"

namespace ferry::serving {

// The stable side's window, then the candidate's.
struct RolloutWindows {
  FiguresWindow stable;
  FiguresWindow candidate;
};

class SharedFigures {
 public:
  // How often a server publishes its windows (RolloutRuntime's default).
  static constexpr std::chrono::milliseconds kFlushInterval{1000};

  // A server id unique to this process start: "HOST/PID/RANDOM".
  static std::string NewServerId();

  // `workspace` must have the "rollouts" migrations applied (RolloutStore::Open) and,
  // like `endpoints`, outlive this object.
  SharedFigures(store::Workspace& workspace, EndpointManager& endpoints,
                std::string server_id = NewServerId());

  const std::string& server_id() const { return server_id_; }

  // Publishes this server's pending windows of every rollout it routes to (see above).
  // Errors: the store's; the windows are then given back, to be published next time.
  absl::Status Flush();

  // Takes `rollout`'s window: this server's pending one and every server's published one,
  // merged; their rows are deleted. Errors: Aborted when the rollout's generation in the
  // store is no longer rollout.generation (another controller analysed or someone changed
  // it since `rollout` was read), the store's otherwise; then nothing is taken (rows and
  // pending windows stay for the next Take). A row that cannot be read (damaged) is
  // logged, left out and deleted.
  absl::StatusOr<RolloutWindows> Take(const Rollout& rollout);

 private:
  store::Workspace& workspace_;
  EndpointManager& endpoints_;
  const std::string server_id_;

  std::mutex mu_;  // serializes Flush and Take; guards rng_
  std::mt19937_64 rng_;
};

// The score sample's text: a JSON array of the scores, each in the shortest form that
// reads back as the same float32 ("[0.25,0.125]"); a score that is not a finite number is
// written nan, inf or -inf (such a sample is then not strict JSON). DecodeScores returns
// DataLoss for text that is not such an array or holds more than FiguresWindow::kMaxScores.
std::string EncodeScores(const std::vector<double>& scores);
absl::StatusOr<std::vector<double>> DecodeScores(std::string_view text);

}  // namespace ferry::serving
