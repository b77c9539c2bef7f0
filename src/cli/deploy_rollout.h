#pragma once

// The rollout half of `ferry deploy` (deploy_command.cc owns the endpoint half):
//   ferry deploy ENDPOINT --canary NAME@V | --shadow NAME@V [policy flags] [--policy FILE]
//   ferry deploy promote|rollback|pause|resume ENDPOINT [--actor A] [--reason R]
// and the rollout section of `ferry deploy status ENDPOINT`.

#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/cli.h"
#include "store/workspace.h"

namespace ferry::cli {

struct RolloutFlags {
  std::string canary;  // NAME@V
  std::string shadow;  // NAME@V
  std::string policy_file;
  std::map<std::string, std::string> values;  // policy key -> flag text, for given flags
  std::vector<std::string> webhooks;
  bool requested() const { return !canary.empty() || !shadow.empty(); }
};

// Adds --canary, --shadow, --policy and one flag per policy key to `deploy`.
void AddRolloutFlags(CLI::App& deploy, RolloutFlags& flags);

// Starts the rollout the flags ask for (flags override --policy's file).
absl::Status RunStartRollout(CliContext& context, CLI::App& deploy, const std::string& endpoint,
                             const RolloutFlags& flags, const std::string& actor, bool as_json);

// Adds the verbs promote, rollback, pause and resume under `deploy`.
void AddRolloutVerbs(CLI::App& deploy, CliContext& context, absl::Status* result);

// The endpoint's latest rollout, if any: printed (`text`) or added to `json` as "rollout"
// and "rollout_events".
absl::Status PrintRolloutStatus(store::Workspace& workspace, const std::string& endpoint,
                                std::ostream* text, nlohmann::json* json);

}  // namespace ferry::cli
