#include "api/pipeline_routes.h"

#include <nlohmann/json.hpp>
#include <set>

#include "api/json_body.h"
#include "api/query_params.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/feature_definitions.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using pipeline::PipelineRunStore;
using server::Request;
using server::Response;

constexpr int64_t kDefaultLimit = 50;

absl::StatusOr<int64_t> Limit(const Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"limit"}));
  return query.GetInt("limit", kDefaultLimit, 1, PipelineRunStore::kMaxListedRuns);
}

json TriggersJson(const pipeline::AppliedPipeline& applied) {
  json triggers = json::array();
  absl::StatusOr<pipeline::PipelineSpec> spec =
      pipeline::ParsePipelineSpec(applied.spec, applied.source);
  if (!spec.ok()) return triggers;
  for (const pipeline::Trigger& t : spec->triggers) {
    triggers.push_back({{"kind", pipeline::TriggerKindName(t.kind)}, {"value", t.value}});
  }
  return triggers;
}

absl::StatusOr<Response> ListPipelines(PipelinesApi& api) {
  ASSIGN_OR_RETURN(std::vector<pipeline::AppliedPipeline> applied, api.runs->Applied());
  json out = json::array();
  for (const pipeline::AppliedPipeline& p : applied) {
    ASSIGN_OR_RETURN(std::vector<pipeline::RunRecord> last, api.runs->ListRuns(p.name, 1));
    out.push_back({{"name", p.name},
                   {"source", p.source},
                   {"spec_sha256", p.spec_sha256},
                   {"applied_at", core::FormatTimestamp(p.applied_at)},
                   {"applied_by", p.applied_by},
                   {"triggers", TriggersJson(p)},
                   {"last_run", last.empty() ? json(nullptr) : pipeline::RunToJson(last.front())}});
  }
  return server::JsonResponse(json{{"pipelines", std::move(out)}});
}

// The {name} of a pipeline route: InvalidArgument for a name no pipeline file can give
// (pipeline_spec.h), which no pipeline has.
absl::StatusOr<std::string_view> PipelineName(const Request& request) {
  const std::string_view name = request.PathParam("name");
  RETURN_IF_ERROR(features::ValidateObjectName("pipeline name", name));
  return name;
}

// NotFound unless the pipeline is applied or has runs (a file run by `ferry pipeline run`).
absl::Status CheckKnown(PipelinesApi& api, std::string_view name, bool has_records) {
  if (has_records) return absl::OkStatus();
  return api.runs->GetApplied(name).status();
}

absl::StatusOr<Response> ListRuns(PipelinesApi& api, Request& request) {
  ASSIGN_OR_RETURN(const std::string_view name, PipelineName(request));
  ASSIGN_OR_RETURN(int64_t limit, Limit(request));
  ASSIGN_OR_RETURN(std::vector<pipeline::RunRecord> runs, api.runs->ListRuns(name, limit));
  RETURN_IF_ERROR(CheckKnown(api, name, !runs.empty()));
  json out = json::array();
  for (const pipeline::RunRecord& run : runs) out.push_back(pipeline::RunToJson(run));
  return server::JsonResponse(json{{"runs", std::move(out)}});
}

absl::StatusOr<Response> ListTriggers(PipelinesApi& api, Request& request) {
  ASSIGN_OR_RETURN(const std::string_view name, PipelineName(request));
  ASSIGN_OR_RETURN(int64_t limit, Limit(request));
  ASSIGN_OR_RETURN(std::vector<pipeline::TriggerEvent> events,
                   api.runs->TriggerEvents(name, limit));
  RETURN_IF_ERROR(CheckKnown(api, name, !events.empty()));
  json out = json::array();
  for (const pipeline::TriggerEvent& e : events) out.push_back(pipeline::TriggerEventToJson(e));
  return server::JsonResponse(json{{"triggers", std::move(out)}});
}

// {"params": {"rounds": 300, "eta": "0.1"}}: scalars, kept as text.
absl::StatusOr<std::map<std::string, std::string>> ParamsOf(const json& body) {
  std::map<std::string, std::string> params;
  const auto it = body.find("params");
  if (it == body.end() || it->is_null()) return params;
  if (!it->is_object()) return absl::InvalidArgumentError("\"params\" must be an object");
  for (const auto& [name, value] : it->items()) {
    if (value.is_string()) {
      params[name] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      params[name] = value.dump();
    } else {
      return absl::InvalidArgumentError(
          Cat("param \"", name, "\" must be a string, a number or a boolean"));
    }
  }
  return params;
}

absl::StatusOr<Response> StartRun(PipelinesApi& api, Request& request) {
  if (api.triggers == nullptr) {
    return absl::UnavailableError(
        "this server runs no pipelines (pipelines.enabled is false in .ferry/config.yaml); "
        "use `ferry pipeline run NAME`");
  }
  ASSIGN_OR_RETURN(const std::string_view name, PipelineName(request));
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"params", "force", "actor"}));
  pipeline::ManualTrigger manual;
  ASSIGN_OR_RETURN(manual.params, ParamsOf(body));
  if (const auto force = body.find("force"); force != body.end() && !force->is_null()) {
    if (!force->is_boolean()) return absl::InvalidArgumentError("\"force\" must be true or false");
    manual.force = force->get<bool>();
  }
  ASSIGN_OR_RETURN(manual.actor, StringField(body, "actor", "api"));
  ASSIGN_OR_RETURN(pipeline::TriggerResult result,
                   api.triggers->TriggerManually(name, manual));
  return server::JsonResponse(json{{"outcome", pipeline::TriggerOutcomeName(result.outcome)},
                                   {"run", pipeline::RunToJson(result.run)}},
                              202);
}

// GET /api/v1/pipelines/{name}: the applied spec, and its steps as a DAG (each step's
// inputs, outputs and the steps it depends on) for whoever draws it.
absl::StatusOr<Response> ShowPipeline(PipelinesApi& api, Request& request) {
  ASSIGN_OR_RETURN(const std::string_view name, PipelineName(request));
  ASSIGN_OR_RETURN(pipeline::AppliedPipeline applied, api.runs->GetApplied(name));
  ASSIGN_OR_RETURN(pipeline::PipelineSpec spec,
                   pipeline::ParsePipelineSpec(applied.spec, applied.source));
  json steps = json::array();
  for (const pipeline::StepSpec& step : spec.steps) {
    json inputs = json::object();
    std::set<std::string> after;
    for (const auto& [input, ref] : step.inputs) {
      inputs[input] = ref.ToString();
      if (ref.is_step()) after.insert(ref.step);
    }
    steps.push_back({{"id", step.id},
                     {"uses", step.uses ? json(pipeline::BuiltinStepName(*step.uses)) : json()},
                     {"run", step.run.empty() ? json() : json(step.run)},
                     {"inputs", std::move(inputs)},
                     {"outputs", step.outputs},
                     {"depends_on", std::vector<std::string>(after.begin(), after.end())}});
  }
  return server::JsonResponse(json{{"name", applied.name},
                                   {"description", spec.description},
                                   {"source", applied.source},
                                   {"spec_sha256", applied.spec_sha256},
                                   {"applied_at", core::FormatTimestamp(applied.applied_at)},
                                   {"applied_by", applied.applied_by},
                                   {"params", spec.params},
                                   {"triggers", TriggersJson(applied)},
                                   {"steps", std::move(steps)},
                                   {"spec", applied.spec}});
}

absl::StatusOr<Response> GetRun(PipelinesApi& api, Request& request) {
  ASSIGN_OR_RETURN(pipeline::RunRecord run, api.runs->GetRun(request.PathParam("id")));
  return server::JsonResponse(pipeline::RunToJson(run));
}

absl::StatusOr<Response> CancelRun(PipelinesApi& api, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {}));
  ASSIGN_OR_RETURN(pipeline::RunRecord run, api.runs->RequestCancel(request.PathParam("id")));
  return server::JsonResponse(pipeline::RunToJson(run), 202);
}

}  // namespace

absl::StatusOr<std::shared_ptr<PipelinesApi>> OpenPipelines(
    store::Workspace& workspace, const PipelineRunnerOptions& options) {
  auto api = std::make_shared<PipelinesApi>();
  ASSIGN_OR_RETURN(api->runs, PipelineRunStore::Open(workspace));
  const core::PipelinesConfig& config = workspace.config().pipelines;
  if (!config.enabled) return api;
  std::unique_ptr<pipeline::RunLauncher> launcher =
      options.launcher ? options.launcher()
                       : std::make_unique<pipeline::ProcessRunLauncher>(workspace.root());
  ASSIGN_OR_RETURN(api->triggers, pipeline::TriggerRunner::Open(workspace, std::move(launcher),
                                                                options.triggers));
  api->triggers->Start(std::chrono::milliseconds(config.trigger_interval_ms));
  return api;
}

absl::Status AddPipelineRoutes(server::Router& router, std::shared_ptr<PipelinesApi> api) {
  RETURN_IF_ERROR(router.Get("/api/v1/pipelines", [api](Request&) { return ListPipelines(*api); }));
  RETURN_IF_ERROR(router.Get("/api/v1/pipelines/{name}",
                             [api](Request& request) { return ShowPipeline(*api, request); }));
  RETURN_IF_ERROR(router.Get("/api/v1/pipelines/{name}/runs",
                             [api](Request& request) { return ListRuns(*api, request); }));
  RETURN_IF_ERROR(router.Post("/api/v1/pipelines/{name}/runs",
                              [api](Request& request) { return StartRun(*api, request); }));
  RETURN_IF_ERROR(router.Get("/api/v1/pipelines/{name}/triggers",
                             [api](Request& request) { return ListTriggers(*api, request); }));
  RETURN_IF_ERROR(router.Get("/api/v1/pipeline-runs/{id}",
                             [api](Request& request) { return GetRun(*api, request); }));
  return router.Post("/api/v1/pipeline-runs/{id}/cancel",
                     [api](Request& request) { return CancelRun(*api, request); });
}

}  // namespace ferry::api
