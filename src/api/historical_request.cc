#include "api/historical_request.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "api/file_answer.h"
#include "api/query_params.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "server/body_file.h"

namespace ferry::api {
namespace {

namespace fs = std::filesystem;
using core::Cat;
using features::EntitySource;

// How messages name an entity table that came as the request's body.
constexpr char kBodyLabel[] = "(request body)";
constexpr char kBodyWithEntities[] = "entities= names the entity table: send no body with it";
constexpr char kNoBody[] =
    "the request body must be the entity table (CSV or JSON Lines), or give"
    " entities=DATASET@REF";

absl::Status ParseEntities(const QueryParams& query, const server::Request& request,
                           features::HistoricalOptions& options) {
  if (std::optional<std::string> entities = query.Get("entities")) {
    absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(*entities);
    if (!ref.ok()) {
      return absl::InvalidArgumentError(Cat("entities must be a dataset reference NAME@REF: ",
                                            core::View(ref.status().message())));
    }
    if (query.Get("format")) {
      return absl::InvalidArgumentError(
          "format= says how the body is written; with entities= there is no body");
    }
    if (request.content_length().value_or(0) > 0) {
      return absl::InvalidArgumentError(kBodyWithEntities);
    }
    options.entities = ref->ToString();
    options.entities_source = EntitySource::kDataset;
    return absl::OkStatus();
  }
  const std::string format = query.Get("format").value_or("csv");
  if (format == "csv") {
    options.entities_source = EntitySource::kCsvFile;
  } else if (format == "jsonl") {
    options.entities_source = EntitySource::kJsonLinesFile;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown format \"", format, "\"; expected csv or jsonl"));
  }
  if (request.content_length() == 0) {
    return absl::InvalidArgumentError(kNoBody);
  }
  options.entities_display = kBodyLabel;
  return absl::OkStatus();
}

absl::Status ParseOutput(const QueryParams& query, features::HistoricalOptions& options) {
  std::optional<std::string> out = query.Get("out");
  std::optional<std::string> tag = query.Get("tag");
  std::optional<std::string> message = query.Get("message");
  if (!out) {
    if (tag || message) {
      return absl::InvalidArgumentError(
          "tag= and message= describe the stored version: give out=DATASET with them");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(dataset::ValidateDatasetName(*out));
  options.output = *out;
  if (tag) {
    RETURN_IF_ERROR(dataset::ValidateTagName(*tag));
    options.tag = *tag;
  }
  options.message = message.value_or("");
  return absl::OkStatus();
}

absl::StatusOr<server::Response> TrainingSetAnswer(store::Workspace& workspace,
                                                   const dataset::DatasetStore& datasets,
                                                   const features::HistoricalOptions& options,
                                                   const fs::path& uploads) {
  features::TrainingSetFile written;
  ASSIGN_OR_RETURN(std::shared_ptr<server::BodyFile> file,
                   BuildFileAnswer(uploads, "training-set", [&](const fs::path& path) {
                     ASSIGN_OR_RETURN(written, features::WriteTrainingSetFile(workspace, datasets,
                                                                              options, path));
                     return absl::OkStatus();
                   }));
  server::Response response;
  response.body_file = std::move(file);
  response.content_type = server::kCsvContentType;
  response.headers.emplace_back("X-Ferry-Rows", Cat(written.rows));
  return response;
}

absl::StatusOr<server::Response> Retrieve(store::Workspace& workspace,
                                          dataset::DatasetStore& datasets,
                                          const features::HistoricalOptions& options,
                                          const fs::path& uploads) {
  if (options.output.empty()) return TrainingSetAnswer(workspace, datasets, options, uploads);
  ASSIGN_OR_RETURN(features::HistoricalResult result,
                   features::RetrieveHistorical(workspace, datasets, options));
  return server::JsonResponse(features::HistoricalResultToJson(result),
                              result.added.created ? 201 : 200);
}

}  // namespace

absl::StatusOr<HistoricalRequest> ParseHistoricalRequest(
    const server::Request& request, const features::FeatureRegistry& registry) {
  ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(query.OnlyThese({"service", "features", "entities", "format",
                                   "full_feature_names", "out", "tag", "message"}));
  const std::string features = query.Get("features").value_or("");
  const std::string service = query.Get("service").value_or("");
  if (features.empty() == service.empty()) {
    return absl::InvalidArgumentError("give either features=view:f,... or service=NAME");
  }
  HistoricalRequest parsed;
  features::HistoricalOptions& options = parsed.options;
  if (service.empty()) {
    const std::vector<std::string> refs = absl::StrSplit(features, ',', absl::SkipEmpty());
    ASSIGN_OR_RETURN(options.selection, registry.Select(refs));
  } else {
    ASSIGN_OR_RETURN(options.selection, registry.SelectService(service));
  }
  RETURN_IF_ERROR(ParseEntities(query, request, options));
  ASSIGN_OR_RETURN(options.full_feature_names, query.GetBool("full_feature_names", false));
  RETURN_IF_ERROR(ParseOutput(query, options));
  return parsed;
}

absl::StatusOr<server::Response> RunHistoricalRequest(store::Workspace& workspace,
                                                      dataset::DatasetStore& datasets,
                                                      const HistoricalRequest& request,
                                                      const fs::path& body,
                                                      const fs::path& uploads) {
  features::HistoricalOptions options = request.options;
  std::error_code ec;
  const uintmax_t body_size = fs::file_size(body, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), Cat("stat ", body.string()));
  if (options.entities_source == EntitySource::kDataset) {
    if (body_size > 0) {
      return absl::InvalidArgumentError(kBodyWithEntities);
    }
  } else {
    if (body_size == 0) {
      return absl::InvalidArgumentError(kNoBody);
    }
    options.entities = body.string();
  }
  absl::StatusOr<server::Response> response = Retrieve(workspace, datasets, options, uploads);
  if (response.ok()) return response;
  // The library's advice names the CLI's flag; here it is a query parameter.
  std::string message(core::View(response.status().message()));
  if (size_t flag = message.find("--full-feature-names"); flag != std::string::npos) {
    message.replace(flag, std::strlen("--full-feature-names"), "full_feature_names=true");
  }
  return absl::Status(response.status().code(), message);
}

}  // namespace ferry::api
