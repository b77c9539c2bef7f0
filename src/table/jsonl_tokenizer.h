#pragma once

// JsonLinesTokenizer: a streaming JSON Lines reader. Fed a file's bytes in consecutive
// blocks of any size, it parses each line as one JSON object (simdjson's DOM parser,
// which picks the fastest kernel for the CPU at run time) and hands the object's
// top-level members to a Handler as cells of columns.
//
// Columns are the union of the keys over the file, numbered in order of first
// appearance; a row lacking a key has a null there. Values:
//   null          -> kNull
//   true / false  -> kBool   (text "true" / "false")
//   integer       -> kInt    (fits int64; text its decimal form)
//   other number  -> kFloat  (text its shortest round-trip form, e.g. 1.50 -> "1.5";
//                             integers beyond int64 are floats)
//   string        -> kString (text unescaped)
//   object, array -> kNested (text the value re-serialized without spaces)
// Lines are LF- or CRLF-terminated; the last may lack it; lines of only whitespace are
// skipped.
//
// Errors (InvalidArgument naming the 1-based line, e.g. "line 7: invalid JSON: ..."):
//   row   - invalid JSON or UTF-8, a value that is not an object, a duplicate or empty
//           key, more distinct keys than max_columns. Skipped and logged in
//           ErrorMode::kLenient (bad_rows()).
//   fatal - a line longer than max_record_bytes; a file without any object ("empty
//           file").
//
// Memory: one line (carried over when it spans blocks) plus the parser's buffers, a
// small multiple of the longest line.
//
// Thread-safety: not thread-safe; one thread feeds a tokenizer.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "table/input_limits.h"

namespace simdjson::dom {
class parser;
}

namespace ferry::table {

class JsonLinesTokenizer {
 public:
  enum class ValueKind : uint8_t { kNull, kBool, kInt, kFloat, kString, kNested };

  struct Cell {
    uint32_t column = 0;
    ValueKind kind = ValueKind::kNull;
    bool bool_value = false;  // kBool
    int64_t int_value = 0;    // kInt
    double float_value = 0;   // kFloat
    std::string_view text;    // see the table above; empty for kNull
  };

  class Handler {
   public:
    virtual ~Handler() = default;
    // A key seen for the first time becomes column `index` (0, 1, 2, ...), before the
    // row holding it.
    virtual absl::Status OnColumn(size_t index, std::string_view name) = 0;
    // One object's members, in the object's order. Views are valid during the call.
    virtual absl::Status OnRow(int64_t line, std::span<const Cell> cells) = 0;
  };

  JsonLinesTokenizer(ErrorMode mode, const InputLimits& limits, Handler& handler);
  ~JsonLinesTokenizer();

  // Reads the next bytes of the file. Errors: as listed above, or the handler's. After
  // an error every later call returns it again.
  absl::Status Consume(std::string_view bytes);
  // Ends the file (a last line without LF is parsed). Errors: as Consume.
  absl::Status Finish();

  const std::vector<std::string>& columns() const { return columns_; }
  int64_t records() const { return records_; }
  const BadRowLog& bad_rows() const { return bad_rows_; }

 private:
  struct PendingCell {
    std::string_view key;
    ValueKind kind;
    bool bool_value;
    int64_t int_value;
    double float_value;
    const char* text_data;  // null: text is at text_offset in scratch_
    size_t text_offset;
    size_t text_size;
  };

  absl::Status Scan(const char* data, size_t size);
  // Parses one line (without its LF); `readable` bytes from `line` may be read.
  absl::Status ParseLine(const char* line, size_t size, size_t readable);
  absl::Status BadRow(std::string reason);
  // Maps the row's keys to columns, creating new ones; empty reason on success.
  std::string AssignColumns();

  const ErrorMode mode_;
  const InputLimits limits_;
  Handler& handler_;
  absl::Status error_;
  std::unique_ptr<simdjson::dom::parser> parser_;

  std::string carry_;    // a line begun in an earlier block
  std::string padded_;   // a line copied out to get the parser's padding
  int64_t line_ = 1;     // line of the next byte
  int64_t row_line_ = 1;

  std::vector<std::string> columns_;
  absl::flat_hash_map<std::string, uint32_t> column_index_;
  std::vector<int64_t> column_stamp_;  // last row (by line) each column appeared in
  std::vector<uint32_t> previous_order_;  // columns of the previous row, by position
  std::vector<uint32_t> resolved_;        // columns of the row being read
  std::vector<uint32_t> new_columns_;     // created by the row being read
  std::vector<PendingCell> pending_;
  std::vector<Cell> cells_;
  std::string scratch_;  // text of numbers and nested values of the current row
  int64_t records_ = 0;
  BadRowLog bad_rows_;
};

}  // namespace ferry::table
