#include "api/model_routes.h"

#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/query_params.h"
#include "api/tracking_routes.h"
#include "api/upload_sink.h"
#include "core/status.h"
#include "core/strings.h"
#include "registry/lineage_view.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using registry::ModelRef;
using server::Request;
using server::Response;

// Everything the registry reads, kept alive together by the routes that share it.
struct Stores {
  std::unique_ptr<dataset::DatasetStore> datasets;
  std::unique_ptr<features::FeatureRegistry> features;
  std::shared_ptr<tracking::TrackingStore> tracking;
  std::unique_ptr<registry::ModelRegistry> models;
};

absl::StatusOr<ModelRef> RefOf(const Request& request) {
  return registry::ParseModelRef(Cat(request.PathParam("name"), "@", request.PathParam("ref")));
}

absl::StatusOr<registry::RegisterOptions> ParseRegisterOptions(const Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(
      query.OnlyThese({"flavor", "run", "signature", "reference", "description", "actor"}));
  registry::RegisterOptions options;
  options.flavor = query.Get("flavor").value_or(std::string(registry::kFlavorXGBoost));
  options.run_id = query.Get("run").value_or("");
  options.reference_dataset = query.Get("reference").value_or("");
  options.description = query.Get("description").value_or("");
  options.actor = query.Get("actor").value_or("api");
  options.artifact_name = "the uploaded model";
  if (auto signature = query.Get("signature")) {
    ASSIGN_OR_RETURN(options.signature, registry::ParseSignature(*signature));
  }
  return options;
}

absl::StatusOr<Response> ShowModel(const Stores& stores, std::string_view name) {
  ASSIGN_OR_RETURN(registry::RegisteredModel model, stores.models->GetModel(name));
  ASSIGN_OR_RETURN(auto versions, stores.models->ListVersions(name));
  ASSIGN_OR_RETURN(auto history, stores.models->AliasHistory(name, ""));
  json body = registry::RegisteredModelToJson(model);
  body["model_versions"] = json::array();
  for (const auto& v : versions) body["model_versions"].push_back(registry::ModelVersionToJson(v));
  body["alias_history"] = json::array();
  for (const auto& c : history) body["alias_history"].push_back(registry::AliasChangeToJson(c));
  return server::JsonResponse(body);
}

absl::Status AddAliasRoutes(server::Router& router, std::shared_ptr<Stores> stores) {
  RETURN_IF_ERROR(router.Get("/api/v1/models/{name}/aliases",
                             [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(registry::RegisteredModel model,
                     stores->models->GetModel(request.PathParam("name")));
    ASSIGN_OR_RETURN(auto history, stores->models->AliasHistory(request.PathParam("name"), ""));
    json changes = json::array();
    for (const auto& c : history) changes.push_back(registry::AliasChangeToJson(c));
    return server::JsonResponse(json{{"aliases", model.aliases}, {"history", changes}});
  }));
  RETURN_IF_ERROR(router.Put("/api/v1/models/{name}/aliases/{alias}",
                             [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
    RETURN_IF_ERROR(OnlyKeys(body, {"version", "actor", "reason"}));
    ASSIGN_OR_RETURN(int64_t version, IntField(body, "version", 0));
    if (version < 1) return absl::InvalidArgumentError("\"version\" (1 or more) is required");
    ASSIGN_OR_RETURN(std::string actor, StringField(body, "actor", "api"));
    ASSIGN_OR_RETURN(std::string reason, StringField(body, "reason"));
    ModelRef ref{std::string(request.PathParam("name")), version, std::nullopt};
    ASSIGN_OR_RETURN(registry::AliasChange change,
                     stores->models->SetAlias(ref, request.PathParam("alias"), actor, reason));
    return server::JsonResponse(registry::AliasChangeToJson(change));
  }));
  return router.Delete("/api/v1/models/{name}/aliases/{alias}",
                       [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
    RETURN_IF_ERROR(query.OnlyThese({"actor", "reason"}));
    ASSIGN_OR_RETURN(registry::AliasChange change,
                     stores->models->DeleteAlias(request.PathParam("name"),
                                                 request.PathParam("alias"),
                                                 query.Get("actor").value_or("api"),
                                                 query.Get("reason").value_or("")));
    return server::JsonResponse(registry::AliasChangeToJson(change));
  });
}

absl::Status AddVersionRoutes(server::Router& router, store::Workspace& workspace,
                              std::shared_ptr<Stores> stores) {
  RETURN_IF_ERROR(router.Get("/api/v1/models/{name}/versions/{ref}",
                             [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(ModelRef ref, RefOf(request));
    ASSIGN_OR_RETURN(registry::ModelVersion v, stores->models->Resolve(ref));
    return server::JsonResponse(registry::ModelVersionToJson(v));
  }));
  RETURN_IF_ERROR(router.Delete("/api/v1/models/{name}/versions/{ref}",
                                [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(ModelRef ref, RefOf(request));
    if (!ref.version) return absl::InvalidArgumentError("name the version to delete by number");
    RETURN_IF_ERROR(stores->models->DeleteVersion(ref));
    return server::JsonResponse(json{{"deleted", ref.ToString()}});
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/models/{name}/versions/{ref}/lineage",
                             [stores, &workspace](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
    RETURN_IF_ERROR(query.OnlyThese({"direction"}));
    const std::string direction = query.Get("direction").value_or("upstream");
    if (direction != "upstream" && direction != "downstream") {
      return absl::InvalidArgumentError("direction must be upstream or downstream");
    }
    ASSIGN_OR_RETURN(ModelRef ref, RefOf(request));
    ASSIGN_OR_RETURN(registry::ModelVersion v, stores->models->Resolve(ref));
    ASSIGN_OR_RETURN(registry::LineageView view,
                     registry::BuildLineageView(
                         workspace, *stores->datasets, *stores->tracking, *stores->models,
                         {std::string(lineage::kind::kModelVersion), v.Ref()},
                         direction == "upstream" ? lineage::Direction::kUpstream
                                                 : lineage::Direction::kDownstream));
    return server::JsonResponse(registry::LineageViewToJson(view));
  }));
  RETURN_IF_ERROR(router.Put("/api/v1/models/{name}/versions/{ref}/tags/{key}",
                             [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
    RETURN_IF_ERROR(OnlyKeys(body, {"value"}));
    ASSIGN_OR_RETURN(std::string value, StringField(body, "value"));
    ASSIGN_OR_RETURN(ModelRef ref, RefOf(request));
    RETURN_IF_ERROR(stores->models->SetTag(ref, request.PathParam("key"), value));
    return server::JsonResponse(json{{"key", request.PathParam("key")}, {"value", value}});
  }));
  RETURN_IF_ERROR(router.Delete("/api/v1/models/{name}/versions/{ref}/tags/{key}",
                                [stores](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(ModelRef ref, RefOf(request));
    RETURN_IF_ERROR(stores->models->SetTag(ref, request.PathParam("key"), std::nullopt));
    return server::JsonResponse(json{{"deleted", request.PathParam("key")}});
  }));
  return router.PostStreaming(
      "/api/v1/models/{name}/versions",
      [stores, &workspace](Request& request) -> absl::StatusOr<server::BodySinkPtr> {
        std::string name(request.PathParam("name"));
        RETURN_IF_ERROR(registry::ValidateModelName(name));
        ASSIGN_OR_RETURN(registry::RegisterOptions options, ParseRegisterOptions(request));
        return CreateFileUploadSink(
            workspace.ferry_dir() / "uploads", Cat("model ", name),
            [stores, name, options](const std::filesystem::path& file) -> absl::StatusOr<Response> {
              ASSIGN_OR_RETURN(registry::ModelVersion v,
                               stores->models->Register(name, file, options));
              return server::JsonResponse(registry::ModelVersionToJson(v), 201);
            });
      });
}

}  // namespace

absl::Status AddModelRoutes(server::Router& router, store::Workspace& workspace) {
  auto stores = std::make_shared<Stores>();
  ASSIGN_OR_RETURN(stores->datasets, dataset::DatasetStore::Open(workspace));
  ASSIGN_OR_RETURN(stores->features, features::FeatureRegistry::Open(workspace, *stores->datasets));
  ASSIGN_OR_RETURN(stores->tracking, tracking::TrackingStore::Open(workspace, *stores->datasets));
  ASSIGN_OR_RETURN(stores->models, registry::ModelRegistry::Open(workspace, *stores->datasets,
                                                                 *stores->features,
                                                                 *stores->tracking));
  // The tracking routes share these stores; the aliasing shared_ptr keeps them all alive.
  RETURN_IF_ERROR(AddTrackingRoutes(router, workspace,
                                    std::shared_ptr<tracking::TrackingStore>(stores, stores->tracking.get())));
  RETURN_IF_ERROR(router.Get("/api/v1/models", [stores](Request&) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(auto models, stores->models->ListModels());
    json out = json::array();
    for (const auto& m : models) out.push_back(registry::RegisteredModelToJson(m));
    return server::JsonResponse(json{{"models", out}});
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/models/{name}", [stores](Request& request) {
    return ShowModel(*stores, request.PathParam("name"));
  }));
  RETURN_IF_ERROR(AddAliasRoutes(router, stores));
  return AddVersionRoutes(router, workspace, stores);
}

}  // namespace ferry::api
