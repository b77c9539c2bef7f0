#pragma once

// PushToOnline: rows of one feature view written straight into the online store as
// events happen, the way a stream processor feeds a feature store (Feast's push to the
// online store), without waiting for the offline data to be exported and materialized.
// Each row gives the view's join keys, its timestamp field (RFC 3339, or microseconds
// since the epoch), the created timestamp field when the view has one, and each feature
// (null or absent: a null value). Rows follow materialization's rule: a row never replaces
// a newer stored value of its key (event time, then created time), and of several rows of
// one key the latest wins. A pushed value is visible to lookups when the call returns and
// survives a crash of ferry; like every write between two materializations, it reaches
// the disk with the store's next sync (the online store is a cache of the offline data,
// where the same rows arrive with the next export).
//
// Thread-safety: as the OnlineStore's writes (safe for concurrent use).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/statusor.h"
#include "features/feature_registry.h"
#include "features/online_store.h"

namespace ferry::features {

inline constexpr size_t kMaxPushRows = 10'000;

struct PushReport {
  int64_t rows = 0;
  int64_t written = 0;  // keys whose value was stored
  int64_t kept = 0;     // rows dropped because a newer value was stored (or pushed)
};

// Errors, each naming the view and, for a bad row, its index and field; nothing is
// written then: NotFound for an unknown view; FailedPrecondition for a view with
// `online: false`; InvalidArgument for rows that are not an array of objects, a missing or
// null join key or timestamp, a value of the wrong JSON type for its column's type, an
// unknown field, more than kMaxPushRows rows (ResourceExhausted); the store's errors.
absl::StatusOr<PushReport> PushToOnline(const FeatureRegistry& registry, OnlineStore& online,
                                        std::string_view view_name, const nlohmann::json& rows);

}  // namespace ferry::features
