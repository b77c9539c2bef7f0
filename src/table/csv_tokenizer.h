#pragma once

// CsvTokenizer: a streaming RFC 4180 reader. It is fed a file's bytes in consecutive
// blocks of any size (a field or record may span blocks, down to one byte per block),
// and hands complete records to a Handler as unescaped field views, a batch at a time
// (CsvRecords: column by column, so a handler can work on one column's values at once).
//
// Dialect: a header row is required; comma delimiter; fields may be quoted with '"',
// with "" standing for one quote; quoted fields may contain commas, CR and LF. Records
// end with LF or CRLF; the last one may lack it. A UTF-8 byte-order mark before the
// header is dropped. Physically empty lines (nothing but an optional CR) are not
// records: they are skipped, so write "" for a one-column row holding an empty field.
// Bytes must be UTF-8.
//
// Errors (each an InvalidArgument naming the 1-based physical line where the record
// starts, e.g. "line 1042: expected 9 fields, got 8"):
//   record  - a field count different from the header's, a quote inside an unquoted
//             field, a character other than , CR LF after a closing quote, a quoted
//             field still open at the end of the file, invalid UTF-8, a field over
//             max_field_bytes. In ErrorMode::kLenient these rows are skipped and logged
//             (bad_rows()); after a quoting error reading resumes at the next physical
//             line.
//   fatal   - an empty file (no header), a header with an empty or duplicate column name
//             or more than max_columns columns, a bad header row, a record longer than
//             max_record_bytes (often a quote that never closes). These stop reading in
//             either mode.
//
// Speed: blocks of 64 bytes without a quote are split with SSE2 compares into bit masks
// of commas and newlines, one bit per field; only blocks with quotes go byte by byte.
// Fields that lie in one Consume() block are views into it (no copy); a record that
// spans blocks is copied once into a carry buffer (and once more into the batch), as
// is a record with "" in a quoted field (unescaped). Records are batched, at most 512
// or 65,536 fields' worth, and the batch is handed over when full and before
// Consume() or Finish() returns, so views never outlive the bytes they point into.
//
// Thread-safety: not thread-safe; one thread feeds a tokenizer.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "table/input_limits.h"

namespace ferry::table {

// Data records handed over together, column by column: field(r, c) is field c of record
// r. Every record has exactly as many fields as the header. The views (and the batch)
// are valid during the Handler call only.
class CsvRecords {
 public:
  // Records in the batch (at least one when handed over).
  size_t size() const { return size_; }
  size_t columns() const { return columns_; }
  // Column c's fields, one per record, in file order; an empty view is an empty field.
  std::span<const std::string_view> column(size_t c) const {
    return {fields_.data() + c * capacity_, size_};
  }
  std::string_view field(size_t record, size_t c) const { return fields_[c * capacity_ + record]; }
  // The 1-based physical line where record `record` starts.
  int64_t line(size_t record) const { return lines_[record]; }

 private:
  friend class CsvTokenizer;
  size_t capacity_ = 0;  // records
  size_t columns_ = 0;
  size_t size_ = 0;
  std::vector<std::string_view> fields_;  // [column * capacity_ + record]
  std::vector<int64_t> lines_;
  std::deque<std::string> copies_;  // bytes of fields not in the block being consumed
};

class CsvTokenizer {
 public:
  // Receives what the tokenizer reads. Errors returned by a handler stop the tokenizer
  // and come back from the Consume() or Finish() that called it. A tokenizer error
  // found while records before it wait in a batch comes back only after the handler
  // took them without error (a handler error for one of them comes back instead).
  class Handler {
   public:
    virtual ~Handler() = default;
    // The header's column names (non-empty, unique), once, before any record.
    virtual absl::Status OnHeader(std::span<const std::string> names) = 0;
    // The next data records, in file order.
    virtual absl::Status OnRecords(const CsvRecords& records) = 0;
  };

  // `handler` must outlive the tokenizer.
  CsvTokenizer(ErrorMode mode, const InputLimits& limits, Handler& handler);

  // Reads the next bytes of the file. Errors: as listed above, or the handler's. After
  // an error every later call returns it again.
  absl::Status Consume(std::string_view bytes);
  // Ends the file: completes a last record without a line end. Errors: as Consume.
  absl::Status Finish();

  const std::vector<std::string>& header() const { return header_; }
  // Data records read (handed to the handler, or about to be).
  int64_t records() const { return records_; }
  const BadRowLog& bad_rows() const { return bad_rows_; }

 private:
  enum class State : uint8_t {
    kFieldStart,      // at the first byte of a field
    kUnquoted,        // inside an unquoted field
    kQuoted,          // inside a quoted field
    kQuoteInQuoted,   // just after a quote inside a quoted field: "" or the end
    kQuotedCr,        // a CR after a closing quote: LF must follow
    kSkipLine,        // lenient: skipping the rest of a line with a quoting error
  };
  static constexpr uint32_t kFieldQuoted = 1;
  static constexpr uint32_t kFieldEscaped = 2;
  struct FieldSpan {
    uint32_t begin;  // record-relative, quotes excluded
    uint32_t end;
    uint32_t flags;
  };

  absl::Status Scan(const char* data, size_t size);
  // A 64-byte block at data index p without quotes: every comma ends a field and every
  // LF a record (the masks have one bit per byte; `high` marks bytes >= 0x80).
  absl::Status SplitBlock(size_t p, uint64_t separators, uint64_t newlines, uint64_t high);
  absl::StatusOr<size_t> ScanBytes(size_t p, size_t stop, size_t size);
  // Ends the current field, whose content ends at record-relative offset `end`.
  absl::Status EndField(int64_t end, uint32_t flags);
  // Ends the current record; the line end (if any) is at data index `at`. Its bytes are
  // checked for UTF-8 only if `maybe_non_ascii`.
  absl::Status EndRecord(size_t at, bool maybe_non_ascii);
  // EndRecord's fast path, for the common record; false (doing nothing) for others.
  bool EndSimpleRecord(size_t at, bool maybe_non_ascii);
  // Turns a direct_ record's views in the batch into spans_ (for the general path).
  void LeaveDirect();
  // The first record, at `record`: the column names.
  absl::Status AcceptHeader(int64_t line, const char* record);
  // Appends the current record, at `record`, to the batch.
  void AddToBatch(const char* record, int64_t line);
  // Hands the batch (if any) to the handler and empties it.
  absl::Status DeliverBatch();
  // Scan or Finish, then the batch's delivery: the handler's error first, if any.
  absl::Status DeliverAfter(absl::Status status);
  // A record-level error: the error itself in strict mode or for the header, else logged.
  absl::Status BadRecord(int64_t line, std::string reason);
  // A quoting error at data index `at`: logs it and skips to the next line, or fails
  // (also when the record is already longer than max_record_bytes there).
  absl::Status QuoteError(size_t at, std::string reason);
  // The fatal error for a record longer than max_record_bytes, wherever it is found, so
  // that how the bytes were split into blocks does not change the message.
  absl::Status RecordTooLong() const;
  // Starts a new record at data index `at`.
  void StartRecord(size_t at);

  int64_t Rel(size_t data_index) const { return static_cast<int64_t>(data_index) - origin_; }
  char ByteAt(int64_t rel) const;

  const ErrorMode mode_;
  InputLimits limits_;
  Handler& handler_;
  absl::Status error_;

  // The block being scanned (only during Consume/Finish) and where the current record
  // starts relative to it: origin_ < 0 when the record began in an earlier block, whose
  // bytes carry_ holds.
  const char* data_ = nullptr;
  int64_t origin_ = 0;
  std::string carry_;

  State state_ = State::kFieldStart;
  uint32_t field_begin_ = 0;  // record-relative start of the current field
  uint32_t field_flags_ = 0;
  size_t field_count_ = 0;    // fields so far in the record (spans_ stops at span_limit_)
  size_t span_limit_;
  std::vector<FieldSpan> spans_;  // span_limit_ entries, the first field_count_ in use
  bool record_escaped_ = false;  // some field of the record holds "" (kFieldEscaped)
  // The record began in this block after the header, and every field so far came from
  // SplitBlock: its fields are views in the batch's next row, not spans_, until it ends
  // or something else (a quoted field, the block's end, an error) calls LeaveDirect.
  bool direct_ = false;
  bool record_high_ = false;  // the record may hold non-ASCII bytes outside the current block
  std::string bad_reason_;    // why the record in progress is bad, if it is
  int64_t line_ = 1;          // physical line at the scan position
  int64_t record_line_ = 1;   // physical line where the record in progress starts

  CsvRecords batch_;
  std::vector<std::string> header_;
  bool header_done_ = false;
  int64_t records_ = 0;
  BadRowLog bad_rows_;
};

}  // namespace ferry::table
