// DecodeV2Request: the Open Inference Protocol's JSON and Triton's binary tensor extension.

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "serving/inference_codec.h"
#include "serving/inference_codec_internal.h"

namespace ferry::serving {
namespace {

using codec_internal::KeyIs;
using codec_internal::Scalar;
using core::Cat;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// One entry of "inputs", before its data is read.
struct InputSpec {
  std::string_view name;
  DataType datatype = DataType::kFp32;
  size_t dims = 0;  // 1 or 2
  uint64_t shape[2] = {0, 1};
  uint64_t elements = 0;
  std::optional<uint64_t> binary_size;
  std::optional<element> data;
};

std::string ShapeText(const InputSpec& in) {
  return in.dims == 1 ? Cat("[", in.shape[0], "]") : Cat("[", in.shape[0], ", ", in.shape[1], "]");
}

template <typename... Args>
absl::Status InputError(std::string_view name, const Args&... args) {
  return absl::InvalidArgumentError(Cat("input \"", name, "\": ", args...));
}

std::optional<uint64_t> NonNegativeInteger(element value) {
  if (value.type() == element_type::UINT64) return value.get_uint64().value_unsafe();
  if (value.type() != element_type::INT64) return std::nullopt;
  const int64_t v = value.get_int64().value_unsafe();
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

absl::Status ReadShape(std::string_view name, element value, InputSpec& in) {
  array shape;
  if (value.get(shape)) return InputError(name, "\"shape\" must be a list of non-negative integers");
  in.dims = 0;
  for (element dim : shape) {
    const std::optional<uint64_t> n = NonNegativeInteger(dim);
    if (!n) return InputError(name, "\"shape\" must be a list of non-negative integers");
    if (in.dims == 2) {
      return InputError(name, "shape ", codec_internal::Shown(value), " has more than 2 dimensions; expected ",
                        "[rows] or [rows, width]");
    }
    in.shape[in.dims++] = *n;
  }
  if (in.dims == 0) return InputError(name, "shape [] is a scalar; expected [rows] or [rows, width]");
  if (in.dims == 1) in.shape[1] = 1;
  // [rows, 0] would make a column with no value for any row (or a matrix of no features).
  if (in.shape[1] == 0) {
    return InputError(name, "shape ", ShapeText(in), " has no values per row; expected [rows] or ",
                      "[rows, width] with width >= 1");
  }
  if (__builtin_mul_overflow(in.shape[0], in.shape[1], &in.elements)) {
    in.elements = std::numeric_limits<uint64_t>::max();
  }
  return absl::OkStatus();
}

absl::Status ReadInputSpec(element value, InputSpec& in) {
  object fields;
  if (value.get(fields)) return absl::InvalidArgumentError("each of \"inputs\" must be an object");
  std::optional<element> shape, datatype, parameters;
  bool has_name = false;
  for (simdjson::dom::key_value_pair field : fields) {
    if (KeyIs(field.key, "name")) {
      std::string_view name;
      if (field.value.get(name)) return absl::InvalidArgumentError("an input's \"name\" must be a string");
      in.name = name;
      has_name = true;
    } else if (KeyIs(field.key, "shape")) {
      shape = field.value;
    } else if (KeyIs(field.key, "datatype")) {
      datatype = field.value;
    } else if (KeyIs(field.key, "data")) {
      in.data = field.value;
    } else if (KeyIs(field.key, "parameters")) {
      parameters = field.value;
    }
  }
  if (!has_name) return absl::InvalidArgumentError("an input has no \"name\"");
  std::string_view type_name;
  if (!datatype || datatype->get(type_name)) return InputError(in.name, "no \"datatype\" string");
  const std::optional<DataType> type = ParseDataType(type_name);
  if (!type) return InputError(in.name, "unknown datatype \"", type_name, "\"");
  in.datatype = *type;
  if (!shape) return InputError(in.name, "no \"shape\"");
  RETURN_IF_ERROR(ReadShape(in.name, *shape, in));
  if (parameters) {
    object params;
    if (parameters->get(params)) return InputError(in.name, "\"parameters\" must be an object");
    element size;
    if (!params["binary_data_size"].get(size)) {
      in.binary_size = NonNegativeInteger(size);
      if (!in.binary_size) return InputError(in.name, "\"binary_data_size\" must be a non-negative integer");
    }
  }
  if (in.binary_size && in.data) return InputError(in.name, "both \"data\" and \"binary_data_size\"");
  if (!in.binary_size && !in.data) return InputError(in.name, "no \"data\"");
  if (in.datatype == DataType::kFp16 && !in.binary_size) {
    return InputError(in.name, "FP16 data must be sent as binary data (binary_data_size)");
  }
  return absl::OkStatus();
}

template <typename Sink>
absl::Status ReadJsonElement(const InputSpec& in, element value, size_t index, Sink& sink) {
  Scalar scalar;
  if (const char* wrong = codec_internal::ReadJsonValue(value, in.datatype, scalar)) {
    return absl::InvalidArgumentError(Cat("input \"", in.name, "\" element ", index, ": ", wrong, " (got ",
                                          codec_internal::Shown(value), ")"));
  }
  sink(scalar);
  return absl::OkStatus();
}

// Reads `data`, flat (row-major) or nested exactly to the shape, feeding sink(Scalar) in
// row-major order.
template <typename Sink>
absl::Status ReadJsonData(const InputSpec& in, Sink sink) {
  array data;
  if (in.data->get(data)) return InputError(in.name, "\"data\" must be a list");
  const size_t given = data.size();
  const bool nested = given > 0 && (*data.begin()).type() == element_type::ARRAY;
  if (!nested) {
    if (given != in.elements) {
      return InputError(in.name, "shape ", ShapeText(in), " needs ", in.elements, " values, \"data\" has ", given);
    }
    size_t index = 0;
    for (element value : data) {
      if (value.type() == element_type::ARRAY) {
        return InputError(in.name, "element ", index, ": \"data\" mixes lists and values");
      }
      RETURN_IF_ERROR(ReadJsonElement(in, value, index++, sink));
    }
    return absl::OkStatus();
  }
  if (in.dims != 2) return InputError(in.name, "\"data\" is nested deeper than shape ", ShapeText(in));
  if (given != in.shape[0]) {
    return InputError(in.name, "shape ", ShapeText(in), " has ", in.shape[0], " rows, \"data\" has ", given);
  }
  size_t row = 0;
  for (element row_value : data) {
    array values;
    if (row_value.get(values)) return InputError(in.name, "row ", row, ": \"data\" mixes lists and values");
    if (values.size() != in.shape[1]) {
      return InputError(in.name, "row ", row, " has ", values.size(), " values; shape ", ShapeText(in),
                        " needs ", in.shape[1]);
    }
    size_t index = row * in.shape[1];
    for (element value : values) {
      if (value.type() == element_type::ARRAY) {
        return InputError(in.name, "\"data\" is nested deeper than shape ", ShapeText(in));
      }
      RETURN_IF_ERROR(ReadJsonElement(in, value, index++, sink));
    }
    ++row;
  }
  return absl::OkStatus();
}

// Reads the binary data of `in` (exactly in.binary_size bytes at `bytes`).
template <typename Sink>
absl::Status ReadBinaryData(const InputSpec& in, std::string_view bytes, Sink sink) {
  const size_t size = codec_internal::ElementSize(in.datatype);
  if (size > 0) {
    if (bytes.size() != in.elements * size) {
      return InputError(in.name, "binary_data_size ", bytes.size(), " does not match shape ", ShapeText(in),
                        " of ", DataTypeName(in.datatype), " (", in.elements * size, " bytes)");
    }
    for (size_t i = 0; i < in.elements; ++i) sink(codec_internal::ReadBinaryValue(bytes.data() + i * size, in.datatype));
    return absl::OkStatus();
  }
  size_t at = 0;
  for (size_t i = 0; i < in.elements; ++i) {
    uint32_t length = 0;
    if (bytes.size() - at < 4) return InputError(in.name, "binary BYTES element ", i, " is cut short");
    std::memcpy(&length, bytes.data() + at, 4);
    at += 4;
    if (bytes.size() - at < length) return InputError(in.name, "binary BYTES element ", i, " is cut short");
    Scalar scalar;
    scalar.text = bytes.substr(at, length);
    at += length;
    sink(scalar);
  }
  if (at != bytes.size()) {
    return InputError(in.name, "binary_data_size ", bytes.size(), " leaves ", bytes.size() - at,
                      " bytes after its ", in.elements, " BYTES elements");
  }
  return absl::OkStatus();
}

// The decoding state of one request.
class V2Decoder {
 public:
  V2Decoder(std::string_view binary, bool has_header_length, const Limits& limits, RequestFrame& out)
      : binary_(binary), has_header_length_(has_header_length), limits_(limits), out_(out) {}

  absl::Status Inputs(element value) {
    array inputs;
    if (value.get(inputs)) return absl::InvalidArgumentError("\"inputs\" must be a list");
    count_ = inputs.size();
    if (count_ == 0) return absl::InvalidArgumentError("\"inputs\" is empty");
    if (count_ > limits_.max_inputs) {
      return absl::ResourceExhaustedError(
          Cat(count_, " inputs exceed the limit of ", limits_.max_inputs, " inputs per request"));
    }
    names_.clear();
    for (element input : inputs) {
      InputSpec in;
      RETURN_IF_ERROR(ReadInputSpec(input, in));
      RETURN_IF_ERROR(Add(in));
      names_.push_back(in.name);
    }
    // Duplicate names, found once all are known (cheaper than a look-up per input).
    std::sort(names_.begin(), names_.end());
    if (auto twice = std::adjacent_find(names_.begin(), names_.end()); twice != names_.end()) {
      return InputError(*twice, "given twice");
    }
    if (used_ != binary_.size()) {
      return absl::InvalidArgumentError(
          Cat(binary_.size() - used_, " bytes follow the JSON header that no input's binary_data_size accounts for"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status CheckRows(const InputSpec& in) {
    if (first_) {
      first_ = false;
      if (in.shape[0] == 0) return absl::InvalidArgumentError(Cat("input \"", in.name, "\": empty batch (0 rows)"));
      if (in.shape[0] > limits_.max_rows) {
        return absl::ResourceExhaustedError(
            Cat(in.shape[0], " rows exceed the limit of ", limits_.max_rows, " rows per request"));
      }
      out_.rows = in.shape[0];
      first_name_ = in.name;
    } else if (in.shape[0] != out_.rows) {
      return InputError(in.name, "shape ", ShapeText(in), " has ", in.shape[0], " rows but input \"",
                        first_name_, "\" has ", out_.rows);
    }
    if (in.elements > limits_.max_elements - elements_) {
      return absl::ResourceExhaustedError(
          Cat("input \"", in.name, "\" takes the request beyond the limit of ", limits_.max_elements, " values"));
    }
    elements_ += in.elements;
    return absl::OkStatus();
  }

  // The binary bytes of `in`, taken from what is left after the JSON header.
  absl::StatusOr<std::string_view> TakeBinary(const InputSpec& in) {
    if (!has_header_length_) {
      return InputError(in.name, "binary_data_size is given but the request has no Inference-Header-Content-Length");
    }
    const size_t left = binary_.size() - used_;
    if (*in.binary_size > left) {
      return InputError(in.name, "binary_data_size ", *in.binary_size, " exceeds the ", left,
                        " bytes left in the body");
    }
    const std::string_view bytes = binary_.substr(used_, *in.binary_size);
    used_ += *in.binary_size;
    return bytes;
  }

  template <typename Sink>
  absl::Status ReadData(const InputSpec& in, Sink sink) {
    if (!in.binary_size) return ReadJsonData(in, sink);
    ASSIGN_OR_RETURN(const std::string_view bytes, TakeBinary(in));
    return ReadBinaryData(in, bytes, sink);
  }

  absl::Status Add(const InputSpec& in) {
    RETURN_IF_ERROR(CheckRows(in));
    const bool matrix = in.dims == 2 && (in.shape[1] > 1 || count_ == 1);
    if (matrix) {
      if (!out_.matrix_name.empty()) {
        return InputError(in.name, "a second input of shape [rows, width] (\"", out_.matrix_name,
                          "\" is the first); give one matrix or one input per feature");
      }
      if (in.datatype == DataType::kBytes) {
        return InputError(in.name, "BYTES data must have shape [rows] or [rows, 1]");
      }
      out_.matrix_name.assign(in.name);
      out_.width = in.shape[1];
      out_.matrix.resize(in.elements);
      float* dst = out_.matrix.data();
      return ReadData(in, [&dst](const Scalar& s) { *dst++ = static_cast<float>(s.number); });
    }
    Column& column = out_.AddColumn(in.name, in.datatype);
    column.is_string = in.datatype == DataType::kBytes;
    if (column.is_string) {
      column.strings.reserve(in.elements);
      RETURN_IF_ERROR(ReadData(in, [&column](const Scalar& s) { column.strings.emplace_back(s.text); }));
    } else {
      const bool integral = codec_internal::IsIntegral(in.datatype);
      bool exact = integral;
      column.numbers.reserve(in.elements);
      if (integral) column.integers.reserve(in.elements);
      RETURN_IF_ERROR(ReadData(in, [&](const Scalar& s) {
        column.numbers.push_back(s.number);
        if (exact && s.has_integer) column.integers.push_back(s.integer);
        exact = exact && s.has_integer;
      }));
      if (!exact) column.integers.clear();
    }
    column.present.assign(in.elements, 1);
    return absl::OkStatus();
  }

  const std::string_view binary_;
  const bool has_header_length_;
  const Limits& limits_;
  RequestFrame& out_;
  size_t count_ = 0;
  bool first_ = true;
  std::string_view first_name_;
  uint64_t elements_ = 0;
  size_t used_ = 0;  // binary bytes taken by inputs so far
  // The inputs' names, pointing into the parsed document (reused by the thread).
  static thread_local std::vector<std::string_view> names_;
};

thread_local std::vector<std::string_view> V2Decoder::names_;

absl::Status ReadOutputs(element value, RequestFrame& out) {
  array outputs;
  if (value.get(outputs)) return absl::InvalidArgumentError("\"outputs\" must be a list");
  for (element output : outputs) {
    object fields;
    std::string_view name;
    if (output.get(fields) || fields["name"].get(name)) {
      return absl::InvalidArgumentError("each of \"outputs\" must be an object with a \"name\"");
    }
    bool binary = out.binary_output_default;
    element params;
    if (!fields["parameters"].get(params)) {
      element flag;
      if (params.type() != element_type::OBJECT) {
        return absl::InvalidArgumentError(Cat("output \"", name, "\": \"parameters\" must be an object"));
      }
      if (!params["binary_data"].get(flag) && flag.get(binary)) {
        return absl::InvalidArgumentError(Cat("output \"", name, "\": \"binary_data\" must be true or false"));
      }
    }
    out.outputs.emplace_back(name);
    out.binary_outputs.push_back(binary);
  }
  return absl::OkStatus();
}

absl::Status ReadParameters(element value, RequestFrame& out) {
  object params;
  if (value.get(params)) return absl::InvalidArgumentError("\"parameters\" must be an object");
  element flag;
  if (!params["binary_data_output"].get(flag) && flag.get(out.binary_output_default)) {
    return absl::InvalidArgumentError("\"binary_data_output\" must be true or false");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeV2Request(std::string_view body, std::optional<size_t> json_header_length,
                             const Limits& limits, RequestFrame& out) {
  out.Clear();
  if (json_header_length && *json_header_length > body.size()) {
    return absl::InvalidArgumentError(Cat("Inference-Header-Content-Length ", *json_header_length,
                                          " is larger than the body (", body.size(), " bytes)"));
  }
  const size_t json_size = json_header_length.value_or(body.size());
  ASSIGN_OR_RETURN(const element root, codec_internal::ParseJson(body.substr(0, json_size)));
  object request;
  if (root.get(request)) return absl::InvalidArgumentError("the request must be a JSON object");
  std::optional<element> inputs, outputs, parameters;
  for (simdjson::dom::key_value_pair field : request) {
    if (KeyIs(field.key, "inputs")) {
      inputs = field.value;
    } else if (KeyIs(field.key, "outputs")) {
      outputs = field.value;
    } else if (KeyIs(field.key, "parameters")) {
      parameters = field.value;
    } else if (KeyIs(field.key, "id")) {
      std::string_view id;
      if (field.value.get(id)) return absl::InvalidArgumentError("\"id\" must be a string");
      out.id.emplace(id);
    }
  }
  if (parameters) RETURN_IF_ERROR(ReadParameters(*parameters, out));
  if (!inputs) return absl::InvalidArgumentError("the request has no \"inputs\"");
  V2Decoder decoder(body.substr(json_size), json_header_length.has_value(), limits, out);
  RETURN_IF_ERROR(decoder.Inputs(*inputs));
  if (outputs) RETURN_IF_ERROR(ReadOutputs(*outputs, out));
  return absl::OkStatus();
}

}  // namespace ferry::serving
