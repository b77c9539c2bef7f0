#pragma once

// `ferry demo`: the closed loop on the embedded default, with real components and real
// HTTP traffic, on a simulated clock (core::SimulatedClock) that the world's replay
// (demo_replay.h) moves a payment at a time:
//   1. a new workspace; 28 days of synthetic card payments (demo/world.h) uploaded as
//      dataset versions; the feature definitions applied;
//   2. the training pipeline (training set by point-in-time join, split, train,
//      evaluate, register) run by a manual trigger; its model made `production` and
//      deployed with a monitoring policy; alert rules applied; features materialized;
//   3. live payments replayed over HTTP with entity keys, labels fed back hours later,
//      new data exported as dataset versions, while the clock advances;
//   4. the world changes: monitoring sees the drift and the quality drop, alerts fire,
//      the quality alert triggers the pipeline, which retrains on the data exported so
//      far, passes the evaluation gate, registers the model and starts a canary that the
//      server's controller analyses and promotes -- nobody intervening;
//   5. the timeline (read back from the metadata store), the production model's
//      lineage and a summary table; then the checks of every stage, which make the
//      command fail when one did not happen.
// The server runs in this process (pipeline runs too, on a thread: InProcessRunLauncher),
// so everything shares the simulated clock; `--keep-serving` keeps it serving afterwards.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "cli/cli.h"

namespace ferry::cli {

struct DemoOptions {
  std::filesystem::path root;  // the new workspace (must not hold one yet)
  uint64_t customers = 20'000;
  uint64_t merchants = 1'000;
  uint64_t seed = 42;
  int64_t history_days = 28;
  int64_t live_days = 7;
  int64_t change_after_days = 2;           // live days before the world changes
  std::chrono::minutes tick{15};           // simulated time per step of the live loop
  std::chrono::milliseconds min_step{40};  // real time per step at least
  bool keep_serving = false;
  std::string listen = "127.0.0.1:0";
};

// Errors: any stage that fails outright; FailedPrecondition naming the checks that did
// not pass once the loop has run.
absl::Status RunClosedLoopDemo(CliContext& context, const DemoOptions& options);

}  // namespace ferry::cli
