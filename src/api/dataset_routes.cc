#include "api/dataset_routes.h"

#include <nlohmann/json.hpp>

#include "api/query_params.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"

namespace ferry::api {
namespace {

using server::Request;
using server::Response;

namespace fs = std::filesystem;

// Writes an uploaded body to a private temporary file for DatasetStore::Add (which
// stores it durably as chunks); the file is removed whatever happens.
class UploadFile {
 public:
  static absl::StatusOr<UploadFile> Create(const fs::path& folder, std::string_view bytes) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", folder.string()));
    ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(folder / "upload"));
    RETURN_IF_ERROR(file.Append(bytes));
    return UploadFile(std::move(file));
  }
  const fs::path& path() const { return file_.temp_path(); }

 private:
  explicit UploadFile(core::AtomicFile file) : file_(std::move(file)) {}
  core::AtomicFile file_;  // never committed: dropping it removes the file
};

absl::StatusOr<Response> AddVersion(dataset::DatasetStore& datasets, const fs::path& uploads,
                                    Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"filename", "message", "tag", "format", "lenient"}));
  dataset::AddOptions options;
  std::string filename = query.Get("filename").value_or("upload");
  if (filename.empty() || filename.size() > 255 || filename.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("filename must be a file name of 1-255 bytes without '/'");
  }
  options.source_name = filename;
  options.message = query.Get("message").value_or("");
  options.tag = query.Get("tag");
  ASSIGN_OR_RETURN(options.lenient, query.GetBool("lenient", false));
  if (std::optional<std::string> format = query.Get("format")) {
    std::optional<table::Format> parsed = table::ParseFormatName(*format);
    if (!parsed) {
      return absl::InvalidArgumentError(
          core::Cat("unknown format \"", *format, "\"; expected csv, jsonl or opaque"));
    }
    options.format = *parsed;
  }
  ASSIGN_OR_RETURN(UploadFile upload, UploadFile::Create(uploads, request.body()));
  ASSIGN_OR_RETURN(dataset::AddResult added,
                   datasets.Add(request.PathParam("name"), upload.path(), options));
  return server::JsonResponse(nlohmann::json{{"created", added.created},
                                             {"new_chunks", added.new_chunks},
                                             {"reused_chunks", added.reused_chunks},
                                             {"new_bytes", added.new_bytes},
                                             {"version", dataset::VersionToJson(added.version)}},
                              added.created ? 201 : 200);
}

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
  const fs::path uploads = workspace.ferry_dir() / "uploads";
  RETURN_IF_ERROR(router.Post("/api/v1/datasets/{name}/versions",
                              [datasets, uploads](Request& request) {
                                return AddVersion(*datasets, uploads, request);
                              }));
  return absl::OkStatus();
}

}  // namespace ferry::api
