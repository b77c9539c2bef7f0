#pragma once

// RecordBatch and RecordBatchReader: a dataset file read into columnar batches of typed
// arrays, for consumers that need values rather than statistics (feature store joins,
// training). Only the projected columns are converted; the others are split off by the
// tokenizer and skipped.
//
// Design: push, like TableProfiler. The reader is fed the file's bytes in order (from an
// object store read, ByteSink-style, or a file), and calls `sink` with each full batch
// of `batch_rows` rows (earlier when its strings pass max_batch_bytes); Finish() flushes
// the last, shorter batch. One streaming pass, bounded memory: a batch under
// construction plus the tokenizer's one carried record.
//
//   ASSIGN_OR_RETURN(auto reader, RecordBatchReader::Create(Format::kCsv, profile.schema(),
//                        {"customer_id", "amount"}, {}, [&](RecordBatch batch) { ... }));
//   store.Get(digest, sink_that_calls reader->Consume);
//   RETURN_IF_ERROR(reader->Finish());
//
// Values are converted with the rules the profile inferred the schema by
// (value_parse.h); a value that does not fit its column's type is an InvalidArgument
// naming the line and column, e.g. `line 7: column "amount": expected float64, got
// "n/a"` (skipped and counted with `lenient`). Empty CSV fields, JSON nulls and missing
// keys are nulls. JSON values in a string column keep the text the profile saw (numbers
// in shortest form, nested values as compact JSON).
//
// Thread-safety: not thread-safe; one thread feeds a reader. Batches are plain values.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "table/format.h"
#include "table/input_limits.h"
#include "table/schema.h"

namespace ferry::table {

// One column of a batch. Exactly the vector for the column's type is filled, with one
// entry per row (0 or an empty string where the row is null).
struct ColumnArray {
  std::string name;
  ColumnType type = ColumnType::kString;
  std::vector<uint8_t> valid;          // 1: a value; 0: null
  std::vector<int64_t> int64_values;   // kInt64, and kTimestamp (microseconds, UTC)
  std::vector<double> float64_values;  // kFloat64
  std::vector<uint8_t> bool_values;    // kBool: 0 or 1
  std::vector<uint64_t> offsets;       // kString: rows + 1 offsets into `bytes`
  std::string bytes;                   // kString: the values, back to back

  size_t size() const { return valid.size(); }
  bool IsNull(size_t row) const { return valid[row] == 0; }
  std::string_view StringAt(size_t row) const {
    return std::string_view(bytes).substr(offsets[row], offsets[row + 1] - offsets[row]);
  }
};

struct RecordBatch {
  int64_t num_rows = 0;
  std::vector<ColumnArray> columns;  // in projection order

  const ColumnArray* column(std::string_view name) const;
};

struct RecordBatchOptions {
  size_t batch_rows = 65'536;
  // A batch ends early once its string columns hold this many bytes.
  size_t max_batch_bytes = size_t{64} << 20;
  // Skip and count rows that cannot be read or converted instead of failing.
  bool lenient = false;
  InputLimits limits;
};

class RecordBatchReader {
 public:
  // Receives each batch; an error stops reading and comes back from Consume/Finish.
  using BatchSink = std::function<absl::Status(RecordBatch batch)>;

  // `schema` types the columns (usually TableProfile::schema() of the same file);
  // `projection` names the columns to read, in the order wanted (empty: all, in schema
  // order). Errors: InvalidArgument for Format::kOpaque, a projected name missing from
  // the schema or given twice, batch_rows of 0.
  static absl::StatusOr<std::unique_ptr<RecordBatchReader>> Create(
      Format format, const Schema& schema, const std::vector<std::string>& projection,
      const RecordBatchOptions& options, BatchSink sink);
  virtual ~RecordBatchReader() = default;

  // The file's next bytes. Errors: the tokenizer's (csv_tokenizer.h, jsonl_tokenizer.h),
  // a CSV header lacking a projected column, a value that does not convert, the sink's.
  // After an error every later call returns it again.
  virtual absl::Status Consume(std::string_view bytes) = 0;
  // Ends the file and delivers the last batch (if it has rows). Errors: as Consume.
  virtual absl::Status Finish() = 0;

  // Rows delivered so far, and rows skipped (lenient) by the tokenizer or conversion.
  virtual int64_t rows() const = 0;
  virtual BadRowLog bad_rows() const = 0;
};

}  // namespace ferry::table
