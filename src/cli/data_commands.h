#pragma once

// Shared by the `ferry data` command files.

#include <CLI/CLI.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "cli/cli.h"
#include "dataset/dataset_store.h"

namespace ferry::cli {

struct OpenedDatasets {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<dataset::DatasetStore> datasets;  // refers to *workspace
};

absl::StatusOr<OpenedDatasets> OpenDatasets(CliContext& context);

// data_show_command.cc: show, diff.
void AddDataShowCommand(CLI::App& data, CliContext& context, absl::Status* result);
// data_add_command.cc: add, export, gc, verify.
void AddDataWriteCommands(CLI::App& data, CliContext& context, absl::Status* result);

}  // namespace ferry::cli
