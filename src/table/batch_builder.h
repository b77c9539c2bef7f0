#pragma once

// BatchBuilder: the RecordBatch under construction in a RecordBatchReader, one row at a
// time: appends converted values (or nulls) to each projected column, drops a row that
// failed half-way, and hands over full batches. Internal to the table subsystem.
//
// Thread-safety: not thread-safe.

#include <optional>
#include <string_view>
#include <vector>

#include "table/jsonl_tokenizer.h"
#include "table/record_batch.h"
#include "table/schema.h"

namespace ferry::table {

class BatchBuilder {
 public:
  BatchBuilder(std::vector<ColumnSchema> columns, const RecordBatchOptions& options);

  size_t rows() const { return rows_; }
  size_t size(size_t column) const { return columns_[column].valid.size(); }
  const ColumnSchema& schema(size_t column) const { return schema_[column]; }

  void AppendNull(size_t column);
  // A CSV field (non-empty); false if it does not convert to the column's type.
  bool AppendText(size_t column, std::string_view text);
  // A JSON value (not null); false if it does not convert to the column's type.
  bool AppendJson(size_t column, const JsonLinesTokenizer::Cell& cell);
  // Completes the row every column now has a value for.
  void EndRow() { ++rows_; }
  // Drops values appended for an unfinished row.
  void DropPartialRow();

  bool full() const { return rows_ >= batch_rows_ || string_bytes_ >= max_batch_bytes_; }
  // The batch so far; the builder starts a new one.
  RecordBatch Take();

 private:
  void Reset();
  void AppendTimestamp(ColumnArray& c, int64_t micros);
  void AppendString(ColumnArray& c, std::string_view text);

  const std::vector<ColumnSchema> schema_;
  const size_t batch_rows_;
  const size_t max_batch_bytes_;
  std::vector<ColumnArray> columns_;
  size_t rows_ = 0;
  size_t string_bytes_ = 0;
};

// Microseconds for a timestamp column's value, by its encoding.
std::optional<int64_t> TimestampFromText(TimeEncoding encoding, std::string_view text);
std::optional<int64_t> TimestampFromNumber(TimeEncoding encoding, double value);

}  // namespace ferry::table
