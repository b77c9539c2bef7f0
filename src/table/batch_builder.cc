#include "table/batch_builder.h"

#include <cmath>
#include <limits>
#include <utility>

#include "table/value_parse.h"

namespace ferry::table {

std::optional<int64_t> TimestampFromNumber(TimeEncoding encoding, double value) {
  const double micros = value * static_cast<double>(MicrosPerUnit(encoding));
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  if (!std::isfinite(micros) || std::fabs(micros) >= 9.2e18) return std::nullopt;
  return std::llround(micros);
}

std::optional<int64_t> TimestampFromText(TimeEncoding encoding, std::string_view text) {
  if (encoding == TimeEncoding::kIso8601) return ParseTimestamp(text);
  const int64_t unit = MicrosPerUnit(encoding);
  if (const auto v = ParseInt64(text)) {
    if (*v > std::numeric_limits<int64_t>::max() / unit ||
        *v < std::numeric_limits<int64_t>::min() / unit) {
      return std::nullopt;
    }
    return *v * unit;
  }
  if (const auto v = ParseFloat64(text)) return TimestampFromNumber(encoding, *v);
  return std::nullopt;
}

BatchBuilder::BatchBuilder(std::vector<ColumnSchema> columns, const RecordBatchOptions& options)
    : schema_(std::move(columns)),
      batch_rows_(options.batch_rows),
      max_batch_bytes_(options.max_batch_bytes) {
  Reset();
}

void BatchBuilder::Reset() {
  columns_.clear();
  columns_.resize(schema_.size());
  for (size_t i = 0; i < schema_.size(); ++i) {
    ColumnArray& c = columns_[i];
    c.name = schema_[i].name;
    c.type = schema_[i].type;
    const size_t reserve = std::min<size_t>(batch_rows_, 1 << 16);
    c.valid.reserve(reserve);
    switch (c.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        c.int64_values.reserve(reserve);
        break;
      case ColumnType::kFloat64:
        c.float64_values.reserve(reserve);
        break;
      case ColumnType::kBool:
        c.bool_values.reserve(reserve);
        break;
      case ColumnType::kString:
        c.offsets.reserve(reserve + 1);
        c.offsets.push_back(0);
        break;
    }
  }
  rows_ = 0;
  string_bytes_ = 0;
}

void BatchBuilder::AppendNull(size_t column) {
  ColumnArray& c = columns_[column];
  c.valid.push_back(0);
  switch (c.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      c.int64_values.push_back(0);
      break;
    case ColumnType::kFloat64:
      c.float64_values.push_back(0);
      break;
    case ColumnType::kBool:
      c.bool_values.push_back(0);
      break;
    case ColumnType::kString:
      c.offsets.push_back(c.bytes.size());
      break;
  }
}

void BatchBuilder::AppendTimestamp(ColumnArray& c, int64_t micros) {
  c.int64_values.push_back(micros);
  c.valid.push_back(1);
}

void BatchBuilder::AppendString(ColumnArray& c, std::string_view text) {
  c.bytes.append(text);
  c.offsets.push_back(c.bytes.size());
  c.valid.push_back(1);
  string_bytes_ += text.size();
}

bool BatchBuilder::AppendText(size_t column, std::string_view text) {
  ColumnArray& c = columns_[column];
  switch (c.type) {
    case ColumnType::kInt64: {
      const auto v = ParseInt64(text);
      if (!v) return false;
      c.int64_values.push_back(*v);
      break;
    }
    case ColumnType::kFloat64: {
      const auto v = ParseFloat64(text);
      if (!v) return false;
      c.float64_values.push_back(*v);
      break;
    }
    case ColumnType::kBool: {
      const auto v = ParseBool(text);
      if (!v) return false;
      c.bool_values.push_back(*v ? 1 : 0);
      break;
    }
    case ColumnType::kTimestamp: {
      const auto v = TimestampFromText(schema_[column].time_encoding, text);
      if (!v) return false;
      AppendTimestamp(c, *v);
      return true;
    }
    case ColumnType::kString:
      AppendString(c, text);
      return true;
  }
  c.valid.push_back(1);
  return true;
}

bool BatchBuilder::AppendJson(size_t column, const JsonLinesTokenizer::Cell& cell) {
  using Kind = JsonLinesTokenizer::ValueKind;
  ColumnArray& c = columns_[column];
  const TimeEncoding encoding = schema_[column].time_encoding;
  switch (c.type) {
    case ColumnType::kInt64:
      if (cell.kind != Kind::kInt) return false;
      c.int64_values.push_back(cell.int_value);
      break;
    case ColumnType::kFloat64:
      if (cell.kind == Kind::kInt) {
        c.float64_values.push_back(static_cast<double>(cell.int_value));
      } else if (cell.kind == Kind::kFloat) {
        c.float64_values.push_back(cell.float_value);
      } else {
        return false;
      }
      break;
    case ColumnType::kBool:
      if (cell.kind != Kind::kBool) return false;
      c.bool_values.push_back(cell.bool_value ? 1 : 0);
      break;
    case ColumnType::kTimestamp: {
      std::optional<int64_t> v;
      if (encoding == TimeEncoding::kIso8601) {
        if (cell.kind == Kind::kString) v = ParseTimestamp(cell.text);
      } else if (cell.kind == Kind::kInt) {
        v = TimestampFromText(encoding, cell.text);
      } else if (cell.kind == Kind::kFloat) {
        v = TimestampFromNumber(encoding, cell.float_value);
      }
      if (!v) return false;
      AppendTimestamp(c, *v);
      return true;
    }
    case ColumnType::kString:
      AppendString(c, cell.text);
      return true;
  }
  c.valid.push_back(1);
  return true;
}

void BatchBuilder::DropPartialRow() {
  for (ColumnArray& c : columns_) {
    c.valid.resize(rows_);
    switch (c.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        c.int64_values.resize(rows_);
        break;
      case ColumnType::kFloat64:
        c.float64_values.resize(rows_);
        break;
      case ColumnType::kBool:
        c.bool_values.resize(rows_);
        break;
      case ColumnType::kString:
        string_bytes_ -= c.bytes.size() - c.offsets[rows_];
        c.bytes.resize(c.offsets[rows_]);
        c.offsets.resize(rows_ + 1);
        break;
    }
  }
}

RecordBatch BatchBuilder::Take() {
  RecordBatch batch;
  batch.num_rows = static_cast<int64_t>(rows_);
  batch.columns = std::move(columns_);
  Reset();
  return batch;
}

}  // namespace ferry::table
