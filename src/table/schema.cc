#include "table/schema.h"

namespace ferry::table {

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kString:
      return "string";
  }
  return "string";
}

std::optional<ColumnType> ParseColumnType(std::string_view name) {
  for (ColumnType t : {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool,
                       ColumnType::kTimestamp, ColumnType::kString}) {
    if (ColumnTypeName(t) == name) return t;
  }
  return std::nullopt;
}

std::string_view TimeEncodingName(TimeEncoding encoding) {
  switch (encoding) {
    case TimeEncoding::kNone:
      return "none";
    case TimeEncoding::kIso8601:
      return "iso8601";
    case TimeEncoding::kEpochSeconds:
      return "epoch_s";
    case TimeEncoding::kEpochMillis:
      return "epoch_ms";
    case TimeEncoding::kEpochMicros:
      return "epoch_us";
  }
  return "none";
}

std::optional<TimeEncoding> ParseTimeEncoding(std::string_view name) {
  for (TimeEncoding e : {TimeEncoding::kNone, TimeEncoding::kIso8601, TimeEncoding::kEpochSeconds,
                         TimeEncoding::kEpochMillis, TimeEncoding::kEpochMicros}) {
    if (TimeEncodingName(e) == name) return e;
  }
  return std::nullopt;
}

int64_t MicrosPerUnit(TimeEncoding encoding) {
  switch (encoding) {
    case TimeEncoding::kEpochSeconds:
      return 1'000'000;
    case TimeEncoding::kEpochMillis:
      return 1'000;
    default:
      return 1;
  }
}

std::optional<size_t> Schema::Find(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

}  // namespace ferry::table
