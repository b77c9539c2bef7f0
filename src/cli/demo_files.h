#pragma once

// The files `ferry demo` writes into its workspace and applies: the fraud pipeline, its
// canary policy, the endpoint's monitoring policy and the alert rules -- the same YAML a
// user writes, kept next to the data so the demo's workspace can be read and re-run by
// hand. The feature definitions come from the world (demo/world.h).

#include <filesystem>
#include <string_view>

#include "absl/status/status.h"

namespace ferry::cli::demo_files {

inline constexpr std::string_view kEndpoint = "fraud";
inline constexpr std::string_view kModel = "fraud";
inline constexpr std::string_view kPipeline = "fraud_retrain";
inline constexpr std::string_view kService = "fraud_features";
inline constexpr std::string_view kDriftAlert = "FraudFeatureDrift";
inline constexpr std::string_view kQualityAlert = "FraudModelDegraded";

// Paths relative to the demo's root.
inline constexpr std::string_view kFeaturesFile = "features.yaml";
inline constexpr std::string_view kPipelineFile = "pipelines/fraud_retrain.yaml";
inline constexpr std::string_view kCanaryFile = "pipelines/canary.yaml";
inline constexpr std::string_view kMonitoringFile = "monitoring.yaml";
inline constexpr std::string_view kAlertsFile = "alerts.yaml";
inline constexpr std::string_view kConfigFile = ".ferry/config.yaml";

std::string_view PipelineYaml();
std::string_view CanaryPolicyYaml();
std::string_view MonitoringPolicyYaml();
std::string_view AlertRulesYaml();
// The workspace configuration: short real-time ticks (the simulated clock jumps between
// them), every row monitored, predictions kept for the whole run, no access log.
std::string_view ConfigYaml();

// Writes every file above (and the feature definitions) under `root`, each atomically.
absl::Status WriteDemoFiles(const std::filesystem::path& root);

}  // namespace ferry::cli::demo_files
