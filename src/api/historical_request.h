#pragma once

// HistoricalRequest: POST /api/v1/features/historical (historical retrieval, the
// point-in-time join of features/historical_retrieval.h) as its query asks for it, and
// the retrieval run over the entity table its body brought. The options and messages
// mirror `ferry features historical` (cli/features_historical_command.cc).
//
// Thread-safety: value types and free functions; RunHistoricalRequest may run
// concurrently with itself (as RetrieveHistorical may).

#include <filesystem>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/historical_retrieval.h"
#include "server/http_message.h"
#include "store/workspace.h"

namespace ferry::api {

struct HistoricalRequest {
  // The selection, full_feature_names, and when the entity table is a dataset version
  // (entities=), `entities`; with out=, `output`, `tag` and `message`.
  features::HistoricalOptions options;
};

// Parses the query: service=NAME or features=view:f,view:* (exactly one),
// entities=DATASET@REF, format=csv|jsonl, full_feature_names=BOOL, out=DATASET, tag=,
// message=, and resolves the features, so a bad request is refused before its body is
// sent. Errors: InvalidArgument naming the problem for an unknown parameter, both or
// neither of service and features, a malformed reference, dataset name or tag, an
// unknown format, format= with entities=, a body announced with entities= or an empty
// one without it, tag= or message= without out=; NotFound for an unknown view, feature
// or service.
absl::StatusOr<HistoricalRequest> ParseHistoricalRequest(const server::Request& request,
                                                         const features::FeatureRegistry& registry);

// Runs the retrieval; `body` is the file the request's body was received into (the
// entity table, or empty with entities=). With out=: the training set is stored as a
// new version of that dataset, and the answer is HistoricalResultToJson with 201 (200
// when the bytes equal its latest version). Without: the training set itself, as
// text/csv streamed from a temporary file in `uploads`, with X-Ferry-Rows. Errors:
// InvalidArgument for a body with entities= or none without; RetrieveHistorical's and
// WriteTrainingSetFile's (InvalidArgument for a bad entity table, NotFound for a
// missing dataset version). Nothing is stored on error.
absl::StatusOr<server::Response> RunHistoricalRequest(store::Workspace& workspace,
                                                      dataset::DatasetStore& datasets,
                                                      const HistoricalRequest& request,
                                                      const std::filesystem::path& body,
                                                      const std::filesystem::path& uploads);

}  // namespace ferry::api
