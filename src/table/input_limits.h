#pragma once

// What the table readers accept, and how they account for rows they skip.
//
// Limits bound memory whatever the input: a reader holds at most one record (or JSON
// line) of max_record_bytes while it is incomplete, and refuses headers or rows wider
// than max_columns.
//
// Thread-safety: value types.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::table {

struct InputLimits {
  // Columns in a CSV header or distinct keys over a JSON Lines file.
  size_t max_columns = 10'000;
  // Bytes of one field (after unescaping).
  size_t max_field_bytes = size_t{16} << 20;
  // Bytes of one CSV record (all its physical lines) or one JSON line.
  size_t max_record_bytes = size_t{64} << 20;
};

// Whether rows with errors stop reading or are skipped.
enum class ErrorMode {
  kStrict,   // the first bad row is an InvalidArgument error naming its line
  kLenient,  // bad rows are skipped and counted
};

struct BadRow {
  int64_t line = 0;  // 1-based physical line where the row starts
  std::string reason;
  friend bool operator==(const BadRow&, const BadRow&) = default;
};

// Rows skipped in lenient mode: how many, and the first few with their reasons.
struct BadRowLog {
  static constexpr size_t kKept = 10;
  int64_t count = 0;
  std::vector<BadRow> first;

  void Record(int64_t line, std::string reason) {
    ++count;
    if (first.size() < kKept) first.push_back(BadRow{line, std::move(reason)});
  }
};

}  // namespace ferry::table
