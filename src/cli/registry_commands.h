#pragma once

// Shared by the `ferry runs`, `ferry experiments` and `ferry models` command files.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "cli/cli.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "registry/model_registry.h"
#include "tracking/tracking_store.h"

namespace ferry::cli {

struct OpenedRegistry {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<dataset::DatasetStore> datasets;         // refer to *workspace
  std::unique_ptr<features::FeatureRegistry> features;
  std::unique_ptr<tracking::TrackingStore> tracking;
  std::unique_ptr<registry::ModelRegistry> models;
};

absl::StatusOr<OpenedRegistry> OpenRegistry(CliContext& context);

// "key=value" -> {key, value}. InvalidArgument naming `what` when there is no '='.
absl::StatusOr<std::pair<std::string, std::string>> SplitKeyValue(std::string_view text,
                                                                  std::string_view what);

// Who acts: the --actor flag, else $USER, else "unknown".
std::string Actor(const CliContext& context, const std::string& flag);

// models_command.cc: register, list, show, alias, tag, lineage, delete.
void AddModelsCommand(CLI::App& app, CliContext& context, absl::Status* result);
// runs_command.cc: runs create, log, finish, list, show; experiments list, create.
void AddRunsCommand(CLI::App& app, CliContext& context, absl::Status* result);
void AddExperimentsCommand(CLI::App& app, CliContext& context, absl::Status* result);

}  // namespace ferry::cli
