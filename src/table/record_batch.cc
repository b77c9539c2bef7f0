#include "table/record_batch.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/status.h"
#include "core/strings.h"
#include "table/batch_builder.h"
#include "table/csv_tokenizer.h"
#include "table/jsonl_tokenizer.h"

namespace ferry::table {
namespace {

// Values quoted in error messages are cut to this many bytes.
constexpr size_t kQuotedValueBytes = 40;

std::string Quote(std::string_view text) {
  if (text.size() <= kQuotedValueBytes) return core::Cat("\"", text, "\"");
  return core::Cat("\"", text.substr(0, kQuotedValueBytes), "...\"");
}

// What the CSV and JSON Lines readers share: the batch under construction, delivery,
// and conversion errors.
class ReaderBase : public RecordBatchReader {
 public:
  ReaderBase(std::vector<ColumnSchema> columns, const RecordBatchOptions& options,
             BatchSink sink)
      : options_(options), builder_(std::move(columns), options), sink_(std::move(sink)) {}

  int64_t rows() const override { return delivered_; }

 protected:
  // A value that does not convert: the error, or (lenient) the row is dropped.
  absl::Status ConversionError(int64_t line, size_t column, std::string_view text) {
    const ColumnSchema& s = builder_.schema(column);
    std::string reason = core::Cat("column \"", s.name, "\": expected ", ColumnTypeName(s.type),
                                   ", got ", Quote(text));
    if (!options_.lenient) return absl::InvalidArgumentError(core::Cat("line ", line, ": ", reason));
    builder_.DropPartialRow();
    conversion_errors_.Record(line, std::move(reason));
    return absl::OkStatus();
  }

  absl::Status EndRow() {
    builder_.EndRow();
    if (builder_.full()) return Deliver();
    return absl::OkStatus();
  }

  absl::Status Deliver() {
    if (builder_.rows() == 0) return absl::OkStatus();
    delivered_ += static_cast<int64_t>(builder_.rows());
    return sink_(builder_.Take());
  }

  BadRowLog Combine(const BadRowLog& tokenizer) const {
    BadRowLog all;
    all.count = tokenizer.count + conversion_errors_.count;
    all.first = tokenizer.first;
    all.first.insert(all.first.end(), conversion_errors_.first.begin(),
                     conversion_errors_.first.end());
    std::stable_sort(all.first.begin(), all.first.end(),
                     [](const BadRow& a, const BadRow& b) { return a.line < b.line; });
    if (all.first.size() > BadRowLog::kKept) all.first.resize(BadRowLog::kKept);
    return all;
  }

  const RecordBatchOptions options_;
  BatchBuilder builder_;
  BatchSink sink_;
  BadRowLog conversion_errors_;
  int64_t delivered_ = 0;
};

ErrorMode Mode(const RecordBatchOptions& options) {
  return options.lenient ? ErrorMode::kLenient : ErrorMode::kStrict;
}

class CsvReader final : public ReaderBase, CsvTokenizer::Handler {
 public:
  CsvReader(std::vector<ColumnSchema> columns, const RecordBatchOptions& options, BatchSink sink)
      : ReaderBase(columns, options, std::move(sink)),
        projected_(std::move(columns)),
        tokenizer_(Mode(options), options.limits, *this) {}

  absl::Status Consume(std::string_view bytes) override { return tokenizer_.Consume(bytes); }
  absl::Status Finish() override {
    RETURN_IF_ERROR(tokenizer_.Finish());
    return Deliver();
  }
  BadRowLog bad_rows() const override { return Combine(tokenizer_.bad_rows()); }

 private:
  absl::Status OnHeader(std::span<const std::string> names) override {
    for (const ColumnSchema& c : projected_) {
      const auto it = std::find(names.begin(), names.end(), c.name);
      if (it == names.end()) {
        return absl::InvalidArgumentError(
            core::Cat("the CSV header has no column \"", c.name, "\""));
      }
      field_of_.push_back(static_cast<size_t>(it - names.begin()));
    }
    return absl::OkStatus();
  }

  absl::Status OnRecords(const CsvRecords& records) override {
    for (size_t r = 0; r < records.size(); ++r) RETURN_IF_ERROR(OnRecord(records, r));
    return absl::OkStatus();
  }

  absl::Status OnRecord(const CsvRecords& records, size_t r) {
    for (size_t j = 0; j < field_of_.size(); ++j) {
      const std::string_view text = records.field(r, field_of_[j]);
      if (text.empty()) {
        builder_.AppendNull(j);
      } else if (!builder_.AppendText(j, text)) {
        return ConversionError(records.line(r), j, text);
      }
    }
    return EndRow();
  }

  const std::vector<ColumnSchema> projected_;
  std::vector<size_t> field_of_;  // projected column -> field index in the file
  CsvTokenizer tokenizer_;
};

class JsonLinesReader final : public ReaderBase, JsonLinesTokenizer::Handler {
 public:
  JsonLinesReader(std::vector<ColumnSchema> columns, const RecordBatchOptions& options,
                  BatchSink sink)
      : ReaderBase(columns, options, std::move(sink)),
        tokenizer_(Mode(options), options.limits, *this) {
    for (size_t j = 0; j < columns.size(); ++j) slot_by_name_.emplace(columns[j].name, j);
  }

  absl::Status Consume(std::string_view bytes) override { return tokenizer_.Consume(bytes); }
  absl::Status Finish() override {
    RETURN_IF_ERROR(tokenizer_.Finish());
    return Deliver();
  }
  BadRowLog bad_rows() const override { return Combine(tokenizer_.bad_rows()); }

 private:
  static constexpr size_t kNotProjected = ~size_t{0};

  absl::Status OnColumn(size_t, std::string_view name) override {
    const auto it = slot_by_name_.find(std::string(name));
    slot_of_.push_back(it == slot_by_name_.end() ? kNotProjected : it->second);
    return absl::OkStatus();
  }

  absl::Status OnRow(int64_t line, std::span<const JsonLinesTokenizer::Cell> cells) override {
    const size_t row = builder_.rows();
    for (const JsonLinesTokenizer::Cell& cell : cells) {
      const size_t j = slot_of_[cell.column];
      if (j == kNotProjected || cell.kind == JsonLinesTokenizer::ValueKind::kNull) continue;
      if (!builder_.AppendJson(j, cell)) return ConversionError(line, j, cell.text);
    }
    // Keys the row lacks (or had as null) are nulls.
    for (size_t j = 0; j < slot_by_name_.size(); ++j) {
      if (builder_.size(j) == row) builder_.AppendNull(j);
    }
    return EndRow();
  }

  absl::flat_hash_map<std::string, size_t> slot_by_name_;
  std::vector<size_t> slot_of_;  // tokenizer column -> projected column, or kNotProjected
  JsonLinesTokenizer tokenizer_;
};

}  // namespace

const ColumnArray* RecordBatch::column(std::string_view name) const {
  for (const ColumnArray& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<RecordBatchReader>> RecordBatchReader::Create(
    Format format, const Schema& schema, const std::vector<std::string>& projection,
    const RecordBatchOptions& options, BatchSink sink) {
  if (options.batch_rows == 0) return absl::InvalidArgumentError("batch_rows must be positive");
  std::vector<ColumnSchema> columns;
  if (projection.empty()) {
    columns = schema.columns;
  } else {
    for (const std::string& name : projection) {
      const auto index = schema.Find(name);
      if (!index) {
        return absl::InvalidArgumentError(core::Cat("projected column \"", name, "\" is not in the schema"));
      }
      for (const ColumnSchema& c : columns) {
        if (c.name == name) {
          return absl::InvalidArgumentError(core::Cat("column \"", name, "\" is projected twice"));
        }
      }
      columns.push_back(schema.columns[*index]);
    }
  }
  switch (format) {
    case Format::kCsv:
      return std::make_unique<CsvReader>(std::move(columns), options, std::move(sink));
    case Format::kJsonLines:
      return std::make_unique<JsonLinesReader>(std::move(columns), options, std::move(sink));
    case Format::kOpaque:
      break;
  }
  return absl::InvalidArgumentError("not a tabular format: no record batches");
}

}  // namespace ferry::table
