#pragma once

// PipelineServices: the stores a pipeline run uses, opened together over one workspace
// (datasets, features, tracking, the registry, the run store), and the StepServices view
// of them that steps get.
//
// Thread-safety: the stores are safe for concurrent use; the struct is built once.

#include <filesystem>
#include <memory>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "pipeline/run_store.h"
#include "pipeline/step_context.h"
#include "registry/model_registry.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace ferry::pipeline {

struct PipelineServices {
  std::unique_ptr<dataset::DatasetStore> datasets;
  std::unique_ptr<features::FeatureRegistry> features;
  std::unique_ptr<tracking::TrackingStore> tracking;
  std::unique_ptr<registry::ModelRegistry> registry;
  std::unique_ptr<PipelineRunStore> runs;
  std::unique_ptr<StepServices> steps;

  // Opens every store over `workspace` (which must outlive the result); `spec_dir` is
  // where the run's relative paths resolve.
  static absl::StatusOr<std::unique_ptr<PipelineServices>> Open(
      store::Workspace& workspace, const std::filesystem::path& spec_dir);
};

}  // namespace ferry::pipeline
