#pragma once

// OnlineFeatures: feature values for entity keys from the online store. The in-process
// path serving uses to enrich requests; POST /api/v1/features/online wraps it.
//
// Prepare a query once per set of requested features (it resolves output names, types
// and where each feature sits inside a stored value), then Get as often as needed:
//
//   ASSIGN_OR_RETURN(FeatureSelection selection, registry.Select({"customer_stats:*"}));
//   ASSIGN_OR_RETURN(OnlineQuery query, OnlineQuery::Prepare(selection, {}));
//   EntityKeyValues customer{"customer_id", table::ColumnType::kString, {}, {"c0001"}};
//   OnlineResult result;  // reused across calls: keeps its capacity
//   RETURN_IF_ERROR(features.Get(query, {&customer, 1}, result));
//
// The result has one OnlineColumn per requested feature, in request order, with a value,
// a status and the value's event time per entity row. Statuses are Feast's:
//   PRESENT          the key's latest materialized row has a value for the feature,
//                    within the view's ttl
//   NOT_FOUND        the key was never materialized for the view, or only under an
//                    earlier layout of it (its features changed since: rematerialize)
//   NULL_VALUE       the key's latest row has a null for the feature
//   OUTSIDE_MAX_AGE  the row's event time is before now - ttl (now from the injected
//                    clock); the value is withheld, its event time still reported
//
// Speed: Get encodes keys into per-thread buffers, reads every view's keys with one store
// call (MultiGets for RocksDB; one pipelined round trip for Redis) and decodes into the
// result's reused columns: once a thread and a result are warm, a lookup allocates nothing
// (in ferry; hiredis allocates its replies).
//
// Thread-safety: OnlineFeatures and a prepared OnlineQuery are immutable and may be
// shared by any number of threads; an OnlineResult is used by one caller at a time.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "features/feature_registry.h"
#include "features/online_store.h"
#include "features/online_value.h"

namespace ferry::features {

enum class FeatureStatus : uint8_t { kPresent, kNotFound, kNullValue, kOutsideMaxAge };
// "PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE".
std::string_view FeatureStatusName(FeatureStatus status);

// The values of one join key, one per entity row.
struct EntityKeyValues {
  std::string name;
  table::ColumnType type = table::ColumnType::kString;  // kInt64 or kString
  std::vector<int64_t> int64_values;                    // kInt64
  std::vector<std::string> string_values;               // kString
  size_t size() const {
    return type == table::ColumnType::kInt64 ? int64_values.size() : string_values.size();
  }
};

struct OnlineQueryOptions {
  bool full_feature_names = false;  // name outputs "view__feature" instead of "feature"
};

class OnlineQuery {
 public:
  // Errors: InvalidArgument when a view has online: false, when two outputs (features, or
  // a feature and a join key) would get the same name (naming both, and suggesting
  // full_feature_names), or when two views' join keys share a name but not a type.
  static absl::StatusOr<OnlineQuery> Prepare(const FeatureSelection& selection,
                                             const OnlineQueryOptions& options);

  // Every join key the views need, in order of first appearance, each once.
  const std::vector<JoinKey>& join_keys() const { return join_keys_; }
  // Output names and types of the features, in request order.
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<table::ColumnType>& feature_types() const { return feature_types_; }

 private:
  friend class OnlineFeatures;
  struct Output {
    size_t column;   // in the result
    size_t feature;  // in the view's layout
  };
  struct ViewPlan {
    std::string key_prefix;  // "view\0"
    std::string name;
    uint64_t layout_tag = 0;
    int64_t ttl_micros = 0;  // 0: no limit
    std::vector<size_t> keys;  // indexes into join_keys_
    OnlineValueLayout layout{{}};
    std::vector<Output> outputs;
  };

  std::vector<JoinKey> join_keys_;
  std::vector<std::string> feature_names_;
  std::vector<table::ColumnType> feature_types_;
  std::vector<ViewPlan> views_;
};

// One requested feature's values, statuses and event times, per entity row.
struct OnlineColumn {
  std::string name;
  table::ColumnType type = table::ColumnType::kFloat64;
  std::vector<FeatureStatus> statuses;
  std::vector<int64_t> event_timestamps;  // 0 when NOT_FOUND
  // Per row: int64, timestamp and bool values as integers, float64 as its bits, strings
  // as (offset << 32 | size) into string_bytes. 0 where there is no value.
  std::vector<uint64_t> values;
  std::string string_bytes;

  int64_t Int64(size_t row) const { return static_cast<int64_t>(values[row]); }
  bool Bool(size_t row) const { return values[row] != 0; }
  double Float64(size_t row) const {
    double d;
    std::memcpy(&d, &values[row], sizeof(d));
    return d;
  }
  std::string_view String(size_t row) const {
    return std::string_view(string_bytes).substr(values[row] >> 32, values[row] & 0xffffffffu);
  }
};

struct OnlineResult {
  size_t rows = 0;
  std::vector<OnlineColumn> columns;  // the query's features, in request order
};

class OnlineFeatures {
 public:
  // The store and clock must outlive this object.
  OnlineFeatures(const OnlineStore& store, core::ClockPtr clock)
      : store_(store), clock_(std::move(clock)) {}

  // Looks up every entity row for every view of the query. Errors: InvalidArgument
  // naming the join key when one the query needs is missing from `entities`, has values
  // of the other type, or is not needed by any view, and when the entity columns differ
  // in length; DataLoss when a stored value is damaged; the store's read errors.
  absl::Status Get(const OnlineQuery& query, std::span<const EntityKeyValues> entities,
                   OnlineResult& out) const;

 private:
  const OnlineStore& store_;
  core::ClockPtr clock_;
};

}  // namespace ferry::features
