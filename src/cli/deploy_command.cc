// `ferry deploy ENDPOINT --model REF | list | status ENDPOINT | delete ENDPOINT`: serving
// endpoints, kept in the workspace (serving::DeploymentStore) for `ferry server` to serve.
// Rollouts (`--canary`, `--shadow`, promote, rollback, pause, resume): deploy_rollout.h.

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/deploy_rollout.h"
#include "server/http_client.h"
#include "cli/output.h"
#include "cli/registry_commands.h"
#include "cli/server_client.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/feature_definitions.h"
#include "serving/deployment_store.h"

namespace ferry::cli {
namespace {


using core::Cat;
using nlohmann::json;
using serving::Deployment;
using serving::ResolvedDeployment;

constexpr std::chrono::seconds kServerTimeout{5};

struct OpenedDeployments {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<serving::DeploymentStore> deployments;  // refers to *workspace
};

absl::StatusOr<OpenedDeployments> OpenDeployments(CliContext& context) {
  OpenedDeployments opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.deployments, serving::DeploymentStore::Open(*opened.workspace));
  return opened;
}

// The endpoint with the version it resolves to now. NotFound.
absl::StatusOr<ResolvedDeployment> ResolveEndpoint(const serving::DeploymentStore& deployments,
                                                   std::string_view endpoint) {
  ASSIGN_OR_RETURN(auto all, deployments.Resolve());
  for (ResolvedDeployment& r : all) {
    if (r.deployment.endpoint == endpoint) return std::move(r);
  }
  absl::Status missing = deployments.Get(endpoint).status();  // NotFound, worded by the store
  if (missing.ok())
    return absl::UnavailableError(Cat("endpoint ", endpoint, " changed; try again"));
  return missing;
}

std::string VersionText(const ResolvedDeployment& r) {
  return r.version ? Cat(*r.version) : std::string("unresolved");
}

constexpr size_t kMaxMonitoringPolicyBytes = 1 << 20;

struct DeployFlags {
  std::string endpoint;
  std::string model;
  std::string missing_features = "error";
  std::string monitoring;  // a policy file; empty: keep the endpoint's
  std::string actor;
  bool json = false;
  RolloutFlags rollout;
};

absl::Status RunDeploy(CliContext& context, CLI::App& deploy, const DeployFlags& flags) {
  if (flags.endpoint.empty()) {
    return absl::InvalidArgumentError(
        "usage: ferry deploy ENDPOINT --model NAME@V|NAME@ALIAS, ferry deploy ENDPOINT"
        " --canary|--shadow NAME@V, or ferry deploy"
        " list|status|delete|promote|rollback|pause|resume (see `ferry deploy --help`)");
  }
  if (flags.rollout.requested()) {
    if (!flags.model.empty()) {
      return absl::InvalidArgumentError(
          "give --model (point the endpoint) or --canary/--shadow (start a rollout), not both");
    }
    RETURN_IF_ERROR(serving::ValidateEndpointName(flags.endpoint));
    return RunStartRollout(context, deploy, flags.endpoint, flags.rollout,
                           Actor(context, flags.actor), flags.json);
  }
  if (flags.model.empty()) {
    return absl::InvalidArgumentError(
        Cat("ferry deploy ", flags.endpoint, " needs --model NAME@V or NAME@ALIAS"));
  }
  serving::DeployOptions options;
  options.endpoint = flags.endpoint;
  RETURN_IF_ERROR(serving::ValidateEndpointName(options.endpoint));
  ASSIGN_OR_RETURN(options.model, registry::ParseModelRef(flags.model));
  ASSIGN_OR_RETURN(options.missing_features,
                   serving::ParseMissingFeaturePolicy(flags.missing_features));
  options.actor = Actor(context, flags.actor);
  ASSIGN_OR_RETURN(OpenedDeployments opened, OpenDeployments(context));
  if (!flags.monitoring.empty()) {
    ASSIGN_OR_RETURN(std::string yaml,
                     core::ReadFileToString(context.env().current_dir / flags.monitoring,
                                            kMaxMonitoringPolicyBytes));
    ASSIGN_OR_RETURN(options.monitoring,
                     monitoring::ParseMonitoringPolicyYaml(yaml, flags.monitoring));
  } else if (absl::StatusOr<Deployment> existing = opened.deployments->Get(options.endpoint);
             existing.ok()) {
    options.monitoring = existing->monitoring;  // a new model keeps the endpoint's policy
  }
  ASSIGN_OR_RETURN(Deployment deployment, opened.deployments->Put(options));
  ASSIGN_OR_RETURN(ResolvedDeployment resolved,
                   ResolveEndpoint(*opened.deployments, deployment.endpoint));
  if (flags.json) {
    context.out() << serving::ResolvedDeploymentToJson(resolved).dump() << "\n";
    return absl::OkStatus();
  }
  context.out() << "endpoint " << deployment.endpoint << " -> " << deployment.model.ToString()
                << " (version " << VersionText(resolved) << "), missing features: "
                << serving::MissingFeaturePolicyName(deployment.missing_features) << "\n";
  return absl::OkStatus();
}

absl::Status RunList(CliContext& context, bool as_json) {
  ASSIGN_OR_RETURN(OpenedDeployments opened, OpenDeployments(context));
  ASSIGN_OR_RETURN(auto all, opened.deployments->Resolve());
  if (as_json) {
    json out = json::array();
    for (const ResolvedDeployment& r : all) out.push_back(serving::ResolvedDeploymentToJson(r));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  if (all.empty()) {
    context.out() << "no endpoints yet; `ferry deploy ENDPOINT --model NAME@ALIAS` adds one\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"ENDPOINT", "MODEL", "VERSION", "MISSING FEATURES", "UPDATED", "BY"}};
  for (const ResolvedDeployment& r : all) {
    const Deployment& d = r.deployment;
    rows.push_back({d.endpoint, d.model.ToString(), VersionText(r),
                    std::string(serving::MissingFeaturePolicyName(d.missing_features)),
                    core::FormatTimestamp(d.updated_at).substr(0, 19), d.updated_by});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

void PrintServerAnswer(std::ostream& out, const std::string& url, const json& answer) {
  if (answer.contains("reachable")) {
    out << "server not reachable at " << url << " (" << answer["error"].get<std::string>() << ")\n";
    return;
  }
  if (answer.contains("http_status")) {
    out << "server at " << url << " answered " << answer["http_status"].get<int>() << ": "
        << answer["error"].get<std::string>() << "\n";
    return;
  }
  // GET /api/v1/endpoints/{endpoint} (src/api/inference_routes.cc): what the server
  // loaded, and why it is not serving its target when it is not.
  const auto text = [&answer](const char* key) -> std::string {
    auto it = answer.find(key);
    if (it == answer.end() || it->is_null()) return "-";
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  out << "server at " << url << "\n";
  out << "  state             " << text("state") << "\n";
  out << "  serving           version " << text("version") << " (target " << text("target_version")
      << ")\n";
  if (answer.contains("evaluator")) {
    out << "  evaluator         " << text("evaluator") << ", " << text("objective") << "\n";
    out << "  loaded            " << text("loaded_at") << "\n";
  }
  auto reason = answer.find("reason");
  if (reason != answer.end() && reason->is_string() &&
      !reason->get_ref<const std::string&>().empty()) {
    out << "  reason            " << text("reason") << "\n";
  }
}

absl::Status RunStatus(CliContext& context, const std::string& endpoint, const std::string& url,
                       bool as_json) {
  ASSIGN_OR_RETURN(OpenedDeployments opened, OpenDeployments(context));
  ASSIGN_OR_RETURN(ResolvedDeployment r, ResolveEndpoint(*opened.deployments, endpoint));
  std::optional<json> server;
  if (!url.empty()) {
    ASSIGN_OR_RETURN(server, GetFromServer(url, Cat("/api/v1/endpoints/", endpoint), kServerTimeout,
                                           context.env().token));
  }
  if (as_json) {
    json out = serving::ResolvedDeploymentToJson(r);
    if (server) out["server"] = *server;
    RETURN_IF_ERROR(PrintRolloutStatus(*opened.workspace, endpoint, nullptr, &out));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  const Deployment& d = r.deployment;
  std::ostream& out = context.out();
  out << "endpoint " << d.endpoint << "\n";
  out << "  model             " << d.model.ToString() << "\n";
  out << "  version           " << VersionText(r);
  if (r.version) out << " (" << r.flavor << ", artifact sha256:" << r.artifact_digest << ")";
  out << "\n";
  out << "  missing features  " << serving::MissingFeaturePolicyName(d.missing_features) << "\n";
  const monitoring::WindowSpec& window = d.monitoring.window;
  out << "  monitoring        window "
      << (window.kind == monitoring::WindowSpec::Kind::kTime
              ? features::FormatDuration(window.duration.count())
              : Cat(window.rows, " rows"))
      << " in " << window.slices << " slices, " << d.monitoring.features.size()
      << " feature rule(s)\n";
  out << "  generation        " << d.generation << "\n";
  out << "  updated           " << core::FormatTimestamp(d.updated_at).substr(0, 19) << " by "
      << d.updated_by << "\n";
  RETURN_IF_ERROR(PrintRolloutStatus(*opened.workspace, endpoint, &out, nullptr));
  if (server) PrintServerAnswer(out, url, *server);
  return absl::OkStatus();
}

absl::Status RunDelete(CliContext& context, const std::string& endpoint) {
  ASSIGN_OR_RETURN(OpenedDeployments opened, OpenDeployments(context));
  RETURN_IF_ERROR(opened.deployments->Delete(endpoint));
  context.out() << "deleted endpoint " << endpoint << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddDeployCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* deploy = app.add_subcommand(
      "deploy",
      "Serve a model on an endpoint: ferry deploy ENDPOINT --model NAME@ALIAS|NAME@V;"
      " roll out a new version: ferry deploy ENDPOINT --canary|--shadow NAME@V;"
      " list, status, delete, promote, rollback, pause, resume");
  // Either one of the verbs below, or the deploy itself with its ENDPOINT positional:
  // CLI11 recognises a verb before it fills a positional, and endpoint names exclude the
  // verbs (serving::ValidateEndpointName), so the two never mix.
  deploy->require_subcommand(0, 1);

  auto flags = std::make_shared<DeployFlags>();
  deploy->add_option("ENDPOINT", flags->endpoint, "Endpoint name (appears in URLs)");
  deploy->add_option("--model,-m", flags->model,
                     "NAME@ALIAS (the endpoint follows the alias) or NAME@V (pinned)");
  deploy->add_option("--missing-features", flags->missing_features,
                     "A feature neither sent nor in the online store: error (400) or missing"
                     " (NaN)");
  deploy->add_option("--monitoring", flags->monitoring,
                     "Monitoring policy YAML: drift window, methods, thresholds (docs/monitoring.md);"
                     " without it the endpoint keeps its policy");
  deploy->add_option("--actor", flags->actor, "Who deploys (default: $USER)");
  deploy->add_flag("--json", flags->json, "Print the deployment (or rollout) as JSON");
  AddRolloutFlags(*deploy, flags->rollout);
  deploy->callback([&context, result, deploy, flags] {
    if (!deploy->get_subcommands().empty()) return;  // a verb ran
    *result = RunDeploy(context, *deploy, *flags);
  });

  CLI::App* list = deploy->add_subcommand("list", "List endpoints and the versions they serve");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, list_json] { *result = RunList(context, *list_json); });

  CLI::App* status = deploy->add_subcommand(
      "status", "Show an endpoint, the version it serves and (--server) what the server says");
  auto status_endpoint = std::make_shared<std::string>();
  auto status_server = std::make_shared<std::string>();
  auto status_json = std::make_shared<bool>(false);
  status->add_option("ENDPOINT", *status_endpoint, "Endpoint name")->required();
  status->add_option("--server", *status_server,
                     "URL of a running `ferry server`, e.g. http://127.0.0.1:8080");
  status->add_flag("--json", *status_json, "Print JSON");
  status->callback([&context, result, status_endpoint, status_server, status_json] {
    *result = RunStatus(context, *status_endpoint, *status_server, *status_json);
  });

  CLI::App* del = deploy->add_subcommand(
      "delete", "Remove an endpoint (releasing the model version or alias it held)");
  auto del_endpoint = std::make_shared<std::string>();
  del->add_option("ENDPOINT", *del_endpoint, "Endpoint name")->required();
  del->callback([&context, result, del_endpoint] { *result = RunDelete(context, *del_endpoint); });

  AddRolloutVerbs(*deploy, context, result);
}

}  // namespace ferry::cli
