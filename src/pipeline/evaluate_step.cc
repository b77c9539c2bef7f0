// The evaluate step (builtin_steps.h): the candidate `model` and a baseline scored on the
// same `test` rows (model_scoring.h), and the gate's verdict written as the `evaluation`
// file (evaluation_report.h).
//
// The baseline is the version behind the `endpoint`'s model's `production` alias (none
// when the endpoint or the alias does not exist: the first model of a new endpoint), or
// the `baseline` param's version (which must exist). The gate: blessed iff the candidate
// beats the baseline on `metric` by at least `min_improvement` (signed, in the metric's
// good direction) and passes every floor (`min_<metric>`, `max_<metric>`); with no
// baseline the floors alone decide. A verdict of "not blessed" is a successful step.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "alerts/duration.h"
#include "core/file.h"
#include "core/strings.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/model_scoring.h"
#include "pipeline/step_errors.h"
#include "registry/model_registry.h"
#include "serving/deployment_store.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr double kAnyNumber = 1e300;

std::string Number(std::optional<double> value) {
  return value ? fmt::format("{:.4g}", *value) : std::string("undefined");
}

struct Baseline {
  std::optional<registry::ModelVersion> version;
  std::string described;    // "production fraud@3", "baseline fraud@2"
  std::string none_reason;  // without a version: why there is none
};

absl::StatusOr<Baseline> FindBaseline(StepContext& context) {
  const std::optional<std::string> endpoint = OptionalParamText(context, "endpoint");
  const std::optional<std::string> baseline = OptionalParamText(context, "baseline");
  registry::ModelRegistry& registry = context.services().registry;
  Baseline found;
  if (endpoint && baseline) {
    return StepInvalid(context, "params endpoint and baseline: give one baseline, not both");
  }
  if (baseline) {
    absl::StatusOr<registry::ModelRef> ref = registry::ParseModelRef(*baseline);
    if (!ref.ok()) {
      return StepInvalid(context, "param baseline: ", core::View(ref.status().message()));
    }
    STEP_ASSIGN_OR_RETURN(context, found.version, registry.Resolve(*ref));
    found.described = Cat("baseline ", found.version->Ref());
    return found;
  }
  if (!endpoint) {
    found.none_reason = "no endpoint or baseline given";
    return found;
  }
  STEP_ASSIGN_OR_RETURN(context, auto deployments,
                        serving::DeploymentStore::Open(context.services().workspace));
  absl::StatusOr<serving::Deployment> deployment = deployments->Get(*endpoint);
  if (absl::IsNotFound(deployment.status())) {
    found.none_reason = Cat("no endpoint named ", *endpoint);
    return found;
  }
  STEP_RETURN_IF_ERROR(context, deployment.status());
  const registry::ModelRef production{deployment->model.name, std::nullopt, "production"};
  absl::StatusOr<registry::ModelVersion> version = registry.Resolve(production);
  if (absl::IsNotFound(version.status())) {
    found.none_reason =
        Cat(production.name, ", which endpoint ", *endpoint, " serves, has no production alias");
    return found;
  }
  STEP_RETURN_IF_ERROR(context, version.status());
  found.version = *std::move(version);
  found.described = Cat("production ", found.version->Ref());
  return found;
}

absl::StatusOr<ScoringModel> LoadBaseline(StepContext& context,
                                          const registry::ModelVersion& version) {
  std::vector<std::string> features;
  for (const registry::SignatureField& input : version.signature.inputs) {
    features.push_back(input.name);
  }
  if (features.empty()) features = version.feature_names;
  STEP_ASSIGN_OR_RETURN(context, const core::Digest digest,
                        core::Digest::FromHex(version.artifact_digest));
  STEP_ASSIGN_OR_RETURN(context, const std::string bytes,
                        context.services().workspace.objects().GetBytes(
                            digest, registry::RegisterOptions::kMaxArtifactBytes));
  STEP_ASSIGN_OR_RETURN(context, ScoringModel model,
                        LoadScoringModel(Cat("baseline ", version.Ref()), bytes,
                                         std::move(features), context.threads()));
  return model;
}

// The floors the params set: min_<metric> and max_<metric> (not min_improvement).
absl::StatusOr<std::vector<FloorCheck>> ReadFloors(const StepContext& context,
                                                   ObjectiveFamily family) {
  std::vector<FloorCheck> floors;
  const auto metrics = FamilyMetrics(family);
  for (const auto& [name, text] : context.params()) {
    const bool is_min = name.starts_with("min_");
    if ((!is_min && !name.starts_with("max_")) || name == "min_improvement") continue;
    FloorCheck floor;
    floor.metric = name.substr(4);
    floor.is_min = is_min;
    if (std::find(metrics.begin(), metrics.end(), floor.metric) == metrics.end()) {
      std::string known;
      for (std::string_view m : metrics) known += Cat(known.empty() ? "" : ", ", m);
      return StepInvalid(context, "param ", name, ": a ", ObjectiveFamilyName(family),
                         " model has no metric \"", floor.metric, "\" (its metrics: ", known, ")");
    }
    ASSIGN_OR_RETURN(floor.threshold, ParamDouble(context, name, -kAnyNumber, kAnyNumber));
    floors.push_back(std::move(floor));
  }
  return floors;
}

// Decides the verdict of `report` (candidate and baseline metrics filled in) and
// returns the step's note: the verdict, the comparison (or "no baseline") and each
// failed check.
std::string Judge(EvaluationReport& report, const Baseline& baseline) {
  std::vector<std::string> passes;
  std::vector<std::string> failures;
  const std::string& m = report.metric;
  const std::optional<double> candidate = report.candidate.at(m);
  std::string headline;
  if (baseline.version) {
    const std::optional<double> base = report.baseline.at(m);
    headline = Cat(m, " ", Number(candidate), " vs ", baseline.described, " ", Number(base));
    if (!candidate || !base) {
      headline += Cat(" (", m, " is undefined on these rows)");
      failures.push_back(headline);
    } else {
      report.improvement = report.higher_is_better ? *candidate - *base : *base - *candidate;
      const bool enough = *report.improvement >= report.min_improvement;
      headline += fmt::format(" ({:+.4g} {} {:g})", *report.improvement, enough ? ">=" : "<",
                              report.min_improvement);
      (enough ? passes : failures).push_back(headline);
    }
  } else {
    headline = Cat(m, " ", Number(candidate), ", no baseline (", baseline.none_reason, ")");
    passes.push_back(Cat("no baseline (", baseline.none_reason, "): the floors decide"));
  }
  for (FloorCheck& floor : report.floors) {
    floor.value = report.candidate.at(floor.metric);
    floor.passed = floor.value && (floor.is_min ? *floor.value >= floor.threshold
                                                : *floor.value <= floor.threshold);
    const std::string bound = Cat(floor.is_min ? "min_" : "max_", floor.metric, " ",
                                  fmt::format("{:g}", floor.threshold));
    if (!floor.value) {
      failures.push_back(Cat(floor.metric, " is undefined on these rows: ", bound, " fails"));
    } else if (floor.passed) {
      passes.push_back(Cat(floor.metric, " ", Number(floor.value), " passes ", bound));
    } else {
      failures.push_back(
          Cat(floor.metric, " ", Number(floor.value), floor.is_min ? " below " : " above ", bound));
    }
  }
  report.blessed = failures.empty();
  report.reasons = report.blessed ? passes : failures;
  std::string note = Cat(report.blessed ? "blessed: " : "not blessed: ", headline);
  for (const std::string& failure : failures) {
    if (failure != headline) note += Cat("; ", failure);
  }
  return note;
}

}  // namespace

absl::StatusOr<StepOutcome> RunEvaluateStep(StepContext& context) {
  ASSIGN_OR_RETURN(const std::string label, ParamText(context, "label"));
  ASSIGN_OR_RETURN(const double min_improvement,
                   ParamDouble(context, "min_improvement", -kAnyNumber, kAnyNumber));
  ASSIGN_OR_RETURN(const Baseline baseline, FindBaseline(context));

  STEP_ASSIGN_OR_RETURN(context, const std::filesystem::path model_file,
                        context.InputFile("model"));
  STEP_ASSIGN_OR_RETURN(
      context, const std::string bytes,
      core::ReadFileToString(model_file, registry::RegisterOptions::kMaxArtifactBytes));
  STEP_ASSIGN_OR_RETURN(context, const ScoringModel candidate,
                        LoadScoringModel("the candidate", bytes, {}, context.threads()));
  std::optional<ScoringModel> base;
  if (baseline.version) {
    ASSIGN_OR_RETURN(base, LoadBaseline(context, *baseline.version));
    if (base->family != candidate.family) {
      return StepInvalid(context, "the candidate is a ", ObjectiveFamilyName(candidate.family),
                         " model (", candidate.booster->config().objective, ") but ",
                         baseline.described, " is a ", ObjectiveFamilyName(base->family),
                         " model (", base->booster->config().objective,
                         "): they cannot be compared");
    }
  }

  EvaluationReport report;
  report.metric = OptionalParamText(context, "metric")
                      .value_or(std::string(FamilyMetrics(candidate.family).front()));
  const auto metrics = FamilyMetrics(candidate.family);
  if (std::find(metrics.begin(), metrics.end(), report.metric) == metrics.end()) {
    return StepInvalid(context, "param metric: a ", ObjectiveFamilyName(candidate.family),
                       " model has no metric \"", report.metric, "\"");
  }
  report.higher_is_better = MetricHigherIsBetter(report.metric);
  report.min_improvement = min_improvement;
  ASSIGN_OR_RETURN(report.floors, ReadFloors(context, candidate.family));

  STEP_ASSIGN_OR_RETURN(context, const dataset::VersionRecord test, context.InputDataset("test"));
  std::vector<const ScoringModel*> models = {&candidate};
  if (base) models.push_back(&*base);
  STEP_ASSIGN_OR_RETURN(context, LabelledRows rows,
                        ReadLabelledRows(context.services().datasets, test, label, models));
  if (const std::optional<std::string> recent = OptionalParamText(context, "recent")) {
    const absl::StatusOr<std::chrono::milliseconds> window = alerts::ParseDuration(*recent);
    if (!window.ok() || window->count() <= 0) {
      return StepInvalid(context, "param recent: \"", *recent,
                         "\" is not a duration such as 12h or 2d");
    }
    const std::string time_column =
        OptionalParamText(context, "time_column").value_or("event_timestamp");
    STEP_ASSIGN_OR_RETURN(
        context, rows,
        KeepRecentRows(context.services().datasets, test, time_column,
                       std::chrono::duration_cast<std::chrono::microseconds>(*window), rows));
    if (rows.rows == 0) {
      return StepInvalid(context, "param recent: no test rows in the last ", *recent);
    }
  }
  report.rows = rows.rows;
  STEP_ASSIGN_OR_RETURN(context, report.candidate, ScoreModel(candidate, rows));
  if (base) {
    STEP_ASSIGN_OR_RETURN(context, report.baseline, ScoreModel(*base, rows));
    report.baseline_model = baseline.version->Ref();
  }
  const std::string note = Judge(report, baseline);

  const std::filesystem::path file = context.work_dir() / "evaluation.json";
  STEP_RETURN_IF_ERROR(
      context, core::WriteFileAtomically(file, EvaluationReportToJson(report).dump(2) + "\n"));
  STEP_RETURN_IF_ERROR(context, context.OutputFile("evaluation", file));
  tracking::RunBatch batch;
  for (const auto& [prefix, values] :
       {std::pair{"candidate_", &report.candidate}, std::pair{"baseline_", &report.baseline}}) {
    for (const auto& [name, value] : *values) {
      if (value) batch.metrics.push_back({Cat(prefix, name), *value, 0, 0});
    }
  }
  if (report.improvement) batch.metrics.push_back({"improvement", *report.improvement, 0, 0});
  batch.metrics.push_back({"blessed", report.blessed ? 1.0 : 0.0, 0, 0});
  STEP_RETURN_IF_ERROR(context, context.Log(batch));
  return StepOutcome{false, note};
}

}  // namespace ferry::pipeline
