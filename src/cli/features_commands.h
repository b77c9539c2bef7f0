#pragma once

// Shared by the `ferry features` command files.

#include <CLI/CLI.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "cli/cli.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/materialization_log.h"

namespace ferry::cli {

struct OpenedFeatures {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<dataset::DatasetStore> datasets;      // refers to *workspace
  std::unique_ptr<features::FeatureRegistry> registry;  // refers to both
};

absl::StatusOr<OpenedFeatures> OpenFeatures(CliContext& context);

// features_historical_command.cc: historical.
void AddFeaturesHistoricalCommand(CLI::App& features, CliContext& context, absl::Status* result);

// features_online_command.cc: materialize, materialize-incremental, online.
void AddFeaturesOnlineCommands(CLI::App& features, CliContext& context, absl::Status* result);
// "2026-11-26T08:00:01 (up to 2026-01-28T00:00:00Z)", or "never"; with the view's current
// layout hash, says when its features changed since (its online values then read as
// NOT_FOUND until it is materialized again).
std::string MaterializationText(const std::optional<features::MaterializationRecord>& record,
                                std::string_view current_layout_sha256 = {});

}  // namespace ferry::cli
