#pragma once

// TableProfile: the schema and statistics of one tabular dataset file, computed in one
// streaming pass by TableProfiler (table_profiler.h). It is the reference that drift
// detection compares live traffic with, so every sketch in it is kept whole (mergeable,
// and ToJson/FromJson round-trip it exactly), not only the figures derived from it.
// The JSON shape is documented in docs/table-profile.md.
//
// Per column (by type):
//   all        count of non-null values, null count, distinct count (DistinctSketch),
//              top values with counts (TopValues) when the column has few distinct values
//              or is a string/bool column
//   int64, float64, timestamp
//              exact min and max, mean and standard deviation (Moments), quantiles and
//              CDF (KllSketch), a histogram derived from the quantile sketch
//   bool       true and false counts
//   string     value length min / max / mean (bytes)
// Timestamps are microseconds since the Unix epoch, UTC, in every statistic.
//
// Thread-safety: value types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "table/distinct_sketch.h"
#include "table/format.h"
#include "table/input_limits.h"
#include "table/kll_sketch.h"
#include "table/moments.h"
#include "table/row_sample.h"
#include "table/schema.h"
#include "table/top_values.h"

namespace ferry::table {

// Statistics of int64, float64 and timestamp columns. Non-finite floats (nan, inf) are
// counted in `non_finite` and left out of everything else here.
struct NumericStats {
  double min = 0;  // exact; for int64/timestamp also in int_min/int_max without rounding
  double max = 0;
  int64_t int_min = 0;
  int64_t int_max = 0;
  int64_t non_finite = 0;
  Moments moments;
  KllSketch quantiles;
  friend bool operator==(const NumericStats&, const NumericStats&) = default;
};

struct LengthStats {
  int64_t min = 0;
  int64_t max = 0;
  int64_t total = 0;  // sum of lengths; mean = total / count
  friend bool operator==(const LengthStats&, const LengthStats&) = default;
};

struct Histogram {
  std::vector<double> edges;    // bins + 1 ascending bin edges
  std::vector<int64_t> counts;  // values in [edges[i], edges[i+1]) (the last bin is closed)
  friend bool operator==(const Histogram&, const Histogram&) = default;
};

struct ColumnProfile {
  std::string name;
  ColumnType type = ColumnType::kString;
  TimeEncoding time_encoding = TimeEncoding::kNone;
  int64_t count = 0;       // non-null values
  int64_t null_count = 0;  // empty CSV fields; JSON nulls and missing keys
  DistinctSketch distinct;
  // Absent for int64/float64/timestamp columns with more than TopValues::kCapacity
  // distinct values, where counting them stopped.
  std::optional<TopValues> top_values;
  std::optional<NumericStats> numeric;  // int64, float64, timestamp
  int64_t true_count = 0;               // bool
  int64_t false_count = 0;
  LengthStats length;                   // string (kept for every type)

  ColumnSchema schema() const { return {name, type, time_encoding}; }
  double null_rate() const;
  // `bins` equal-width bins over [min, max] (one per value for int64 columns with at
  // most `bins` distinct values), counts estimated from the quantile sketch (exact at
  // the bin edges up to the sketch's rank error). Empty for non-numeric columns.
  Histogram MakeHistogram(int bins = 32) const;
  friend bool operator==(const ColumnProfile&, const ColumnProfile&) = default;
};

struct TableProfile {
  // Format version of ToJson's output; FromJson reads this version only.
  static constexpr int kFormatVersion = 1;

  Format format = Format::kCsv;
  int64_t row_count = 0;       // rows profiled (bad rows excluded)
  int64_t bad_row_count = 0;   // rows skipped in lenient mode
  std::vector<BadRow> bad_rows;  // the first few skipped rows
  std::vector<ColumnProfile> columns;
  RowSample sample{0, 0};

  Schema schema() const;
  const ColumnProfile* column(std::string_view name) const;

  // JSON text (docs/table-profile.md); deterministic for equal profiles.
  std::string ToJson() const;
  // Errors: InvalidArgument naming the path of a missing or malformed member or an
  // inconsistent sketch; FailedPrecondition for another format_version or hash_version.
  static absl::StatusOr<TableProfile> FromJson(std::string_view json);

  friend bool operator==(const TableProfile&, const TableProfile&) = default;
};

}  // namespace ferry::table
