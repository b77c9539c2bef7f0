#include "pipeline/pipeline_services.h"

#include "core/status.h"

namespace ferry::pipeline {

absl::StatusOr<std::unique_ptr<PipelineServices>> PipelineServices::Open(
    store::Workspace& workspace, const std::filesystem::path& spec_dir) {
  auto s = std::make_unique<PipelineServices>();
  ASSIGN_OR_RETURN(s->datasets, dataset::DatasetStore::Open(workspace));
  ASSIGN_OR_RETURN(s->features, features::FeatureRegistry::Open(workspace, *s->datasets));
  ASSIGN_OR_RETURN(s->tracking, tracking::TrackingStore::Open(workspace, *s->datasets));
  ASSIGN_OR_RETURN(s->registry, registry::ModelRegistry::Open(workspace, *s->datasets, *s->features,
                                                              *s->tracking));
  ASSIGN_OR_RETURN(s->runs, PipelineRunStore::Open(workspace));
  s->steps = std::make_unique<StepServices>(
      StepServices{workspace, *s->datasets, *s->tracking, *s->features, *s->registry, spec_dir});
  return s;
}

}  // namespace ferry::pipeline
