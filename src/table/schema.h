#pragma once

// Schema: the ordered, named and typed columns of a table, as a profile infers them and
// as the record batch reader converts to.
//
// Thread-safety: value types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::table {

enum class ColumnType : uint8_t { kInt64, kFloat64, kBool, kTimestamp, kString };

// "int64", "float64", "bool", "timestamp", "string".
std::string_view ColumnTypeName(ColumnType type);
std::optional<ColumnType> ParseColumnType(std::string_view name);

// How a timestamp column is written in the file. Values are always microseconds since
// the Unix epoch, UTC, once read.
enum class TimeEncoding : uint8_t {
  kNone,          // not a timestamp column
  kIso8601,       // text: "2026-01-01T00:00:09Z", "2026-01-01 00:00:09", "2026-01-01", ...
  kEpochSeconds,  // numbers, in a column whose name says it holds times (IsTimeLikeName)
  kEpochMillis,
  kEpochMicros,
};

// "none", "iso8601", "epoch_s", "epoch_ms", "epoch_us".
std::string_view TimeEncodingName(TimeEncoding encoding);
std::optional<TimeEncoding> ParseTimeEncoding(std::string_view name);
// Microseconds per unit of an epoch encoding (1 for the others).
int64_t MicrosPerUnit(TimeEncoding encoding);

struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::kString;
  TimeEncoding time_encoding = TimeEncoding::kNone;
  friend bool operator==(const ColumnSchema&, const ColumnSchema&) = default;
};

struct Schema {
  std::vector<ColumnSchema> columns;

  // The index of the column named `name`, if any.
  std::optional<size_t> Find(std::string_view name) const;
  friend bool operator==(const Schema&, const Schema&) = default;
};

}  // namespace ferry::table
