// DecodeV1Request: TF Serving / KServe v1 {"instances": [...]}, as lists or as objects.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "serving/inference_codec.h"
#include "serving/inference_codec_internal.h"

namespace ferry::serving {
namespace {

using core::Cat;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Above this many fields, a field's column is found through a hash map, not by a scan.
constexpr size_t kScanFieldsUpTo = 16;

absl::Status ExpectedInstances() {
  return absl::InvalidArgumentError("expected {\"instances\": [...]}");
}

// Instances as lists: one float32 matrix, named "instances".
absl::Status DecodeLists(array instances, size_t width, const Limits& limits, RequestFrame& out) {
  if (width == 0) return absl::InvalidArgumentError("instance 0 is an empty list");
  if (width > limits.max_elements / out.rows) {
    return absl::ResourceExhaustedError(Cat(out.rows, " instances of ", width, " values exceed the limit of ",
                                            limits.max_elements, " values per request"));
  }
  out.matrix_name = "instances";
  out.width = width;
  out.matrix.resize(out.rows * width);
  float* dst = out.matrix.data();
  size_t row = 0;
  for (element instance : instances) {
    array values;
    if (instance.get(values)) {
      return absl::InvalidArgumentError(Cat("instance ", row, " is not a list like instance 0"));
    }
    if (values.size() != width) {
      return absl::InvalidArgumentError(
          Cat("instance ", row, " has ", values.size(), " values; instance 0 has ", width));
    }
    size_t column = 0;
    for (element value : values) {
      switch (value.type()) {
        case element_type::DOUBLE: *dst = static_cast<float>(value.get_double().value_unsafe()); break;
        case element_type::INT64: *dst = static_cast<float>(value.get_int64().value_unsafe()); break;
        case element_type::UINT64: *dst = static_cast<float>(value.get_uint64().value_unsafe()); break;
        case element_type::BOOL: *dst = value.get_bool().value_unsafe() ? 1.0f : 0.0f; break;
        case element_type::NULL_VALUE: *dst = std::numeric_limits<float>::quiet_NaN(); break;
        default:
          return absl::InvalidArgumentError(Cat("instance ", row, " value ", column,
                                                ": expected a number (got ", codec_internal::Shown(value), ")"));
      }
      ++dst;
      ++column;
    }
    ++row;
  }
  return absl::OkStatus();
}

enum class Kind : uint8_t { kUnknown, kNumber, kString };

// What the decoder knows of one object field while reading the rows.
struct Field {
  std::string_view key;  // in the parsed document
  Kind kind = Kind::kUnknown;
  bool exact = true;     // every value so far an integer literal or a boolean
  size_t kind_row = 0;   // the row that fixed `kind`
};

// Instances as objects: one Column per field, in first-appearance order.
class ObjectDecoder {
 public:
  ObjectDecoder(const Limits& limits, RequestFrame& out) : limits_(limits), out_(out) {
    fields_.clear();
    index_.clear();
  }
  ObjectDecoder(const ObjectDecoder&) = delete;
  ObjectDecoder& operator=(const ObjectDecoder&) = delete;

  absl::Status Decode(array instances) {
    size_t row = 0;
    for (element instance : instances) {
      object fields;
      if (instance.get(fields)) {
        return absl::InvalidArgumentError(Cat("instance ", row, " is not an object like instance 0"));
      }
      size_t position = 0;
      for (simdjson::dom::key_value_pair field : fields) {
        ASSIGN_OR_RETURN(const size_t f, Find(field.key, position++, row));
        RETURN_IF_ERROR(Set(f, row, field.value));
      }
      if (row == 0) RETURN_IF_ERROR(CheckFirstKeysDiffer());
      ++row;
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      Pad(f, out_.rows);
      Column& column = out_.columns[f];
      if (fields_[f].kind == Kind::kUnknown || !fields_[f].exact) column.integers.clear();
    }
    return absl::OkStatus();
  }

 private:
  // The index of `key`'s field, added when new; `position` is its place in this object,
  // where it most often stands in the first. The first object's keys are all new but for
  // duplicates, which Decode finds after it.
  absl::StatusOr<size_t> Find(std::string_view key, size_t position, size_t row) {
    if (position < fields_.size() && fields_[position].key == key) return position;
    if (row > 0) {
      if (fields_.size() <= kScanFieldsUpTo) {
        for (size_t f = 0; f < fields_.size(); ++f) {
          if (fields_[f].key == key) return f;
        }
      } else {
        if (index_.empty()) {
          for (size_t f = 0; f < fields_.size(); ++f) index_.emplace(fields_[f].key, f);
        }
        if (auto it = index_.find(key); it != index_.end()) return it->second;
      }
    }
    return AddField(key);
  }

  absl::Status CheckFirstKeysDiffer() {
    keys_.clear();
    for (const Field& field : fields_) keys_.push_back(field.key);
    std::sort(keys_.begin(), keys_.end());
    if (auto twice = std::adjacent_find(keys_.begin(), keys_.end()); twice != keys_.end()) {
      return absl::InvalidArgumentError(Cat("instance 0 gives field \"", *twice, "\" twice"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> AddField(std::string_view key) {
    if (fields_.size() >= limits_.max_inputs) {
      return absl::ResourceExhaustedError(
          Cat("the instances have more than the limit of ", limits_.max_inputs, " distinct fields"));
    }
    if (fields_.size() + 1 > limits_.max_elements / out_.rows) {
      return absl::ResourceExhaustedError(Cat(out_.rows, " instances of ", fields_.size() + 1,
                                              " fields exceed the limit of ", limits_.max_elements,
                                              " values per request"));
    }
    const size_t f = fields_.size();
    fields_.push_back(Field{key});
    if (!index_.empty()) index_.emplace(key, f);
    out_.AddColumn(key, DataType::kFp64);
    return f;
  }

  // Fills rows up to `rows` of field f as absent.
  void Pad(size_t f, size_t rows) {
    Column& column = out_.columns[f];
    const Field& field = fields_[f];
    if (column.present.size() >= rows) return;
    column.present.resize(rows, 0);
    if (field.kind == Kind::kString) {
      column.strings.resize(rows);
    } else {
      column.numbers.resize(rows, kNaN);
      if (field.exact) column.integers.resize(rows, 0);
    }
  }

  absl::Status Set(size_t f, size_t row, element value) {
    Column& column = out_.columns[f];
    Field& field = fields_[f];
    if (column.present.size() > row) {
      return absl::InvalidArgumentError(Cat("instance ", row, " gives field \"", field.key, "\" twice"));
    }
    Pad(f, row);
    const element_type type = value.type();
    if (type == element_type::NULL_VALUE) return absl::OkStatus();  // absent; padded later
    if (type == element_type::ARRAY || type == element_type::OBJECT) {
      return absl::InvalidArgumentError(Cat("instance ", row, " field \"", field.key,
                                            "\": nested lists and objects are not supported"));
    }
    const Kind kind = type == element_type::STRING ? Kind::kString : Kind::kNumber;
    if (field.kind == Kind::kUnknown) {
      field.kind = kind;
      field.kind_row = row;
      if (kind == Kind::kString) {
        column.is_string = true;
        column.datatype = DataType::kBytes;
        column.numbers.clear();
        column.integers.clear();
        column.strings.resize(row);
        field.exact = false;
      }
    } else if (field.kind != kind) {
      return absl::InvalidArgumentError(
          Cat("field \"", field.key, "\" is a ", kind == Kind::kString ? "string" : "number", " in instance ",
              row, " but a ", kind == Kind::kString ? "number" : "string", " in instance ", field.kind_row));
    }
    column.present.push_back(1);
    if (kind == Kind::kString) {
      column.strings.emplace_back(std::string_view(value.get_string().value_unsafe()));
      return absl::OkStatus();
    }
    int64_t integer = 0;
    bool is_integer = true;
    switch (type) {
      case element_type::INT64: integer = value.get_int64().value_unsafe(); break;
      case element_type::BOOL: integer = value.get_bool().value_unsafe() ? 1 : 0; break;
      case element_type::UINT64: is_integer = false; column.numbers.push_back(static_cast<double>(value.get_uint64().value_unsafe())); break;
      default: is_integer = false; column.numbers.push_back(value.get_double().value_unsafe()); break;
    }
    if (is_integer) column.numbers.push_back(static_cast<double>(integer));
    if (field.exact && is_integer) {
      column.integers.push_back(integer);
    } else if (field.exact) {
      field.exact = false;
      column.integers.clear();
    }
    return absl::OkStatus();
  }

  const Limits& limits_;
  RequestFrame& out_;
  // Reused by the thread: the keys point into its parsed document.
  static thread_local std::vector<Field> fields_;
  static thread_local std::unordered_map<std::string_view, size_t> index_;  // built when needed
  static thread_local std::vector<std::string_view> keys_;
};

thread_local std::vector<Field> ObjectDecoder::fields_;
thread_local std::unordered_map<std::string_view, size_t> ObjectDecoder::index_;
thread_local std::vector<std::string_view> ObjectDecoder::keys_;

}  // namespace

absl::Status DecodeV1Request(std::string_view body, const Limits& limits, RequestFrame& out) {
  out.Clear();
  ASSIGN_OR_RETURN(const element root, codec_internal::ParseJson(body));
  object request;
  element value;
  array instances;
  if (root.get(request) || request["instances"].get(value) || value.get(instances)) return ExpectedInstances();
  const size_t rows = instances.size();
  if (rows == 0) return absl::InvalidArgumentError("empty batch: \"instances\" is empty");
  if (rows > limits.max_rows) {
    return absl::ResourceExhaustedError(
        Cat(rows, " instances exceed the limit of ", limits.max_rows, " rows per request"));
  }
  out.rows = rows;
  const element first = *instances.begin();
  if (first.type() == element_type::ARRAY) {
    return DecodeLists(instances, array(first.get_array().value_unsafe()).size(), limits, out);
  }
  if (first.type() == element_type::OBJECT) return ObjectDecoder(limits, out).Decode(instances);
  return absl::InvalidArgumentError("instance 0 must be a list or an object");
}

}  // namespace ferry::serving
