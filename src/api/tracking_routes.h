#pragma once

// Experiment tracking routes (the shapes of tracking/run_record.h's JSON; details and
// examples in docs/tracking-schema.md):
//   GET  /api/v1/experiments                      {"experiments": [...]}
//   POST /api/v1/experiments                      {"name", "description"} -> 201
//   POST /api/v1/runs                             create: {"experiment", "name", "source_name",
//        "source_sha256", "user", "host", and a batch's keys} -> 201 {"run": info}
//   GET  /api/v1/runs?experiment=&filter=&order_by=&max_results=&page_token=   search
//   POST /api/v1/runs/search                      the same as a JSON body ("experiments": [...])
//        -> {"runs": [...], "next_page_token": ... or null}
//   GET  /api/v1/runs/{run_id}                    the run with everything it logged
//   POST /api/v1/runs/{run_id}/log-batch          {"params": {k: v}, "tags": {k: v},
//        "metrics": [{"key", "value", "step", "timestamp"}], "inputs": [{"dataset", "role"}]}
//        one transaction; metric values may be "NaN", "Infinity", "-Infinity"
//   POST /api/v1/runs/{run_id}/status             {"status": "FINISHED"|"FAILED"|"KILLED"}
//   GET  /api/v1/runs/{run_id}/metrics/{key}      the series: {"key", "points": [...]}
//   POST /api/v1/runs/{run_id}/artifacts?path=NAME   the body is the file (streamed)
// Errors as TrackingStore reports them: 404 unknown run or experiment, 409 a changed
// param (already_exists) or a run that has ended (failed_precondition), 400 bad input.

#include "absl/status/status.h"
#include "dataset/dataset_store.h"
#include "server/router.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace ferry::api {

// The stores must outlive the router.
absl::Status AddTrackingRoutes(server::Router& router, store::Workspace& workspace,
                               std::shared_ptr<tracking::TrackingStore> tracking);

}  // namespace ferry::api
