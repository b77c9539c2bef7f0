#include "api/dataset_routes.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/file_answer.h"
#include "api/query_params.h"
#include "api/upload_sink.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_json.h"
#include "dataset/dataset_store.h"
#include "server/body_file.h"

namespace ferry::api {
namespace {

using server::Request;
using server::Response;

namespace fs = std::filesystem;

// Dataset names, tags and options come from the query, so a bad one is refused before
// the body is sent.
absl::StatusOr<dataset::AddOptions> ParseAddOptions(const Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"filename", "message", "tag", "format", "lenient"}));
  dataset::AddOptions options;
  // Kept as the version's source name, whose extension names the file a pipeline step
  // reads the version from: one plain file name, never a path.
  std::string filename = query.Get("filename").value_or("upload");
  const bool control = std::any_of(filename.begin(), filename.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (filename.empty() || filename.size() > 255 || filename == "." || filename == ".." ||
      filename.find_first_of("/\\") != std::string::npos || control) {
    return absl::InvalidArgumentError(
        "filename must be a file name of 1-255 bytes: not \".\" or \"..\", without '/', '\\'"
        " or control characters");
  }
  options.source_name = filename;
  options.message = query.Get("message").value_or("");
  options.tag = query.Get("tag");
  if (options.tag) RETURN_IF_ERROR(dataset::ValidateTagName(*options.tag));
  ASSIGN_OR_RETURN(options.lenient, query.GetBool("lenient", false));
  if (std::optional<std::string> format = query.Get("format")) {
    std::optional<table::Format> parsed = table::ParseFormatName(*format);
    if (!parsed) {
      return absl::InvalidArgumentError(
          core::Cat("unknown format \"", *format, "\"; expected csv, jsonl or opaque"));
    }
    options.format = *parsed;
  }
  return options;
}

absl::StatusOr<server::BodySinkPtr> StartUpload(std::shared_ptr<dataset::DatasetStore> datasets,
                                                const store::Workspace& workspace,
                                                Request& request) {
  std::string name(request.PathParam("name"));
  RETURN_IF_ERROR(dataset::ValidateDatasetName(name));
  ASSIGN_OR_RETURN(dataset::AddOptions options, ParseAddOptions(request));
  // With the size announced, a disk too small for the upload and its add is refused
  // before the body is sent; Add checks again once the upload is complete.
  if (std::optional<uint64_t> length = request.content_length()) {
    RETURN_IF_ERROR(core::CheckFreeSpace(workspace.ferry_dir(),
                                         *length + dataset::SpaceNeededToAdd(*length),
                                         core::Cat("uploading ", *options.source_name)));
  }
  // The body goes to a private temporary file, added as a version once complete.
  const std::string what = core::Cat("dataset ", name);
  return CreateFileUploadSink(
      workspace.ferry_dir() / "uploads", what,
      [datasets, name, options](const fs::path& file) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(dataset::AddResult added, datasets->Add(name, file, options));
        return server::JsonResponse(
            nlohmann::json{{"created", added.created},
                           {"new_chunks", added.new_chunks},
                           {"reused_chunks", added.reused_chunks},
                           {"new_bytes", added.new_bytes},
                           {"version", dataset::VersionToJson(added.version)}},
            added.created ? 201 : 200);
      });
}

// Static storage: Response::content_type is not owned.
constexpr std::string_view kJsonLinesType = "application/x-ndjson";
constexpr std::string_view kOpaqueType = "application/octet-stream";

// What Content-Disposition may carry unquoted inside its quotes: a plain file name of
// letters, digits and ". _ - + ( )" and spaces (no quote, backslash, slash, control or
// non-ASCII byte a browser could misread), starting with a letter or digit.
bool IsSafeFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("._-+() ").find(c) != std::string_view::npos;
  });
}

// The version's source file name when it is safe to name; otherwise NAME-vN with the
// extension of its format (an opaque version's own extension when that is safe).
std::string DownloadFileName(const dataset::VersionRecord& version) {
  if (IsSafeFileName(version.source)) return version.source;
  std::string extension;
  if (version.format == table::Format::kCsv) {
    extension = ".csv";
  } else if (version.format == table::Format::kJsonLines) {
    extension = ".jsonl";
  } else if (size_t dot = version.source.find_last_of('.'); dot != std::string::npos) {
    const std::string own = version.source.substr(dot);
    if (own.size() <= 16 && IsSafeFileName(core::Cat("x", own))) extension = own;
  }
  return core::Cat(version.dataset, "-v", version.version, extension);
}

// GET .../versions/{ref}/content: the version's bytes, rebuilt by Export (which verifies
// every chunk and the whole file's SHA-256) into a temporary file that is then streamed.
// A streaming route with no body: the version is resolved here (a bad reference is
// answered at once), the rebuild runs in the sink's Finish on the blocking pool, so a
// large version keeps no IO thread (and its other connections) waiting.
absl::StatusOr<server::BodySinkPtr> StartDownload(
    std::shared_ptr<dataset::DatasetStore> datasets, const store::Workspace& workspace,
    Request& request) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref,
                   dataset::ParseDatasetRef(
                       core::Cat(request.PathParam("name"), "@", request.PathParam("ref"))));
  ASSIGN_OR_RETURN(dataset::VersionRecord version, datasets->Resolve(ref));
  const fs::path ferry_dir = workspace.ferry_dir();
  return CreateNoBodySink([datasets, ferry_dir,
                           version = std::move(version)]() -> absl::StatusOr<Response> {
    RETURN_IF_ERROR(core::CheckFreeSpace(ferry_dir, static_cast<uint64_t>(version.size),
                                         core::Cat("downloading ", version.Ref())));
    // Pinned to the number: a tag or "latest" that moves meanwhile cannot change the
    // bytes under the headers that describe them.
    dataset::DatasetRef pinned;
    pinned.name = version.dataset;
    pinned.version = version.version;
    ASSIGN_OR_RETURN(std::shared_ptr<server::BodyFile> file,
                     BuildFileAnswer(ferry_dir / "uploads", "download", [&](const fs::path& path) {
                       return datasets->Export(pinned, path).status();
                     }));
    Response response =
        VerifiedFileResponse(std::move(file),
                             version.format == table::Format::kCsv         ? server::kCsvContentType
                             : version.format == table::Format::kJsonLines ? kJsonLinesType
                                                                           : kOpaqueType,
                             version.content_sha256);
    response.headers.emplace_back(
        "Content-Disposition",
        core::Cat("attachment; filename=\"", DownloadFileName(version), "\""));
    return response;
  });
}

absl::StatusOr<dataset::VersionRecord> VersionOf(const dataset::DatasetStore& datasets,
                                                 const Request& request) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref,
                   dataset::ParseDatasetRef(
                       core::Cat(request.PathParam("name"), "@", request.PathParam("ref"))));
  return datasets.Resolve(ref);
}

// GET .../versions/{ref}/profile[?sketches=true]: schema and per-column statistics
// (counts, quantiles, histograms, top values); null for an opaque version.
absl::StatusOr<Response> ShowProfile(const dataset::DatasetStore& datasets, Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"sketches"}));
  ASSIGN_OR_RETURN(bool sketches, query.GetBool("sketches", false));
  ASSIGN_OR_RETURN(dataset::VersionRecord version, VersionOf(datasets, request));
  nlohmann::json body = {{"version", dataset::VersionToJson(version)}, {"profile", nullptr}};
  if (version.profile) {
    ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(version));
    body["profile"] = dataset::ProfileToJson(profile, sketches);
  }
  return server::JsonResponse(body);
}

// GET .../versions/{ref}/lineage: what the version was made from and what was made from
// it, one step each way (a model's lineage route walks any depth).
absl::StatusOr<Response> ShowLineage(const dataset::DatasetStore& datasets, Request& request) {
  ASSIGN_OR_RETURN(dataset::VersionRecord version, VersionOf(datasets, request));
  ASSIGN_OR_RETURN(dataset::DatasetStore::VersionLineage links, datasets.Lineage(version));
  return server::JsonResponse(
      nlohmann::json{{"version", version.Ref()},
                     {"made_from", dataset::LineageEdgesToJson(links.inputs, true)},
                     {"used_by", dataset::LineageEdgesToJson(links.consumers, false)}});
}

// GET .../versions/{ref}/diff?to=OTHER@REF: bytes shared and new, schema, rows and
// statistics from this version to another (of any dataset).
absl::StatusOr<Response> ShowDiff(const dataset::DatasetStore& datasets, Request& request) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"to"}));
  std::optional<std::string> to = query.Get("to");
  if (!to) return absl::InvalidArgumentError("query parameter \"to\" (NAME@REF) is required");
  ASSIGN_OR_RETURN(dataset::DatasetRef before,
                   dataset::ParseDatasetRef(
                       core::Cat(request.PathParam("name"), "@", request.PathParam("ref"))));
  ASSIGN_OR_RETURN(dataset::DatasetRef after, dataset::ParseDatasetRef(*to));
  ASSIGN_OR_RETURN(dataset::VersionDiff diff, datasets.Diff(before, after));
  return server::JsonResponse(dataset::VersionDiffToJson(diff));
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
  RETURN_IF_ERROR(
      router.Get("/api/v1/datasets/{name}/versions/{ref}/profile",
                 [datasets](Request& request) { return ShowProfile(*datasets, request); }));
  RETURN_IF_ERROR(
      router.Get("/api/v1/datasets/{name}/versions/{ref}/lineage",
                 [datasets](Request& request) { return ShowLineage(*datasets, request); }));
  RETURN_IF_ERROR(
      router.Get("/api/v1/datasets/{name}/versions/{ref}/diff",
                 [datasets](Request& request) { return ShowDiff(*datasets, request); }));
  // HEAD too (streaming routes are per method): it rebuilds the file for its size.
  for (server::Method method : {server::Method::kGet, server::Method::kHead}) {
    RETURN_IF_ERROR(router.AddStreaming(method, "/api/v1/datasets/{name}/versions/{ref}/content",
                                        [datasets, &workspace](Request& request) {
                                          return StartDownload(datasets, workspace, request);
                                        }));
  }
  RETURN_IF_ERROR(router.PostStreaming("/api/v1/datasets/{name}/versions",
                                       [datasets, &workspace](Request& request) {
                                         return StartUpload(datasets, workspace, request);
                                       }));
  return absl::OkStatus();
}

}  // namespace ferry::api
