#include "serving/rollout_controller.h"

#include <utility>

#include "core/status.h"

namespace ferry::serving {

RolloutController::RolloutController(RolloutStore& store, core::ClockPtr clock,
                                     FigureSource figures, EventSink sink)
    : store_(store), clock_(std::move(clock)), figures_(std::move(figures)),
      sink_(std::move(sink)) {}

absl::StatusOr<std::vector<RolloutEvent>> RolloutController::Tick() {
  ASSIGN_OR_RETURN(std::vector<Rollout> active, store_.Active());
  std::vector<RolloutEvent> events;
  absl::Status first_error;
  for (const Rollout& rollout : active) {
    if (rollout.state.phase != RolloutPhase::kProgressing) continue;
    const int64_t now = clock_->NowMicros();
    const int64_t interval = std::chrono::microseconds(rollout.policy.interval).count();
    if (now - rollout.state.last_analysis_at < interval) continue;
    absl::StatusOr<WindowFigures> figures = figures_(rollout);
    if (!figures.ok()) continue;  // not measurable yet (e.g. the candidate still loading)
    const Analysis analysis = Analyze(rollout.policy, rollout.state, *figures, now, rollout.kind);
    absl::StatusOr<RolloutEvent> event =
        store_.ApplyAnalysis(rollout.id, rollout.generation, analysis, now);
    if (!event.ok()) {
      if (event.status().code() != absl::StatusCode::kAborted && first_error.ok()) {
        first_error = event.status();
      }
      continue;
    }
    if (sink_) sink_(*event);
    events.push_back(*std::move(event));
  }
  if (!first_error.ok()) return first_error;
  return events;
}

}  // namespace ferry::serving
