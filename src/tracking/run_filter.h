#pragma once

// Run filter and order expressions, as `ferry runs list --filter` and the search API
// take them (MLflow's search syntax):
//
//   metrics.auc > 0.9 and params.max_depth = "6" and tags.team = 'fraud'
//   attributes.status = "FINISHED" and start_time >= 1767225600000000
//   metrics.`val loss` < 0.3            (quoted names: `...` or "..." after the dot)
//
// A filter is clauses joined by AND (OR is refused, as MLflow does). A clause is an
// entity, an operator and a literal:
//   metrics.KEY   (the run's latest value) = != < <= > >= a number
//   params.KEY, tags.KEY                   = != LIKE ILIKE  a quoted string
//   attributes.NAME (or NAME alone): run_id, run_name, status, user, host,
//     source_sha256 (strings: = != LIKE ILIKE), start_time, end_time, experiment_id
//     (integers, microseconds for times: = != < <= > >=)
// Prefixes may also be singular (metric., param., tag., attribute.). Runs that lack a
// metric, param or tag never match a clause on it; NaN matches no comparison.
//
// An order is an entity and ASC or DESC (default ASC), e.g. "metrics.auc DESC".
//
// Why a small hand-written parser: the grammar is a dozen tokens, and owning it keeps
// every user string a bound parameter (run_search.cc compiles clauses to `?` SQL) and
// the error messages precise (they name the offending text and its position).
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::tracking {

enum class EntityKind : uint8_t { kMetric, kParam, kTag, kAttribute };

// Run attributes that filters and orders may name.
enum class Attribute : uint8_t {
  kRunId,
  kRunName,
  kStatus,
  kUser,
  kHost,
  kSourceSha256,
  kStartTime,
  kEndTime,
  kExperimentId,
};

struct Entity {
  EntityKind kind = EntityKind::kAttribute;
  std::string key;                          // metric, param or tag key
  Attribute attribute = Attribute::kStartTime;  // for kAttribute
  friend bool operator==(const Entity&, const Entity&) = default;
};

// The runs column of an attribute ("start_time", "name", ...) and whether it holds
// integers; whether it may be NULL (only end_time).
std::string_view AttributeColumn(Attribute attribute);
bool AttributeIsInteger(Attribute attribute);
bool AttributeIsNullable(Attribute attribute);

enum class Comparison : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike };

struct Clause {
  Entity entity;
  Comparison op = Comparison::kEq;
  std::variant<double, int64_t, std::string> literal;
};

struct Filter {
  std::vector<Clause> clauses;  // all must hold
};

struct Order {
  Entity entity{EntityKind::kAttribute, "", Attribute::kStartTime};
  bool descending = true;
};

// Parses a filter ("" is no filter). InvalidArgument naming the problem and where it
// is, e.g. `filter: expected a quoted string after "params.max_depth =" at 22`.
absl::StatusOr<Filter> ParseFilter(std::string_view text);

// Parses an order ("" is the default: start_time DESC). InvalidArgument.
absl::StatusOr<Order> ParseOrder(std::string_view text);

}  // namespace ferry::tracking
