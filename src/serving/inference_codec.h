#pragma once

// The wire formats of ferry's inference APIs, decoded into one RequestFrame and encoded
// from one set of output rows:
//
//   Open Inference Protocol v2 (KServe v2 / Triton HTTP), JSON:
//     {"id": "r1", "parameters": {...},
//      "inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP32", "data": [...]}, ...],
//      "outputs": [{"name": "predict", "parameters": {"binary_data": false}}]}
//     `data` flat (row-major) or nested to the shape; datatypes BOOL, UINT8..UINT64,
//     INT8..INT64, FP16 (binary only), FP32, FP64, BYTES.
//   Triton's binary tensor extension: the request's first Inference-Header-Content-Length
//     bytes are the JSON above, and inputs with "parameters": {"binary_data_size": N} take
//     their data from the bytes that follow, in input order (little-endian; BOOL one byte;
//     BYTES each element a 4-byte little-endian length then the bytes).
//   TF Serving / KServe v1: {"instances": [[1.0, 2.0], ...]} (arrays in signature order)
//     or {"instances": [{"customer_id": 42, "amount": 9.5}, ...]} (objects by name).
//   docs/inference-wire-formats.md writes the formats up in full.
//
// Decoding is bounded (Limits) and validates everything the protocol fixes: datatypes,
// shapes against data lengths, nesting against shapes, numbers against the datatype's
// range, binary sizes against what remains. What the model needs (which names, how many
// features) is checked later, by the caller, against the model.
//
// Thread-safety: pure functions; a RequestFrame is reused by one caller at a time (its
// vectors keep their capacity, so a steady stream of small requests allocates little).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ferry::serving {

enum class DataType : uint8_t {
  kBool, kUint8, kUint16, kUint32, kUint64, kInt8, kInt16, kInt32, kInt64,
  kFp16, kFp32, kFp64, kBytes,
};
std::string_view DataTypeName(DataType type);  // "FP32", ...
std::optional<DataType> ParseDataType(std::string_view name);

struct Limits {
  size_t max_rows = 10000;             // rows in one request (413 beyond)
  size_t max_elements = 10'000'000;    // values over all inputs (413 beyond)
  size_t max_inputs = 4096;            // input tensors / distinct object fields
};

// One named input with one value per row.
struct Column {
  std::string name;
  DataType datatype = DataType::kFp64;  // v1: kFp64 for numbers, kBytes for strings
  bool is_string = false;               // BYTES / JSON strings
  std::vector<double> numbers;          // per row when !is_string; NaN for null/absent
  // Per row when every value is integral (INT*, UINT* up to 2^63-1, BOOL, or JSON
  // integer literals): the exact value, for integer entity keys. Empty otherwise.
  std::vector<int64_t> integers;
  std::vector<std::string> strings;     // per row when is_string
  // Per row: 1 when the request gave a (non-null) value. v1 objects may omit fields.
  std::vector<uint8_t> present;
};

struct RequestFrame {
  std::optional<std::string> id;  // v2 "id", echoed back
  size_t rows = 0;
  // A single input holding every feature: v2 one tensor of shape [rows, width], or v1
  // instances given as arrays. Row-major float32; empty when the request has none.
  std::string matrix_name;  // v2 tensor name; "instances" for v1 arrays
  size_t width = 0;
  std::vector<float> matrix;
  // Inputs with one value per row: v2 tensors of shape [rows] or [rows, 1], v1 object
  // fields (first-appearance order).
  std::vector<Column> columns;
  // v2 "outputs": requested output names (empty: all) and whether each wants binary data.
  std::vector<std::string> outputs;
  std::vector<bool> binary_outputs;
  bool binary_output_default = false;  // request "parameters": {"binary_data_output": true}
  void Clear();  // keeps capacity
  // Appends a column named `name`, reusing one that Clear() kept (its vectors keep their
  // capacity); the column's vectors are empty.
  Column& AddColumn(std::string_view name, DataType datatype);
  // Columns of earlier requests, emptied by Clear() and kept for their capacity.
  std::vector<Column> spare_columns;
};

// Decodes a v2 request. json_header_length: the Inference-Header-Content-Length value,
// when the client sent it (binary extension); the JSON is then body[0, length) and the
// rest holds binary data. Errors: InvalidArgument naming the input and what is wrong;
// ResourceExhausted when a limit is exceeded (the API answers 413). On error `out` holds
// a partial request (the next decode clears it).
//
// Conversions: a matrix is float32, so FP64 values beyond float's range become +-inf and
// INT64/UINT64 values beyond 2^24 are rounded to the nearest float (accepted, not errors);
// an FP32 tensor's JSON values must fit float. Columns keep numbers as double and, for
// integral datatypes and BOOL, the exact values in `integers`.
absl::Status DecodeV2Request(std::string_view body, std::optional<size_t> json_header_length,
                             const Limits& limits, RequestFrame& out);

// Decodes a v1 {"instances": [...]} request. Errors as for DecodeV2Request; an empty
// instances array is InvalidArgument.
absl::Status DecodeV1Request(std::string_view body, const Limits& limits, RequestFrame& out);

// One output of a prediction: rows x width float32 values, row-major.
struct OutputTensor {
  std::string_view name;
  size_t rows = 0;
  size_t width = 1;  // 1: shape [rows]; otherwise [rows, width]
  std::span<const float> data;
  bool binary = false;  // v2 binary extension: data after the JSON header
};

struct V2ResponseHead {
  std::string_view model_name;
  std::string_view model_version;
  std::optional<std::string_view> id;
  // Per-row prediction ids ("prediction_ids" parameter of the response); may be empty.
  std::span<const std::string> prediction_ids;
};

// Encodes a v2 response into body (cleared first); "model_version" is left out when empty,
// "id" when not given, "parameters" when there are no prediction ids. Each output's data
// holds rows * width values; non-finite values (not JSON numbers) are written as null.
// When any output is binary,
// *json_header_length is set to the JSON part's length (the API sends it as
// Inference-Header-Content-Length) and that output carries
// "parameters": {"binary_data_size": N}; otherwise it is set to nullopt.
void EncodeV2Response(const V2ResponseHead& head, std::span<const OutputTensor> outputs,
                      std::string& body, std::optional<size_t>* json_header_length);

// Encodes a v1 response: {"predictions": [...], "model_version": "3",
// "prediction_ids": [...]}; each prediction a number (width 1) or an array (width > 1).
void EncodeV1Response(std::string_view model_version, const OutputTensor& output,
                      std::span<const std::string> prediction_ids, std::string& body);

}  // namespace ferry::serving
