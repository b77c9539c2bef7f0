#pragma once

// CsvWriter: typed values to RFC 4180 CSV, buffered, for files ferry writes itself
// (training sets). Values are written so that ferry's own profiler reads them back with
// the same types: int64 in decimal, float64 in the shortest form that round-trips
// (std::to_chars; NaN and infinities as null), bool as true/false, timestamps as ISO 8601 UTC with 'Z' (fractional
// seconds only when not whole), strings quoted only when they must be. Nulls are empty
// fields.
//
// Thread-safety: not thread-safe; one writer per file.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "core/file.h"
#include "table/schema.h"

namespace ferry::table {

// Appends `micros` (since the Unix epoch, UTC) as "2026-01-01T00:00:22Z" or
// "2026-01-01T00:00:22.250000Z".
void AppendIsoTimestamp(std::string& out, int64_t micros);

class CsvWriter {
 public:
  explicit CsvWriter(int fd) : fd_(fd) { buffer_.reserve(kFlushBytes + 4096); }

  void String(std::string_view value);
  void Int64(int64_t value);
  void Float64(double value);
  void Bool(bool value);
  void Timestamp(int64_t micros);
  void Null() { Separate(); }
  // Ends the row; writes the buffer out when it is full. Errors: the write's.
  absl::Status EndRow();
  // Writes what is buffered. Errors: the write's.
  absl::Status Flush();

 private:
  static constexpr size_t kFlushBytes = size_t{1} << 20;

  void Separate() {
    if (fields_++ > 0) buffer_.push_back(',');
  }

  int fd_;
  std::string buffer_;
  size_t fields_ = 0;  // in the current row
};

// Writes row `row` of a typed column -- a RecordBatch's ColumnArray, or anything with
// the same typed arrays, `type`, IsNull and StringAt -- with the method for its type.
template <typename Column>
void WriteColumnValue(CsvWriter& out, const Column& c, size_t row) {
  if (c.IsNull(row)) return out.Null();
  switch (c.type) {
    case ColumnType::kInt64:
      return out.Int64(c.int64_values[row]);
    case ColumnType::kTimestamp:
      return out.Timestamp(c.int64_values[row]);
    case ColumnType::kFloat64:
      return out.Float64(c.float64_values[row]);
    case ColumnType::kBool:
      return out.Bool(c.bool_values[row] != 0);
    case ColumnType::kString:
      return out.String(c.StringAt(row));
  }
}

}  // namespace ferry::table
