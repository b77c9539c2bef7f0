#pragma once

// RolloutController: the loop that runs canary analysis. Each Tick looks at every active
// rollout (RolloutStore::Active, one query) and, for each progressing one whose interval
// has passed since its last analysis (by the injected clock), takes the window's figures
// from the FigureSource, judges them (Analyze), applies the decision (ApplyAnalysis) and
// hands the recorded event to the EventSink. Paused and finished rollouts are skipped.
//
// The controller keeps no state of its own: everything is in the store, so a restarted
// server (a new store and controller on the same workspace) resumes each rollout where it
// was, and two controllers on one workspace do not apply one window twice (the second is
// Aborted by the generation check and skips).
//
// The FigureSource is the serving side: it takes (and resets) the live figures of the
// rollout's window, merged over every server on the workspace (shared_figures.h). A window
// whose decision is Aborted (another actor changed the rollout meanwhile) is dropped: the
// rollout is analysed again on the next window.
//
// Thread-safety: Tick calls must not overlap (one thread drives the controller); the
// callbacks run on that thread.

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "serving/rollout_analysis.h"
#include "serving/rollout_store.h"

namespace ferry::serving {

class RolloutController {
 public:
  using FigureSource = std::function<absl::StatusOr<WindowFigures>(const Rollout&)>;
  using EventSink = std::function<void(const RolloutEvent&)>;

  // `store` must outlive the controller. `sink` may be empty.
  RolloutController(RolloutStore& store, core::ClockPtr clock, FigureSource figures,
                    EventSink sink);

  // Runs the analyses that are due, returning the events recorded (each also given to the
  // sink). A FigureSource error skips that rollout until the next Tick; an Aborted
  // ApplyAnalysis skips it cleanly. Errors: the store's, when Active fails; otherwise the
  // first other ApplyAnalysis error, after every other due rollout has been handled (the
  // sink has had their events).
  absl::StatusOr<std::vector<RolloutEvent>> Tick();

 private:
  RolloutStore& store_;
  core::ClockPtr clock_;
  FigureSource figures_;
  EventSink sink_;
};

}  // namespace ferry::serving
