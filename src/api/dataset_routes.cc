#include "api/dataset_routes.h"

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"

namespace ferry::api {
namespace {

using server::Request;
using server::Response;

}  // namespace

absl::Status AddDatasetRoutes(server::Router& router, store::Workspace& workspace) {
  ASSIGN_OR_RETURN(std::shared_ptr<dataset::DatasetStore> datasets,
                   dataset::DatasetStore::Open(workspace));

  RETURN_IF_ERROR(router.Get("/api/v1/datasets", [datasets](Request&) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(auto list, datasets->List());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : list) {
      out.push_back({{"name", d.name},
                     {"versions", d.versions},
                     {"latest", dataset::VersionToJson(d.latest)}});
    }
    return server::JsonResponse(nlohmann::json{{"datasets", out}});
  }));

  RETURN_IF_ERROR(router.Get(
      "/api/v1/datasets/{name}/versions", [datasets](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(auto versions, datasets->Log(request.PathParam("name")));
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : versions) out.push_back(dataset::VersionToJson(v));
        return server::JsonResponse(nlohmann::json{{"versions", out}});
      }));

  RETURN_IF_ERROR(router.Get(
      "/api/v1/datasets/{name}/versions/{ref}",
      [datasets](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(dataset::DatasetRef ref,
                         dataset::ParseDatasetRef(core::Cat(request.PathParam("name"), "@",
                                                            request.PathParam("ref"))));
        ASSIGN_OR_RETURN(dataset::VersionRecord version, datasets->Resolve(ref));
        return server::JsonResponse(dataset::VersionToJson(version));
      }));
  return absl::OkStatus();
}

}  // namespace ferry::api
