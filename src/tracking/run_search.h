#pragma once

// SearchRuns: runs matching a filter (run_filter.h), in an order, a page at a time.
//
// Pages are cut by keyset ("seek") pagination: the page token holds the order value
// and run id of the last run shown, and the next page's query starts right after them
// through an index, so page 1000 costs what page 1 costs and runs logged meanwhile
// neither repeat nor vanish from later pages. Runs that lack the order's key (no such
// metric, param or tag, a NaN latest value, or no end_time yet) come after all others,
// by run id, whatever the direction, as MLflow does. Ties on the order value are
// broken by run id, in the order's direction.
//
// A page never loads what it does not show: the query returns the page's run ids
// (through latest_metrics, params or runs and their indexes), and then params, tags
// and latest metric values are read for those runs only; no metric series is read.
//
// The token is opaque to callers (URL-safe base64 of a small JSON document, format in
// docs/tracking-schema.md) and bound to its search: using it with another filter,
// order or set of experiments is InvalidArgument.
//
// Thread-safety: stateless; runs in one read transaction of the store.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tracking/run_record.h"
#include "tracking/tracking_store.h"

namespace ferry::tracking {

struct SearchRequest {
  static constexpr int kDefaultMaxResults = 100;
  static constexpr int kMaxMaxResults = 1000;

  std::vector<std::string> experiments;  // names; empty: every experiment
  std::string filter;                    // "" matches every run
  std::string order_by;                  // "" is "start_time DESC"
  int max_results = kDefaultMaxResults;  // 1..kMaxMaxResults
  std::string page_token;                // "" for the first page
};

struct SearchPage {
  std::vector<Run> runs;        // info, params, tags and latest metrics of each
  std::string next_page_token;  // empty on the last page
};

// Errors: InvalidArgument for a bad filter, order, max_results or page token;
// NotFound for an unknown experiment; the store's.
absl::StatusOr<SearchPage> SearchRuns(const TrackingStore& store, const SearchRequest& request);

}  // namespace ferry::tracking
