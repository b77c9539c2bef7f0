#pragma once

// Shared by the `ferry pipeline` command files: pipeline_command.cc (check, apply, list,
// show, logs, triggers) and pipeline_run_command.cc (run, reproduce, cancel).

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/cli.h"
#include "pipeline/pipeline_services.h"
#include "pipeline/pipeline_spec.h"
#include "store/workspace.h"

namespace ferry::cli {

struct OpenedPipelines {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<pipeline::PipelineServices> services;  // over *workspace
};
absl::StatusOr<OpenedPipelines> OpenPipelines(CliContext& context,
                                              const std::filesystem::path& spec_dir);

// A pipeline to run: a file (when `what` names one) or a pipeline applied to the
// workspace by name.
struct LoadedSpec {
  pipeline::PipelineSpec spec;
  std::string yaml;
  std::string source;
  std::filesystem::path dir;  // absolute
};
absl::StatusOr<LoadedSpec> LoadSpecFile(CliContext& context, const std::string& file);

// Adds run, reproduce and cancel under `pipeline`.
void AddPipelineRunVerbs(CLI::App& pipeline, CliContext& context, absl::Status* result);

}  // namespace ferry::cli
