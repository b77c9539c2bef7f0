// The deploy-canary step (builtin_steps.h): a canary rollout (serving/rollout_store.h) of
// the `model_version` input on `endpoint`, unless the `evaluation` says not blessed, the
// run is a reproduction, or the endpoint serves that version already. The policy is the
// `policy` file's (a path inside the pipeline's folder) with `policy.KEY` params over
// it; the output `rollout` is the started rollout as `ferry deploy --json` prints it.

#include <nlohmann/json.hpp>
#include <optional>

#include "core/file.h"
#include "core/strings.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_errors.h"
#include "serving/deployment_store.h"
#include "serving/rollout_store.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr size_t kMaxPolicyBytes = size_t{1} << 20;
constexpr std::string_view kPolicyPrefix = "policy.";

// The policy file's: refused unless `path` is relative and stays inside the pipeline's
// folder (no ".." parts), so a pipeline file names no other file on the machine.
absl::StatusOr<serving::RolloutPolicy> ReadPolicyFile(StepContext& context,
                                                      const std::string& path) {
  if (!IsPlainRelativePath(path)) {
    return StepInvalid(context, "param policy: \"", path,
                       "\" must be a path inside the pipeline's folder (relative, without an"
                       " empty, \".\" or \"..\" part, a backslash or a control character)");
  }
  const std::filesystem::path relative(path);
  STEP_ASSIGN_OR_RETURN(
      context, const std::string text,
      core::ReadFileToString(context.services().spec_dir / relative, kMaxPolicyBytes));
  absl::StatusOr<serving::RolloutPolicy> policy = serving::ParseRolloutPolicyYaml(text, path);
  if (!policy.ok()) {
    return StepInvalid(context, "param policy: ", core::View(policy.status().message()));
  }
  return policy;
}

absl::StatusOr<serving::RolloutPolicy> ReadPolicy(StepContext& context) {
  serving::RolloutPolicy policy;
  if (const std::optional<std::string> path = OptionalParamText(context, "policy")) {
    ASSIGN_OR_RETURN(policy, ReadPolicyFile(context, *path));
  }
  for (const auto& [name, text] : context.params()) {
    if (!name.starts_with(kPolicyPrefix)) continue;
    const absl::Status set =
        serving::SetRolloutPolicyField(policy, name.substr(kPolicyPrefix.size()), text);
    if (!set.ok()) return StepInvalid(context, "param ", name, ": ", core::View(set.message()));
  }
  const absl::Status valid = serving::ValidateRolloutPolicy(policy);
  if (!valid.ok()) return StepInvalid(context, "the rollout policy: ", core::View(valid.message()));
  return policy;
}

// What `endpoint` serves now: nullopt when there is no such endpoint, else whether it
// is `candidate`.
absl::StatusOr<std::optional<bool>> Serves(store::Workspace& workspace,
                                           const std::string& endpoint,
                                           const registry::ModelRef& candidate) {
  ASSIGN_OR_RETURN(auto deployments, serving::DeploymentStore::Open(workspace));
  ASSIGN_OR_RETURN(const std::vector<serving::ResolvedDeployment> resolved, deployments->Resolve());
  for (const serving::ResolvedDeployment& r : resolved) {
    if (r.deployment.endpoint != endpoint) continue;
    return r.deployment.model.name == candidate.name && r.version == candidate.version;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<StepOutcome> RunDeployCanaryStep(StepContext& context) {
  ASSIGN_OR_RETURN(const std::string endpoint, ParamText(context, "endpoint"));
  ASSIGN_OR_RETURN(serving::RolloutPolicy policy, ReadPolicy(context));
  ASSIGN_OR_RETURN(const std::optional<EvaluationVerdict> verdict, ReadEvaluationInput(context));
  if (verdict && !verdict->blessed) return StepOutcome{true, NotBlessedNote(*verdict)};
  if (context.reproducing()) return StepOutcome{true, "not deployed while reproducing"};

  const StepValue& input = context.inputs().at("model_version");
  if (input.kind != ValueKind::kModel) {
    return StepInvalid(context, "input model_version (", input.ref, ") is ",
                       ValueKindName(input.kind), ", not a registered model version");
  }
  STEP_ASSIGN_OR_RETURN(context, const registry::ModelRef candidate,
                        registry::ParseModelRef(input.ref));
  store::Workspace& workspace = context.services().workspace;
  STEP_ASSIGN_OR_RETURN(context, const std::optional<bool> serves,
                        Serves(workspace, endpoint, candidate));
  if (!serves) {
    // A pipeline's first model has nothing to be a canary against: the first deployment
    // is a person's decision (and a misspelt endpoint shows here, not as a new one).
    return StepOutcome{true, Cat("endpoint ", endpoint, " does not exist: deploy a first version "
                                 "with `ferry deploy ", endpoint, " --model ", input.ref, "`")};
  }
  if (*serves) {
    return StepOutcome{true, Cat("endpoint ", endpoint, " already serves ", input.ref)};
  }

  serving::StartRolloutOptions options;
  options.endpoint = endpoint;
  options.candidate = candidate;
  options.kind = serving::RolloutKind::kCanary;
  options.policy = std::move(policy);
  options.actor = context.actor();
  STEP_ASSIGN_OR_RETURN(context, auto rollouts, serving::RolloutStore::Open(workspace));
  STEP_ASSIGN_OR_RETURN(context, const serving::Rollout rollout, rollouts->Start(options));
  const std::filesystem::path file = context.work_dir() / "rollout.json";
  STEP_RETURN_IF_ERROR(
      context, core::WriteFileAtomically(file, serving::RolloutToJson(rollout).dump(2) + "\n"));
  STEP_RETURN_IF_ERROR(context, context.OutputFile("rollout", file));
  return StepOutcome{false, Cat("canary of ", rollout.CandidateRef(), " on endpoint ", endpoint,
                                " started at ", rollout.state.weight, "%")};
}

}  // namespace ferry::pipeline
