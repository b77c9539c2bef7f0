// TriggerRunner: the trigger kinds -- schedules, new dataset versions, alerts -- each
// checked against the state it keeps in the run store (see trigger_runner.h).

#include <algorithm>
#include <charconv>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_executor.h"
#include "pipeline/trigger_runner.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

// Alert history firings taken per trigger and tick; the rest wait for the next tick.
constexpr int64_t kFiringsPerTick = 100;

std::optional<int64_t> ParseInt(const std::string& text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `FraudDrift {endpoint="scorer", feature="a"}`: the rule and the alert's labels.
std::string AlertDetail(const std::string& rule, alerts::Labels labels) {
  labels.erase(alerts::kAlertNameLabel);
  return labels.empty() ? rule : Cat(rule, " ", alerts::FormatLabels(labels));
}

// The time in the trigger state `key`; seen for the first time, when the pipeline was
// applied (never before: triggers do not fire for what happened before that).
absl::StatusOr<int64_t> TimeState(PipelineRunStore& runs, const AppliedPipeline& pipeline,
                                  const std::string& key, int64_t now) {
  ASSIGN_OR_RETURN(std::optional<std::string> state, runs.TriggerState(pipeline.name, key));
  if (const std::optional<int64_t> value = state ? ParseInt(*state) : std::nullopt) return *value;
  const int64_t since = std::min(pipeline.applied_at, now);
  RETURN_IF_ERROR(runs.SetTriggerState(pipeline.name, key, std::to_string(since)));
  return since;
}

bool NamesAlert(const PipelineSpec& spec, std::string_view rule) {
  for (const Trigger& t : spec.triggers) {
    if (t.kind == Trigger::Kind::kAlert && t.value == rule) return true;
  }
  return false;
}

}  // namespace

absl::Status TriggerRunner::CheckPipeline(const AppliedPipeline& pipeline,
                                          const PipelineSpec& spec) {
  const int64_t now = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(StartWaitingRun(spec));
  absl::Status first = CheckAlertRows(pipeline, spec, now);
  for (const Trigger& trigger : spec.triggers) {
    absl::Status checked;
    switch (trigger.kind) {
      case Trigger::Kind::kSchedule:
        checked = CheckSchedule(pipeline, spec, trigger, now);
        break;
      case Trigger::Kind::kDataset:
        checked = CheckDataset(pipeline, spec, trigger);
        break;
      case Trigger::Kind::kAlert:
        checked = CheckAlertHistory(pipeline, spec, trigger);
        break;
      case Trigger::Kind::kManual:
        break;
    }
    if (first.ok() && !checked.ok()) first = checked;
  }
  return first;
}

// The state is set before the run is made: a trigger fires at most once, and one that
// cannot make its run is recorded as refused rather than tried every tick.
absl::Status TriggerRunner::CheckSchedule(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                                          const Trigger& trigger, int64_t now) {
  if (!trigger.schedule) return absl::OkStatus();
  const std::string key = Cat("schedule:", trigger.value);
  ASSIGN_OR_RETURN(const int64_t last, TimeState(*runs_, pipeline, key, now));
  const std::optional<int64_t> next = trigger.schedule->Next(last);
  if (!next || *next > now) return absl::OkStatus();
  // Counting on from now, not from `next`: after downtime the missed minutes make one
  // run, not one each.
  RETURN_IF_ERROR(runs_->SetTriggerState(spec.name, key, std::to_string(now)));
  ASSIGN_OR_RETURN(auto params, RunParams(spec, {}));
  return Fire(pipeline, spec,
              {"schedule", Cat(trigger.value, " at ", core::FormatTimestamp(*next)),
               std::move(params), false, options_.actor})
      .status();
}

absl::Status TriggerRunner::CheckDataset(const AppliedPipeline& pipeline, const PipelineSpec& spec,
                                         const Trigger& trigger) {
  const std::string key = Cat("dataset:", trigger.value);
  ASSIGN_OR_RETURN(const auto* latest_versions, LatestVersions());
  const auto it = latest_versions->find(trigger.value);
  const int64_t latest = it == latest_versions->end() ? 0 : it->second;
  ASSIGN_OR_RETURN(std::optional<std::string> state, runs_->TriggerState(spec.name, key));
  const std::string seen = std::to_string(latest);
  if (!state) return runs_->SetTriggerState(spec.name, key, seen);
  if (*state == seen || latest == 0) return absl::OkStatus();
  RETURN_IF_ERROR(runs_->SetTriggerState(spec.name, key, seen));
  ASSIGN_OR_RETURN(auto params, RunParams(spec, {}));
  return Fire(
             pipeline, spec,
             {"dataset", Cat(trigger.value, "@", latest), std::move(params), false, options_.actor})
      .status();
}

absl::Status TriggerRunner::CheckAlertRows(const AppliedPipeline& pipeline,
                                           const PipelineSpec& spec, int64_t now) {
  ASSIGN_OR_RETURN(const int64_t since, TimeState(*runs_, pipeline, "alert-actions", now));
  ASSIGN_OR_RETURN(std::vector<alerts::PipelineTrigger> rows,
                   alerts_->ConsumePipelineTriggers(spec.name, now));
  absl::Status first;
  for (const alerts::PipelineTrigger& row : rows) {
    const std::string detail = AlertDetail(row.alert, row.labels);
    absl::Status fired;
    if (row.fired_at < since) {
      fired = Refuse(spec.name, "alert",
                     Cat(detail, ": fired at ", core::FormatTimestamp(row.fired_at),
                         ", before pipeline ", spec.name, " was applied"));
    } else if (!NamesAlert(spec, row.alert)) {
      fired =
          Refuse(spec.name, "alert",
                 Cat(detail, ": pipeline ", spec.name, " has no `alert: ", row.alert, "` trigger"));
    } else {
      std::map<std::string, std::string> overrides;
      for (const auto& [name, value] : row.params) {
        if (spec.params.contains(name)) overrides[name] = value;
      }
      ASSIGN_OR_RETURN(auto params, RunParams(spec, overrides));
      fired = Fire(pipeline, spec, {"alert", detail, std::move(params), false, options_.actor})
                  .status();
    }
    if (first.ok() && !fired.ok()) first = fired;
  }
  return first;
}

absl::Status TriggerRunner::CheckAlertHistory(const AppliedPipeline& pipeline,
                                              const PipelineSpec& spec, const Trigger& trigger) {
  const std::string key = Cat("alert:", trigger.value);
  ASSIGN_OR_RETURN(std::optional<std::string> state, runs_->TriggerState(spec.name, key));
  const std::optional<int64_t> last = state ? ParseInt(*state) : std::nullopt;
  if (!last) {
    ASSIGN_OR_RETURN(int64_t newest, alerts_->LastHistoryId());
    return runs_->SetTriggerState(spec.name, key, std::to_string(newest));
  }
  ASSIGN_OR_RETURN(std::vector<alerts::HistoryEntry> firings,
                   alerts_->FiringsAfter(trigger.value, *last, kFiringsPerTick));
  if (firings.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(runs_->SetTriggerState(spec.name, key, std::to_string(firings.back().id)));
  absl::Status first;
  for (const alerts::HistoryEntry& firing : firings) {
    // A firing whose rule's pipeline action named this pipeline comes through its row.
    ASSIGN_OR_RETURN(bool has_row,
                     alerts_->HasPipelineTrigger(spec.name, firing.rule, firing.labels, firing.at));
    if (has_row) continue;
    ASSIGN_OR_RETURN(auto params, RunParams(spec, {}));
    absl::Status fired = Fire(pipeline, spec,
                              {"alert", AlertDetail(firing.rule, firing.labels), std::move(params),
                               false, options_.actor})
                             .status();
    if (first.ok() && !fired.ok()) first = fired;
  }
  return first;
}

absl::StatusOr<const std::map<std::string, int64_t>*> TriggerRunner::LatestVersions() {
  if (!latest_versions_) {
    ASSIGN_OR_RETURN(std::vector<dataset::DatasetSummary> datasets, datasets_->List());
    std::map<std::string, int64_t> latest;
    for (const dataset::DatasetSummary& d : datasets) latest[d.name] = d.latest.version;
    latest_versions_ = std::move(latest);
  }
  return &*latest_versions_;
}

}  // namespace ferry::pipeline
