#include "api/routes.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "api/alert_routes.h"
#include "api/auth_routes.h"
#include "api/dataset_routes.h"
#include "api/feature_routes.h"
#include "api/inference_routes.h"
#include "api/metrics_routes.h"
#include "api/model_routes.h"
#include "api/pipeline_routes.h"
#include "api/rollout_routes.h"
#include "core/build_info.h"
#include "core/clock.h"
#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "server/health_routes.h"
#include "store/leadership.h"
#include "store/postgres_metadata_store.h"
#include "ui/ui_routes.h"

namespace ferry::api {

absl::StatusOr<std::shared_ptr<server::Router>> BuildRouter(
    store::Workspace& workspace, std::shared_ptr<std::atomic<bool>> ready,
    const PipelineRunnerOptions& pipelines) {
  auto router = std::make_shared<server::Router>();
  // Triton's binary tensor extension is served by the inference routes.
  RETURN_IF_ERROR(
      server::AddHealthRoutes(*router, [ready] { return ready->load(); }, {"binary_tensor_data"}));
  // The singleton duties (rollout analysis, alert evaluation, pipeline triggers) run on
  // one server of those sharing the workspace: the elected leader.
  store::Leadership::Options election;
  election.holder = core::Cat(core::HostName(), ":", ::getpid());
  ASSIGN_OR_RETURN(std::shared_ptr<store::Leadership> leadership,
                   store::Leadership::Open(workspace, election));
  leadership->Start();
  RETURN_IF_ERROR(router->Get("/api/v1/workspace", [&workspace, leadership](server::Request&) {
    nlohmann::json info{
        {"workspace_id", workspace.id()},
        {"created_at", core::FormatTimestamp(workspace.created_at_micros())},
        {"ferry_version", core::kFerryVersion},
        // A PostgreSQL URL as libpq reads it, less anything but user, host, port and
        // database: config.yaml refuses a password, but the URL is shown to any caller.
        {"metadata", store::IsPostgresUrl(workspace.config().metadata)
                         ? store::DescribePostgresUrl(workspace.config().metadata)
                         : workspace.config().metadata},
        {"online_store", workspace.config().online_store},
        {"server", {{"holder", leadership->holder()}, {"leads", leadership->leading()}}},
    };
    absl::StatusOr<std::optional<store::Leadership::Leader>> leader = leadership->CurrentLeader();
    if (leader.ok() && leader->has_value()) {
      info["leader"] = {{"holder", (*leader)->holder},
                        {"term", (*leader)->term},
                        {"since", core::FormatTimestamp((*leader)->since)}};
    }
    return absl::StatusOr<server::Response>(server::JsonResponse(info));
  }));
  RETURN_IF_ERROR(AddAuthRoutes(*router, workspace));
  RETURN_IF_ERROR(AddDatasetRoutes(*router, workspace));
  // The online store is opened now; if another process holds it, the feature routes say
  // so (503) and retry until it is free.
  auto online = std::make_shared<features::SharedOnlineStore>(
      [&workspace] { return features::OpenOnlineStore(workspace); });
  if (absl::StatusOr<features::OnlineStore*> opened = online->Get(); !opened.ok()) {
    spdlog::warn("features: {}", core::View(opened.status().message()));
  }
  RETURN_IF_ERROR(AddFeatureRoutes(*router, workspace, online));
  // Serving: endpoints follow the deployments in the metadata store; enrichment reads
  // the same online store in-process.
  ASSIGN_OR_RETURN(std::shared_ptr<ServingApi> serving, OpenServing(workspace, online, leadership));
  RETURN_IF_ERROR(AddInferenceRoutes(*router, workspace, serving));
  RETURN_IF_ERROR(AddRolloutRoutes(*router, serving));
  // Alerting: rules evaluated over the same metrics GET /metrics exports, which then adds
  // the alerts' own families.
  ASSIGN_OR_RETURN(std::shared_ptr<alerts::AlertEvaluator> alerting,
                   OpenAlerts(workspace, serving, leadership));
  RETURN_IF_ERROR(AddAlertRoutes(*router, alerting));
  RETURN_IF_ERROR(
      AddMetricsRoutes(*router, std::move(serving), [alerting, leadership](std::string& out) {
        AppendAlertMetrics(*alerting, out);
        out += core::Cat(
            "# HELP ferry_leader Whether this server is the elected leader of its workspace (runs"
            " rollout analysis, alert evaluation and pipeline triggers).\n"
            "# TYPE ferry_leader gauge\nferry_leader ",
            leadership->leading() ? 1 : 0, "\n");
      }));
  // Tracking (/api/v1/experiments, /api/v1/runs) and the registry (/api/v1/models).
  RETURN_IF_ERROR(AddModelRoutes(*router, workspace));
  // Pipelines (/api/v1/pipelines, /api/v1/pipeline-runs) and the runner of their triggers,
  // which starts and stops with the router.
  PipelineRunnerOptions runner = pipelines;
  runner.triggers.leadership = leadership;
  ASSIGN_OR_RETURN(std::shared_ptr<PipelinesApi> pipelines_api, OpenPipelines(workspace, runner));
  RETURN_IF_ERROR(AddPipelineRoutes(*router, std::move(pipelines_api)));
  // The dashboard (/ui/): static files only; it reads everything through the routes above.
  RETURN_IF_ERROR(ui::AddUiRoutes(*router));
  return router;
}

}  // namespace ferry::api
