#pragma once

// ProfileDiff: what changed between two profiles of a dataset (`ferry data diff`):
// schema changes (columns added, removed, retyped), the row count, and for columns in
// both the key statistics that differ: null rate, distinct count, and for numeric and
// timestamp columns mean, stddev and the p50/p90/p99 quantiles (bool columns: true
// rate). Statistics are compared exactly, so profiling the same bytes twice gives an
// empty diff; callers judge which changes matter (relative_change()).
//
// Thread-safety: value types and a pure function.

#include <cstdint>
#include <string>
#include <vector>

#include "table/schema.h"
#include "table/table_profile.h"

namespace ferry::table {

struct ColumnTypeChange {
  std::string column;
  ColumnType before;
  ColumnType after;
};

struct StatisticChange {
  std::string column;
  std::string statistic;  // "null_rate", "distinct", "mean", "stddev", "p50", "p90", "p99", "true_rate"
  double before = 0;
  double after = 0;
  bool is_time = false;   // values are timestamps (microseconds since the epoch)

  // (after - before) / |before|; infinite when before is 0 and after is not.
  double relative_change() const;
};

struct ProfileDiff {
  std::vector<ColumnSchema> added_columns;    // in `after` only, in its order
  std::vector<ColumnSchema> removed_columns;  // in `before` only, in its order
  std::vector<ColumnTypeChange> type_changes;
  int64_t rows_before = 0;
  int64_t rows_after = 0;
  std::vector<StatisticChange> changes;  // by column (in `after`'s order), then statistic

  // No schema change, same row count, no statistic changed.
  bool empty() const;
  // One line per change, for people, e.g.
  //   rows: 1000 -> 1200 (+20.0%)
  //   + column country: string
  //   ~ column amount: int64 -> float64
  //   amount.mean: 12.5 -> 13.1 (+4.8%)
  //   event_time.p50: 2026-01-01T22:30:40.000000Z -> 2026-01-04T00:58:03.000000Z (+2.1d)
  // (timestamp points change by a duration; timestamp stddevs print as durations).
  std::string ToText() const;
  // {"rows": {"before", "after"}, "added_columns": [{"name","type"}], "removed_columns",
  //  "type_changes": [{"column","before","after"}],
  //  "changes": [{"column","statistic","before","after"}]}
  std::string ToJson() const;
};

ProfileDiff DiffProfiles(const TableProfile& before, const TableProfile& after);

}  // namespace ferry::table
