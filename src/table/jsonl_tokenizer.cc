#include "table/jsonl_tokenizer.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::table {
namespace {

constexpr uint32_t kNewColumn = 0xFFFFFFFFu;

std::string_view ElementTypeName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
    default:
      return "a number";
  }
}

}  // namespace

JsonLinesTokenizer::JsonLinesTokenizer(ErrorMode mode, const InputLimits& limits,
                                       Handler& handler)
    : mode_(mode),
      limits_(limits),
      handler_(handler),
      parser_(std::make_unique<simdjson::dom::parser>()) {}

JsonLinesTokenizer::~JsonLinesTokenizer() = default;

absl::Status JsonLinesTokenizer::Consume(std::string_view bytes) {
  RETURN_IF_ERROR(error_);
  absl::Status status = Scan(bytes.data(), bytes.size());
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status JsonLinesTokenizer::Finish() {
  RETURN_IF_ERROR(error_);
  absl::Status status = [&]() -> absl::Status {
    if (!carry_.empty()) {
      std::string line = std::move(carry_);
      carry_.clear();
      RETURN_IF_ERROR(ParseLine(line.data(), line.size(), line.size()));
    }
    if (records_ == 0 && bad_rows_.count == 0 && columns_.empty()) {
      return absl::InvalidArgumentError("empty file: no JSON object in it");
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status JsonLinesTokenizer::Scan(const char* data, size_t size) {
  size_t p = 0;
  while (p < size) {
    const void* newline = std::memchr(data + p, '\n', size - p);
    if (newline == nullptr) {
      carry_.append(data + p, size - p);
      if (carry_.size() > limits_.max_record_bytes) {
        return absl::InvalidArgumentError(core::Cat(
            "line ", line_, ": line longer than ", limits_.max_record_bytes, " bytes"));
      }
      return absl::OkStatus();
    }
    const size_t end = static_cast<size_t>(static_cast<const char*>(newline) - data);
    if (!carry_.empty()) {
      carry_.append(data + p, end - p);
      std::string line = std::move(carry_);
      carry_.clear();
      RETURN_IF_ERROR(ParseLine(line.data(), line.size(), line.size()));
      carry_ = std::move(line);  // keep the capacity
      carry_.clear();
    } else {
      RETURN_IF_ERROR(ParseLine(data + p, end - p, size - p));
    }
    ++line_;
    p = end + 1;
  }
  return absl::OkStatus();
}

absl::Status JsonLinesTokenizer::BadRow(std::string reason) {
  if (mode_ == ErrorMode::kStrict) {
    return absl::InvalidArgumentError(core::Cat("line ", row_line_, ": ", reason));
  }
  bad_rows_.Record(row_line_, std::move(reason));
  return absl::OkStatus();
}

absl::Status JsonLinesTokenizer::ParseLine(const char* line, size_t size, size_t readable) {
  row_line_ = line_;
  if (size > limits_.max_record_bytes) {
    return absl::InvalidArgumentError(core::Cat("line ", row_line_, ": line longer than ",
                                                limits_.max_record_bytes, " bytes"));
  }
  if (size > 0 && line[size - 1] == '\r') --size;
  if (readable < size + simdjson::SIMDJSON_PADDING) {
    padded_.assign(line, size);
    padded_.append(simdjson::SIMDJSON_PADDING, '\0');
    line = padded_.data();
  }
  simdjson::dom::element root;
  const simdjson::error_code parse_error = parser_->parse(line, size, false).get(root);
  if (parse_error == simdjson::EMPTY) return absl::OkStatus();  // a blank line
  if (parse_error == simdjson::UTF8_ERROR) return BadRow("invalid UTF-8");
  if (parse_error) return BadRow(core::Cat("invalid JSON: ", simdjson::error_message(parse_error)));
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return BadRow(core::Cat("expected a JSON object, got ", ElementTypeName(root.type())));
  }

  pending_.clear();
  scratch_.clear();
  for (const simdjson::dom::key_value_pair member : object) {
    PendingCell cell{member.key, ValueKind::kNull, false, 0, 0, nullptr, 0, 0};
    const simdjson::dom::element value = member.value;
    const size_t offset = scratch_.size();
    char number[32];
    switch (value.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        break;
      case simdjson::dom::element_type::BOOL:
        cell.kind = ValueKind::kBool;
        cell.bool_value = value.get_bool().value_unsafe();
        scratch_.append(cell.bool_value ? "true" : "false");
        break;
      case simdjson::dom::element_type::INT64: {
        cell.kind = ValueKind::kInt;
        cell.int_value = value.get_int64().value_unsafe();
        scratch_.append(number, std::to_chars(number, number + sizeof(number), cell.int_value).ptr);
        break;
      }
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE: {
        cell.kind = ValueKind::kFloat;
        cell.float_value = value.get_double().value_unsafe();
        scratch_.append(number,
                        std::to_chars(number, number + sizeof(number), cell.float_value).ptr);
        break;
      }
      case simdjson::dom::element_type::STRING: {
        cell.kind = ValueKind::kString;
        const std::string_view text = value.get_string().value_unsafe();
        cell.text_data = text.data();
        cell.text_size = text.size();
        break;
      }
      case simdjson::dom::element_type::ARRAY:
      case simdjson::dom::element_type::OBJECT:
        cell.kind = ValueKind::kNested;
        scratch_.append(simdjson::minify(value));
        break;
    }
    if (cell.text_data == nullptr) {
      cell.text_offset = offset;
      cell.text_size = scratch_.size() - offset;
    }
    pending_.push_back(cell);
  }

  std::string reason = AssignColumns();
  if (!reason.empty()) return BadRow(std::move(reason));
  for (uint32_t column : new_columns_) RETURN_IF_ERROR(handler_.OnColumn(column, columns_[column]));
  new_columns_.clear();
  cells_.resize(pending_.size());
  for (size_t i = 0; i < pending_.size(); ++i) {
    const PendingCell& p = pending_[i];
    Cell& c = cells_[i];
    c.column = previous_order_[i];
    c.kind = p.kind;
    c.bool_value = p.bool_value;
    c.int_value = p.int_value;
    c.float_value = p.float_value;
    c.text = p.text_data != nullptr ? std::string_view(p.text_data, p.text_size)
                                    : std::string_view(scratch_.data() + p.text_offset, p.text_size);
  }
  ++records_;
  return handler_.OnRow(row_line_, cells_);
}

std::string JsonLinesTokenizer::AssignColumns() {
  // Resolve into a separate vector: previous_order_ is the prediction.
  std::vector<uint32_t>& resolved = resolved_;
  resolved.assign(pending_.size(), kNewColumn);
  size_t fresh = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const std::string_view key = pending_[i].key;
    if (key.empty()) return core::Cat("key ", i + 1, " is empty");
    uint32_t column = kNewColumn;
    if (i < previous_order_.size() && columns_[previous_order_[i]] == key) {
      column = previous_order_[i];
    } else if (auto it = column_index_.find(absl::string_view(key.data(), key.size()));
               it != column_index_.end()) {
      column = it->second;
    }
    if (column == kNewColumn) {
      for (size_t j = 0; j < i; ++j) {
        if (resolved[j] == kNewColumn && pending_[j].key == key) {
          return core::Cat("duplicate key \"", key, "\"");
        }
      }
      ++fresh;
    } else {
      if (column_stamp_[column] == row_line_) return core::Cat("duplicate key \"", key, "\"");
      column_stamp_[column] = row_line_;
    }
    resolved[i] = column;
  }
  if (fresh > 0 && columns_.size() + fresh > limits_.max_columns) {
    return core::Cat("more than ", limits_.max_columns, " distinct keys in the file");
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (resolved[i] != kNewColumn) continue;
    resolved[i] = static_cast<uint32_t>(columns_.size());
    columns_.emplace_back(pending_[i].key);
    column_index_.emplace(columns_.back(), resolved[i]);
    column_stamp_.push_back(row_line_);
    new_columns_.push_back(resolved[i]);
  }
  previous_order_.swap(resolved_);
  return std::string();
}

}  // namespace ferry::table
