// The training-set step (builtin_steps.h): historical retrieval (features/
// historical_retrieval.h) of a feature service for the `entities` input, written to the
// step's folder and handed back as a dataset version with the lineage the retrieval
// records, so the executor stores it (or, reproducing, compares it).

#include "core/strings.h"
#include "dataset/dataset_ref.h"
#include "features/feature_registry.h"
#include "features/historical_retrieval.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/step_errors.h"

namespace ferry::pipeline {

using core::Cat;

absl::StatusOr<StepOutcome> RunTrainingSetStep(StepContext& context) {
  ASSIGN_OR_RETURN(const std::string service, ParamText(context, "features"));
  ASSIGN_OR_RETURN(const bool full_names, ParamBool(context, "full_feature_names"));
  const std::string dataset = OptionalParamText(context, "dataset")
                                  .value_or(Cat(context.pipeline_name(), "_", context.step().id));
  STEP_RETURN_IF_ERROR(context, dataset::ValidateDatasetName(dataset));
  STEP_ASSIGN_OR_RETURN(context, const dataset::VersionRecord entities,
                        context.InputDataset("entities"));
  StepServices& services = context.services();

  features::HistoricalOptions options;
  options.entities = entities.Ref();
  options.entities_display = entities.Ref();
  STEP_ASSIGN_OR_RETURN(context, options.selection, services.features.SelectService(service));
  options.full_feature_names = full_names;
  options.threads = context.threads();
  // Named as RetrieveHistorical names the file it stores: the version records it.
  const std::filesystem::path file = context.work_dir() / Cat(dataset, ".csv");
  STEP_ASSIGN_OR_RETURN(
      context, features::TrainingSetFile written,
      features::WriteTrainingSetFile(services.workspace, services.datasets, options, file));

  DatasetOutputOptions output;
  output.dataset = dataset;
  output.message = written.message;
  output.derived_from = std::move(written.derived_from);
  STEP_ASSIGN_OR_RETURN(context, const dataset::VersionRecord version,
                        context.OutputDataset("data", file, output));

  tracking::RunBatch batch;
  batch.metrics.push_back({"rows", static_cast<double>(written.rows), 0, 0});
  for (const features::ViewReport& view : written.views) {
    batch.metrics.push_back(
        {Cat("matched.", view.view), static_cast<double>(view.stats.matched), 0, 0});
  }
  STEP_RETURN_IF_ERROR(context, context.Log(batch));
  return StepOutcome{false, Cat("training set ", version.Ref(), ": ", written.rows, " rows, ",
                                written.columns.size(), " columns from feature service ", service)};
}

}  // namespace ferry::pipeline
