#include "api/dataset_routes.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

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

// Dataset names, tags and options come from the query, so a bad one is refused before
// the body is sent.
absl::StatusOr<dataset::AddOptions> ParseAddOptions(const Request& request) {
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

// An upload on its way to becoming a dataset version: the body streams into a private
// temporary file in .ferry/uploads/ as it arrives, and Finish adds that file with
// DatasetStore::Add. The file is removed in every outcome: when Finish returns
// (whatever it returns), on Abort, and when the sink is destroyed unfinished.
class UploadSink final : public server::BodySink {
 public:
  static absl::StatusOr<server::BodySinkPtr> Create(std::shared_ptr<dataset::DatasetStore> datasets,
                                                    const fs::path& uploads,
                                                    std::string dataset_name,
                                                    dataset::AddOptions options) {
    std::error_code ec;
    fs::create_directories(uploads, ec);
    if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", uploads.string()));
    ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(uploads / "upload"));
    // Private: what is uploaded is the user's data, readable by no one else meanwhile.
    if (::fchmod(file.fd(), 0600) != 0) {
      return core::ErrnoToStatus(errno, core::Cat("chmod ", file.temp_path().string()));
    }
    return server::BodySinkPtr(new UploadSink(std::move(datasets), std::move(dataset_name),
                                              std::move(options), std::move(file)));
  }

  absl::Status Append(std::string_view bytes) override {
    absl::Status written = file_->Append(bytes);
    if (written.ok()) return written;
    return absl::Status(written.code(), core::Cat("storing the upload in ",
                                                  file_->temp_path().parent_path().string(), ": ",
                                                  core::View(written.message())));
  }

  absl::StatusOr<Response> Finish() override {
    absl::StatusOr<dataset::AddResult> added =
        datasets_->Add(dataset_name_, file_->temp_path(), options_);
    file_.reset();
    if (!added.ok()) return added.status();
    return server::JsonResponse(nlohmann::json{{"created", added->created},
                                               {"new_chunks", added->new_chunks},
                                               {"reused_chunks", added->reused_chunks},
                                               {"new_bytes", added->new_bytes},
                                               {"version", dataset::VersionToJson(added->version)}},
                                added->created ? 201 : 200);
  }

  void Abort(std::string_view reason) override {
    spdlog::info("upload to dataset {} abandoned: {}", dataset_name_, reason);
    file_.reset();
  }

 private:
  UploadSink(std::shared_ptr<dataset::DatasetStore> datasets, std::string dataset_name,
             dataset::AddOptions options, core::AtomicFile file)
      : datasets_(std::move(datasets)),
        dataset_name_(std::move(dataset_name)),
        options_(std::move(options)),
        file_(std::move(file)) {}

  const std::shared_ptr<dataset::DatasetStore> datasets_;
  const std::string dataset_name_;
  const dataset::AddOptions options_;
  std::optional<core::AtomicFile> file_;  // never committed: resetting removes the file
};

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
  return UploadSink::Create(std::move(datasets), workspace.ferry_dir() / "uploads", std::move(name),
                            std::move(options));
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
  RETURN_IF_ERROR(router.PostStreaming("/api/v1/datasets/{name}/versions",
                                       [datasets, &workspace](Request& request) {
                                         return StartUpload(datasets, workspace, request);
                                       }));
  return absl::OkStatus();
}

}  // namespace ferry::api
