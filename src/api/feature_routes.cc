#include "api/feature_routes.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "api/feature_json.h"
#include "api/historical_request.h"
#include "api/json_body.h"
#include "api/online_request.h"
#include "api/upload_sink.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/materialization.h"
#include "features/online_features.h"
#include "features/online_push.h"
#include "features/view_status.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using server::Request;
using server::Response;

constexpr size_t kMaxCachedQueries = 1024;

// Resolved queries by request, each reused for `refresh` after it was resolved.
class QueryCache {
 public:
  explicit QueryCache(std::chrono::milliseconds refresh) : refresh_(refresh) {}

  template <typename Build>
  absl::StatusOr<std::shared_ptr<const features::OnlineQuery>> Get(const std::string& key,
                                                                   Build build) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && now - it->second.resolved < refresh_) return it->second.query;
    }
    ASSIGN_OR_RETURN(features::OnlineQuery built, build());
    auto query = std::make_shared<const features::OnlineQuery>(std::move(built));
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxCachedQueries) entries_.clear();
    entries_[key] = {query, now};
    return query;
  }

 private:
  struct Entry {
    std::shared_ptr<const features::OnlineQuery> query;
    std::chrono::steady_clock::time_point resolved;
  };
  const std::chrono::milliseconds refresh_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

struct FeatureApi {
  store::Workspace& workspace;
  std::unique_ptr<dataset::DatasetStore> datasets;
  std::unique_ptr<features::FeatureRegistry> registry;
  std::shared_ptr<features::SharedOnlineStore> online;
  FeatureRoutesOptions options;
  QueryCache queries;
};

json ViewJson(FeatureApi& api, const features::FeatureView& view) {
  json out = json::parse(features::ToJson(view));
  absl::StatusOr<features::ViewStatus> status =
      features::DescribeView(api.workspace, *api.datasets, view);
  if (!status.ok()) {
    out["status_error"] = std::string(core::View(status.status().message()));
    return out;
  }
  AddViewStatusJson(*status, api.workspace.clock().NowMicros(), out);
  return out;
}

absl::StatusOr<Response> ListFeatures(FeatureApi& api) {
  ASSIGN_OR_RETURN(features::FeatureDefinitions defs, api.registry->Current());
  json entities = json::array();
  for (const auto& e : defs.entities) entities.push_back(json::parse(features::ToJson(e)));
  json views = json::array();
  for (const auto& v : defs.views) views.push_back(ViewJson(api, v));
  json services = json::array();
  for (const auto& s : defs.services) services.push_back(json::parse(features::ToJson(s)));
  return server::JsonResponse(
      json{{"entities", entities}, {"feature_views", views}, {"feature_services", services}});
}

absl::StatusOr<Response> GetOnline(FeatureApi& api, Request& request) {
  ASSIGN_OR_RETURN(OnlineRequest parsed, ParseOnlineRequest(request.mutable_body()));
  ASSIGN_OR_RETURN(
      std::shared_ptr<const features::OnlineQuery> query,
      api.queries.Get(parsed.CacheKey(), [&]() -> absl::StatusOr<features::OnlineQuery> {
        ASSIGN_OR_RETURN(features::FeatureSelection selection,
                         parsed.feature_service.empty()
                             ? api.registry->Select(std::vector<std::string>(
                                   parsed.features.begin(), parsed.features.end()))
                             : api.registry->SelectService(parsed.feature_service));
        return features::OnlineQuery::Prepare(selection, {parsed.full_feature_names});
      }));
  thread_local std::vector<features::EntityKeyValues> entities;
  const absl::Status converted =
      ConvertEntities(parsed.entities, *query, api.options.max_entity_rows, entities);
  if (absl::IsResourceExhausted(converted)) {
    return server::ErrorResponse(413, "payload_too_large", core::View(converted.message()));
  }
  RETURN_IF_ERROR(converted);
  ASSIGN_OR_RETURN(features::OnlineStore * store, api.online->Get());
  thread_local features::OnlineResult result;
  const features::OnlineFeatures online(*store, api.workspace.clock_ptr());
  RETURN_IF_ERROR(online.Get(*query, entities, result));
  Response response;
  response.body.reserve(256 + result.rows * (entities.size() + result.columns.size()) * 48);
  AppendOnlineResponse(response.body, entities, result);
  return response;
}

absl::StatusOr<features::MaterializeOptions> ParseMaterialize(std::string_view body, int64_t now) {
  json j = body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  features::MaterializeOptions options;
  options.end = now;
  for (auto& [name, value] : j.items()) {
    const bool text = value.is_string();
    if (name == "start" && (text || value.is_null())) {
      if (text) {
        ASSIGN_OR_RETURN(options.start, ParseTimeArgument("start", value.get<std::string>(), now));
      }
    } else if (name == "end" && text) {
      ASSIGN_OR_RETURN(options.end, ParseTimeArgument("end", value.get<std::string>(), now));
    } else if (name == "incremental" && value.is_boolean()) {
      options.incremental = value.get<bool>();
    } else if (name == "views" && value.is_array()) {
      for (const json& v : value) {
        if (!v.is_string()) return absl::InvalidArgumentError("\"views\" must hold view names");
        options.views.push_back(v.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(
          Cat("unexpected field \"", name, "\" or wrong type; expected start (time or null),",
              " end (time), incremental (bool), views (list of names)"));
    }
  }
  if (options.incremental && options.start) {
    return absl::InvalidArgumentError(
        "an incremental run starts where the last one ended:"
        " give \"end\" only");
  }
  return options;
}

absl::StatusOr<Response> PostMaterialize(FeatureApi& api, Request& request) {
  ASSIGN_OR_RETURN(features::MaterializeOptions options,
                   ParseMaterialize(request.body(), api.workspace.clock().NowMicros()));
  ASSIGN_OR_RETURN(features::OnlineStore * store, api.online->Get());
  ASSIGN_OR_RETURN(auto runs, features::Materialize(api.workspace, *api.datasets, *api.registry,
                                                    *store, options));
  return server::JsonResponse(MaterializationJson(runs));
}

// POST /api/v1/features/historical: a streaming route, so that an entity table of any
// size goes to a temporary file (the upload sink) instead of memory. The sink's finish,
// which runs the join, runs on the server's blocking pool, so no IO thread waits for it.
absl::StatusOr<server::BodySinkPtr> StartHistorical(std::shared_ptr<FeatureApi> api,
                                                    Request& request) {
  ASSIGN_OR_RETURN(HistoricalRequest parsed, ParseHistoricalRequest(request, *api->registry));
  const std::filesystem::path uploads = api->workspace.ferry_dir() / "uploads";
  // The entity table, and the training set at least as large (every entity column
  // passes through).
  if (std::optional<uint64_t> length = request.content_length(); length && *length > 0) {
    RETURN_IF_ERROR(
        core::CheckFreeSpace(api->workspace.ferry_dir(), 2 * *length, "uploading an entity table"));
  }
  return CreateFileUploadSink(
      uploads, "historical retrieval",
      [api, parsed = std::move(parsed), uploads](const std::filesystem::path& body) {
        return RunHistoricalRequest(api->workspace, *api->datasets, parsed, body, uploads);
      });
}

}  // namespace

// {"view": "V", "rows": [{key..., timestamp, feature...}, ...]}: features/online_push.h.
absl::StatusOr<Response> PostPush(FeatureApi& api, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"view", "rows"}));
  ASSIGN_OR_RETURN(std::string view, StringField(body, "view"));
  if (view.empty()) return absl::InvalidArgumentError("\"view\" is required");
  if (!body.contains("rows")) return absl::InvalidArgumentError("\"rows\" is required");
  ASSIGN_OR_RETURN(features::OnlineStore * store, api.online->Get());
  ASSIGN_OR_RETURN(features::PushReport report,
                   features::PushToOnline(*api.registry, *store, view, body["rows"]));
  return server::JsonResponse(json{
      {"view", view}, {"rows", report.rows}, {"written", report.written}, {"kept", report.kept}});
}

absl::Status AddFeatureRoutes(server::Router& router, store::Workspace& workspace,
                              std::shared_ptr<features::SharedOnlineStore> online,
                              const FeatureRoutesOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<dataset::DatasetStore> datasets,
                   dataset::DatasetStore::Open(workspace));
  ASSIGN_OR_RETURN(std::unique_ptr<features::FeatureRegistry> registry,
                   features::FeatureRegistry::Open(workspace, *datasets));
  std::shared_ptr<FeatureApi> api(new FeatureApi{workspace, std::move(datasets),
                                                 std::move(registry), std::move(online), options,
                                                 QueryCache(options.definitions_refresh)});
  RETURN_IF_ERROR(router.Get("/api/v1/features", [api](Request&) { return ListFeatures(*api); }));
  RETURN_IF_ERROR(router.Get("/api/v1/features/views/{name}",
                             [api](Request& request) -> absl::StatusOr<Response> {
                               ASSIGN_OR_RETURN(features::FeatureView view,
                                                api->registry->GetView(request.PathParam("name")));
                               return server::JsonResponse(ViewJson(*api, view));
                             }));
  RETURN_IF_ERROR(router.Post("/api/v1/features/online",
                              [api](Request& request) { return GetOnline(*api, request); }));
  RETURN_IF_ERROR(router.Post("/api/v1/features/materialize",
                              [api](Request& request) { return PostMaterialize(*api, request); }));
  RETURN_IF_ERROR(router.Post("/api/v1/features/push",
                              [api](Request& request) { return PostPush(*api, request); }));
  RETURN_IF_ERROR(router.PostStreaming("/api/v1/features/historical", [api](Request& request) {
    return StartHistorical(api, request);
  }));
  return absl::OkStatus();
}

}  // namespace ferry::api
