#include "api/tracking_routes.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/file_answer.h"
#include "api/json_body.h"
#include "api/query_params.h"
#include "api/upload_sink.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "server/body_file.h"
#include "tracking/run_search.h"

namespace ferry::api {
namespace {

using core::Cat;
using nlohmann::json;
using server::Request;
using server::Response;
using tracking::TrackingStore;

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StringMap(const json& body,
                                                                           std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) {
    return absl::InvalidArgumentError(Cat("\"", key, "\" must be an object of strings"));
  }
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(Cat("\"", key, "\".\"", k, "\" must be a string"));
    }
    out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

absl::StatusOr<tracking::RunBatch> BatchFromJson(const json& body) {
  tracking::RunBatch batch;
  ASSIGN_OR_RETURN(auto params, StringMap(body, "params"));
  for (auto& [k, v] : params) batch.params.push_back({k, v});
  ASSIGN_OR_RETURN(auto tags, StringMap(body, "tags"));
  for (auto& [k, v] : tags) batch.tags.push_back({k, v});
  if (body.contains("metrics")) {
    const json& metrics = body["metrics"];
    if (!metrics.is_array()) return absl::InvalidArgumentError("\"metrics\" must be a list");
    for (size_t i = 0; i < metrics.size(); ++i) {
      const json& m = metrics[i];
      const std::string where = Cat("metrics[", i, "]");
      if (!m.is_object()) return absl::InvalidArgumentError(Cat(where, " must be an object"));
      absl::Status keys = OnlyKeys(m, {"key", "value", "step", "timestamp"});
      if (!keys.ok()) return absl::InvalidArgumentError(Cat(where, ": ", core::View(keys.message())));
      tracking::MetricPoint point;
      ASSIGN_OR_RETURN(point.key, StringField(m, "key"));
      if (!m.contains("value")) return absl::InvalidArgumentError(Cat(where, ": \"value\" is missing"));
      absl::StatusOr<double> value = tracking::MetricValueFromJson(m["value"]);
      if (!value.ok()) {
        return absl::InvalidArgumentError(Cat(where, ": ", core::View(value.status().message())));
      }
      point.value = *value;
      ASSIGN_OR_RETURN(point.step, IntField(m, "step", 0));
      ASSIGN_OR_RETURN(point.timestamp, IntField(m, "timestamp", 0));
      batch.metrics.push_back(std::move(point));
    }
  }
  if (body.contains("inputs")) {
    const json& inputs = body["inputs"];
    if (!inputs.is_array()) return absl::InvalidArgumentError("\"inputs\" must be a list");
    for (const json& input : inputs) {
      if (!input.is_object()) return absl::InvalidArgumentError("inputs: each must be an object");
      ASSIGN_OR_RETURN(std::string dataset, StringField(input, "dataset"));
      ASSIGN_OR_RETURN(std::string role_name, StringField(input, "role", "train"));
      std::optional<tracking::InputRole> role = tracking::ParseInputRole(role_name);
      if (!role) {
        return absl::InvalidArgumentError(
            Cat("inputs: role \"", role_name, "\" is not train, validation or test"));
      }
      batch.inputs.push_back({dataset, *role});
    }
  }
  return batch;
}

absl::StatusOr<Response> CreateRun(TrackingStore& tracking, const Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"experiment", "name", "source_name", "source_sha256", "user",
                                  "host", "params", "tags", "metrics", "inputs"}));
  tracking::CreateRunOptions options;
  ASSIGN_OR_RETURN(options.experiment,
                   StringField(body, "experiment", std::string(tracking::kDefaultExperiment)));
  ASSIGN_OR_RETURN(options.name, StringField(body, "name"));
  ASSIGN_OR_RETURN(options.source_name, StringField(body, "source_name"));
  ASSIGN_OR_RETURN(options.source_sha256, StringField(body, "source_sha256"));
  ASSIGN_OR_RETURN(options.user, StringField(body, "user"));
  ASSIGN_OR_RETURN(options.host, StringField(body, "host"));
  ASSIGN_OR_RETURN(options.initial, BatchFromJson(body));
  ASSIGN_OR_RETURN(tracking::RunInfo run, tracking.CreateRun(options));
  return server::JsonResponse(json{{"run", tracking::RunInfoToJson(run)}}, 201);
}

absl::StatusOr<Response> Search(const TrackingStore& tracking,
                                const tracking::SearchRequest& search) {
  ASSIGN_OR_RETURN(tracking::SearchPage page, tracking::SearchRuns(tracking, search));
  json runs = json::array();
  for (const tracking::Run& run : page.runs) runs.push_back(tracking::RunToJson(run));
  return server::JsonResponse(json{{"runs", runs},
                                   {"next_page_token", page.next_page_token.empty()
                                                           ? json(nullptr)
                                                           : json(page.next_page_token)}});
}

absl::StatusOr<Response> SearchFromQuery(const TrackingStore& tracking, const Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"experiment", "filter", "order_by", "max_results", "page_token"}));
  tracking::SearchRequest search;
  if (auto experiment = query.Get("experiment")) search.experiments.push_back(*experiment);
  search.filter = query.Get("filter").value_or("");
  search.order_by = query.Get("order_by").value_or("");
  search.page_token = query.Get("page_token").value_or("");
  if (auto max = query.Get("max_results")) {
    auto [end, ec] = std::from_chars(max->data(), max->data() + max->size(), search.max_results);
    if (ec != std::errc() || end != max->data() + max->size()) {
      return absl::InvalidArgumentError(Cat("max_results: expected an integer, got \"", *max, "\""));
    }
  }
  return Search(tracking, search);
}

absl::StatusOr<Response> SearchFromBody(const TrackingStore& tracking, const Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"experiments", "filter", "order_by", "max_results", "page_token"}));
  tracking::SearchRequest search;
  if (body.contains("experiments")) {
    const json& list = body["experiments"];
    if (!list.is_array()) return absl::InvalidArgumentError("\"experiments\" must be a list of names");
    for (const json& name : list) {
      if (!name.is_string()) return absl::InvalidArgumentError("\"experiments\" must be a list of names");
      search.experiments.push_back(name.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(search.filter, StringField(body, "filter"));
  ASSIGN_OR_RETURN(search.order_by, StringField(body, "order_by"));
  ASSIGN_OR_RETURN(search.page_token, StringField(body, "page_token"));
  ASSIGN_OR_RETURN(int64_t max, IntField(body, "max_results", search.max_results));
  search.max_results = static_cast<int>(std::clamp<int64_t>(max, -1, 1 << 30));
  return Search(tracking, search);
}

// Content types of the artifacts people open in a browser; anything else downloads.
std::string_view ArtifactContentType(std::string_view path) {
  if (path.ends_with(".txt") || path.ends_with(".log")) return server::kTextContentType;
  if (path.ends_with(".json")) return server::kJsonContentType;
  if (path.ends_with(".csv")) return server::kCsvContentType;
  return "application/octet-stream";
}

// GET /api/v1/runs/{run_id}/artifacts: the list; with ?path=P, that artifact's bytes,
// verified against their digest, streamed from a temporary copy. A streaming route with
// no body, so a large artifact is copied on the blocking pool, not on an IO thread.
absl::StatusOr<server::BodySinkPtr> StartArtifactRead(std::shared_ptr<TrackingStore> tracking,
                                                      const store::Workspace& workspace,
                                                      Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"path"}));
  std::optional<std::string> path = query.Get("path");
  if (path) RETURN_IF_ERROR(tracking::ValidateArtifactPath(*path));
  ASSIGN_OR_RETURN(tracking::Run run, tracking->GetRun(request.PathParam("run_id")));
  if (!path) {
    json list = json::array();
    for (const tracking::Artifact& a : run.artifacts) {
      list.push_back({{"path", a.path}, {"digest", a.digest}, {"size", a.size}});
    }
    return CreateNoBodySink(
        [body = json{{"artifacts", std::move(list)}}]() -> absl::StatusOr<Response> {
          return server::JsonResponse(body);
        });
  }
  const tracking::Artifact* found = nullptr;
  for (const tracking::Artifact& a : run.artifacts) {
    if (a.path == *path) found = &a;
  }
  if (found == nullptr) {
    return absl::NotFoundError(Cat("run ", run.info.run_id, " has no artifact \"", *path, "\""));
  }
  ASSIGN_OR_RETURN(core::Digest digest, core::Digest::FromHex(found->digest));
  // The workspace outlives the router and so every request's sink.
  return CreateNoBodySink(
      [ws = &workspace, digest, name = found->path]() -> absl::StatusOr<Response> {
        const store::ObjectStore& objects = ws->objects();
        ASSIGN_OR_RETURN(std::shared_ptr<server::BodyFile> file,
                         BuildFileAnswer(ws->ferry_dir() / "uploads", "artifact",
                                         [&](const std::filesystem::path& copy) {
                                           return objects.GetToFile(digest, copy);
                                         }));
        return VerifiedFileResponse(std::move(file), ArtifactContentType(name), digest.ToHex());
      });
}

}  // namespace

absl::Status AddTrackingRoutes(server::Router& router, store::Workspace& workspace,
                               std::shared_ptr<TrackingStore> tracking) {
  RETURN_IF_ERROR(router.Get("/api/v1/experiments", [tracking](Request&) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(auto experiments, tracking->ListExperiments());
    json out = json::array();
    for (const auto& e : experiments) out.push_back(tracking::ExperimentToJson(e));
    return server::JsonResponse(json{{"experiments", out}});
  }));
  RETURN_IF_ERROR(router.Post("/api/v1/experiments",
                              [tracking](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
    RETURN_IF_ERROR(OnlyKeys(body, {"name", "description"}));
    ASSIGN_OR_RETURN(std::string name, StringField(body, "name"));
    ASSIGN_OR_RETURN(std::string description, StringField(body, "description"));
    ASSIGN_OR_RETURN(tracking::Experiment e, tracking->CreateExperiment(name, description));
    return server::JsonResponse(tracking::ExperimentToJson(e), 201);
  }));
  RETURN_IF_ERROR(router.Post("/api/v1/runs", [tracking](Request& request) {
    return CreateRun(*tracking, request);
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/runs", [tracking](Request& request) {
    return SearchFromQuery(*tracking, request);
  }));
  RETURN_IF_ERROR(router.Post("/api/v1/runs/search", [tracking](Request& request) {
    return SearchFromBody(*tracking, request);
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/runs/{run_id}",
                             [tracking](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(tracking::Run run, tracking->GetRun(request.PathParam("run_id")));
    return server::JsonResponse(tracking::RunToJson(run));
  }));
  RETURN_IF_ERROR(router.Post("/api/v1/runs/{run_id}/log-batch",
                              [tracking](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
    RETURN_IF_ERROR(OnlyKeys(body, {"params", "tags", "metrics", "inputs"}));
    ASSIGN_OR_RETURN(tracking::RunBatch batch, BatchFromJson(body));
    RETURN_IF_ERROR(tracking->LogBatch(request.PathParam("run_id"), batch));
    return server::JsonResponse(json{{"logged", {{"params", batch.params.size()},
                                                 {"metrics", batch.metrics.size()},
                                                 {"tags", batch.tags.size()},
                                                 {"inputs", batch.inputs.size()}}}});
  }));
  RETURN_IF_ERROR(router.Post("/api/v1/runs/{run_id}/status",
                              [tracking](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
    RETURN_IF_ERROR(OnlyKeys(body, {"status"}));
    ASSIGN_OR_RETURN(std::string name, StringField(body, "status"));
    std::optional<tracking::RunStatus> status = tracking::ParseRunStatus(name);
    if (!status || *status == tracking::RunStatus::kRunning) {
      return absl::InvalidArgumentError(
          Cat("\"status\" must be FINISHED, FAILED or KILLED, got \"", name, "\""));
    }
    ASSIGN_OR_RETURN(tracking::RunInfo run, tracking->SetStatus(request.PathParam("run_id"), *status));
    return server::JsonResponse(json{{"run", tracking::RunInfoToJson(run)}});
  }));
  RETURN_IF_ERROR(router.Get("/api/v1/runs/{run_id}/metrics/{key}",
                             [tracking](Request& request) -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(auto points, tracking->MetricHistory(request.PathParam("run_id"),
                                                          request.PathParam("key")));
    json out = json::array();
    for (const auto& p : points) {
      out.push_back({{"value", tracking::MetricValueToJson(p.value)},
                     {"step", p.step},
                     {"timestamp", p.timestamp}});
    }
    return server::JsonResponse(json{{"key", request.PathParam("key")}, {"points", out}});
  }));
  for (server::Method method : {server::Method::kGet, server::Method::kHead}) {
    RETURN_IF_ERROR(router.AddStreaming(method, "/api/v1/runs/{run_id}/artifacts",
                                        [tracking, &workspace](Request& request) {
                                          return StartArtifactRead(tracking, workspace, request);
                                        }));
  }
  return router.PostStreaming(
      "/api/v1/runs/{run_id}/artifacts",
      [tracking, &workspace](Request& request) -> absl::StatusOr<server::BodySinkPtr> {
        ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
        RETURN_IF_ERROR(query.OnlyThese({"path"}));
        std::optional<std::string> path = query.Get("path");
        if (!path) return absl::InvalidArgumentError("query parameter \"path\" (the artifact's name) is required");
        RETURN_IF_ERROR(tracking::ValidateArtifactPath(*path));
        std::string run_id(request.PathParam("run_id"));
        RETURN_IF_ERROR(tracking->GetRunInfo(run_id).status());
        return CreateFileUploadSink(
            workspace.ferry_dir() / "uploads", Cat("run ", run_id),
            [tracking, run_id, name = *path](const std::filesystem::path& file)
                -> absl::StatusOr<Response> {
              ASSIGN_OR_RETURN(tracking::Artifact a, tracking->LogArtifact(run_id, file, name));
              return server::JsonResponse(json{{"path", a.path}, {"digest", a.digest},
                                               {"size", a.size}},
                                          201);
            });
      });
}

}  // namespace ferry::api
