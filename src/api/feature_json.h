#pragma once

// The JSON shapes of the feature store's online API, shared by the HTTP routes
// (feature_routes.h) and the CLI's `--json` output, so both print the same thing.
//
// Online features (Feast's feature-server response, column-major as its
// GetOnlineFeaturesResponse proto defines it):
//
//   {"metadata": {"feature_names": ["customer_id", "avg_amount_7d", ...]},
//    "results": [{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}
//
// one result per name: the join keys first (their values echo the request, status
// PRESENT, event time the epoch), then the features in request order. Values are JSON
// numbers, strings and booleans; timestamp features are RFC 3339 strings; float64
// values that JSON cannot hold are "NaN", "Infinity", "-Infinity" (protobuf's JSON
// mapping); a value that is not PRESENT is null. Event times are RFC 3339 UTC,
// "1970-01-01T00:00:00Z" for NOT_FOUND.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "features/materialization.h"
#include "features/materialization_log.h"
#include "features/online_features.h"
#include "features/view_status.h"
#include "nlohmann/json.hpp"

namespace ferry::api {

// Appends the online features response for `entities` (the join key columns, in the
// order they are echoed) and `result`.
void AppendOnlineResponse(std::string& out, std::span<const features::EntityKeyValues> entities,
                          const features::OnlineResult& result);

// Appends `text` as a JSON string (quoted, escaped; invalid UTF-8 replaced by U+FFFD).
void AppendJsonString(std::string& out, std::string_view text);

// {"views": [{"view", "source", "start", "end", "up_to_date", "table_built", "rows_read",
// "rows_in_window", "keys_written", "keys_kept", "seconds"}, ...]}; times RFC 3339,
// "start" null when the window starts at the beginning.
nlohmann::json MaterializationJson(const std::vector<features::ViewMaterialization>& runs);

// A view's last materialization for listings: {"materialized_at", "window_start",
// "window_end", "source", "keys_written", "keys_kept", "rows_in_window"}, or null.
nlohmann::json LastMaterializationJson(
    const std::optional<features::MaterializationRecord>& record);

// What a view's status adds to its definition, merged into `view_json`: "source_version",
// "newest_event" (RFC 3339 or null), "freshness_seconds" (the newest event's age by the
// workspace's clock at `now_micros`, negative when it lies ahead; null without events),
// "consumers" ([{"kind", "id"}]: training sets and other things made from the view, from
// the lineage graph), "last_materialization".
void AddViewStatusJson(const features::ViewStatus& status, int64_t now_micros,
                       nlohmann::json& view_json);

// A time given by a user: RFC 3339 / ISO 8601 (a date alone is midnight UTC) or "now".
// InvalidArgument naming `what` otherwise.
absl::StatusOr<int64_t> ParseTimeArgument(std::string_view what, std::string_view text,
                                          int64_t now_micros);

}  // namespace ferry::api
