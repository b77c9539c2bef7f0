#pragma once

// Feature store routes:
//   GET  /api/v1/features               entities, feature views (each with its source
//                                       version, newest event and last materialization)
//                                       and feature services
//   GET  /api/v1/features/views/{name}  one feature view with the same status
//   POST /api/v1/features/online        Feast's get-online-features: the body is
//        {"features": ["view:feature", ...] | "feature_service": "NAME",
//         "entities": {"join_key": [v1, v2, ...], ...}, "full_feature_names": false}
//        and the answer the column-major response of feature_json.h. Errors: 404 for an
//        unknown view, feature or service; 400 naming the field for a malformed body, a
//        missing or unneeded join key, a value whose JSON type does not match its join
//        key's type, or lists of different lengths; 413 beyond max_entity_rows rows.
//   POST /api/v1/features/materialize   {"start": T|null, "end": T|"now", "views": [...]}
//        or {"incremental": true, "end": T, "views": [...]} (every field optional: end
//        defaults to now, views to every online view); answers MaterializationJson.
//        It runs in the request's server thread until done, so that thread's other
//        connections wait meanwhile; lookups on the other threads go on.
//   POST /api/v1/features/historical?service=NAME|features=view:f,...
//        [&entities=DATASET@REF | &format=csv|jsonl] [&full_feature_names=true]
//        [&out=DATASET&tag=T&message=M]
//        historical retrieval (features/historical_retrieval.h; historical_request.h):
//        the body is the entity table (none with entities=), streamed to a temporary
//        file in .ferry/uploads/ as it arrives. With out=: 201 (200 when unchanged)
//        with HistoricalResultToJson, the training set stored as a version with its
//        lineage. Without: 200, the training set as text/csv, streamed, with
//        X-Ferry-Rows. Errors: 400 naming the problem (query, entity table), 404 for
//        unknown views, features, services or datasets; nothing is stored. The join
//        runs on the server's blocking pool (the upload sink's finish), so no IO thread
//        waits for it.
//
// The online store is the workspace's `.ferry/online/`, held by a SharedOnlineStore: if
// another process has it open when the server starts, the online and materialize routes
// answer 503 saying so until it can be opened.
//
// Definitions applied while the server runs are seen by online lookups within
// `definitions_refresh` (resolved queries are cached for that long).

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "features/shared_online_store.h"
#include "server/router.h"
#include "store/workspace.h"

namespace ferry::api {

struct FeatureRoutesOptions {
  size_t max_entity_rows = 10'000;
  std::chrono::milliseconds definitions_refresh{1000};
};

// The workspace and the store must outlive the router. Errors: the stores' (opening the
// registry).
absl::Status AddFeatureRoutes(server::Router& router, store::Workspace& workspace,
                              std::shared_ptr<features::SharedOnlineStore> online,
                              const FeatureRoutesOptions& options = {});

}  // namespace ferry::api
