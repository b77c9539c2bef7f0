// The register step (builtin_steps.h): the `model` file as a new version of model
// `name`, unless the `evaluation` says not blessed or the run is a reproduction. The
// version's run is the run that made the model file (so lineage goes model version ->
// training run -> its datasets), its metrics the evaluation's, its reference statistics
// the `reference` input's (default: the training run's train input).

#include "core/strings.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/step_errors.h"
#include "registry/model_registry.h"

namespace ferry::pipeline {

using core::Cat;

absl::StatusOr<StepOutcome> RunRegisterStep(StepContext& context) {
  ASSIGN_OR_RETURN(const std::string name, ParamText(context, "name"));
  ASSIGN_OR_RETURN(const std::optional<EvaluationVerdict> verdict, ReadEvaluationInput(context));
  if (verdict && !verdict->blessed) return StepOutcome{true, NotBlessedNote(*verdict)};
  if (context.reproducing()) return StepOutcome{true, "not registered again while reproducing"};

  registry::RegisterOptions options;
  const StepValue& model = context.inputs().at("model");
  options.run_id = model.run_id;
  options.artifact_name = model.ref;
  if (const std::optional<std::string> service = OptionalParamText(context, "feature_service")) {
    options.signature = registry::Signature{*service, {}, {}};
  }
  options.description = OptionalParamText(context, "description").value_or("");
  if (verdict) options.metrics = verdict->candidate_metrics;
  if (context.inputs().contains("reference")) {
    STEP_ASSIGN_OR_RETURN(context, const dataset::VersionRecord reference,
                          context.InputDataset("reference"));
    options.reference_dataset = reference.Ref();
  }
  options.actor = context.actor();
  options.tags = {{"ferry.pipeline", context.pipeline_name()},
                  {"ferry.step_run", context.run_id()}};
  STEP_ASSIGN_OR_RETURN(context, const std::filesystem::path file, context.InputFile("model"));
  STEP_ASSIGN_OR_RETURN(context, const registry::ModelVersion version,
                        context.services().registry.Register(name, file, options));
  STEP_RETURN_IF_ERROR(context, context.OutputModel("model_version", version));
  return StepOutcome{false, Cat("registered ", version.Ref())};
}

}  // namespace ferry::pipeline
