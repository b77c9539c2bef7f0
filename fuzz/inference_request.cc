// Fuzzes the inference request decoders (serving/inference_codec.h): Open Inference
// Protocol v2 JSON, Triton's binary tensor extension and TF Serving's v1 "instances", and
// the response encoders on what they decoded.
//
// Input: a mode line, then the request body:
//   "v1\n{...}"        DecodeV1Request
//   "v2\n{...}"        DecodeV2Request without Inference-Header-Content-Length
//   "v2 N\n{...}..."   DecodeV2Request with Inference-Header-Content-Length N
//
// Beyond "no crash" it checks that a decoded RequestFrame is consistent (one value per
// row in every column, matrix of rows x width, unique names), and that it survives a
// round trip: the frame re-encoded as a v2 JSON request, as a v2 binary request (and a
// v1 request, for v1 frames) decodes to the same frame. The response encoders must write
// JSON that parses and carries the values (non-finite ones as null) and names back.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "nlohmann/json.hpp"
#include "serving/inference_codec.h"

namespace {

using ferry::serving::Column;
using ferry::serving::DataType;
using ferry::serving::RequestFrame;
using Json = nlohmann::ordered_json;

// Small limits, so that small inputs reach the limit checks too.
constexpr ferry::serving::Limits kLimits{.max_rows = 64, .max_elements = 4096, .max_inputs = 16};

bool SameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

template <typename T>
bool SameNumbers(std::span<const T> a, std::span<const T> b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameNumber(a[i], b[i])) return false;
  }
  return true;
}

bool IsUtf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

void CheckConsistent(const RequestFrame& frame) {
  FERRY_CHECK(frame.rows >= 1 && frame.rows <= kLimits.max_rows);
  FERRY_CHECK(frame.matrix.size() == frame.rows * frame.width);
  if (frame.matrix_name.empty()) FERRY_CHECK(frame.width == 0 && frame.matrix.empty());
  FERRY_CHECK(frame.outputs.size() == frame.binary_outputs.size());
  std::set<std::string> names;
  if (!frame.matrix_name.empty()) names.insert(frame.matrix_name);
  for (const Column& c : frame.columns) {
    FERRY_CHECK(names.insert(c.name).second);
    FERRY_CHECK(c.present.size() == frame.rows);
    FERRY_CHECK(c.is_string == (c.datatype == DataType::kBytes));
    if (c.is_string) {
      FERRY_CHECK(c.strings.size() == frame.rows && c.numbers.empty() && c.integers.empty());
      continue;
    }
    FERRY_CHECK(c.numbers.size() == frame.rows && c.strings.empty());
    FERRY_CHECK(c.integers.empty() || c.integers.size() == frame.rows);
    for (size_t r = 0; r < c.integers.size(); ++r) {
      if (c.present[r]) FERRY_CHECK(static_cast<double>(c.integers[r]) == c.numbers[r]);
    }
    for (size_t r = 0; r < frame.rows; ++r) {
      if (!c.present[r]) FERRY_CHECK(std::isnan(c.numbers[r]));
    }
  }
}

// The datatype a column is re-encoded with: FP16 (binary only) as FP32, which holds
// every half value exactly; FP32 columns keep JSON's doubles, so binary needs FP64.
DataType RoundTripType(const Column& c, bool binary) {
  if (c.datatype == DataType::kFp16) return DataType::kFp32;
  if (binary && c.datatype == DataType::kFp32) {
    for (double v : c.numbers) {
      if (!std::isnan(v) && static_cast<double>(static_cast<float>(v)) != v) return DataType::kFp64;
    }
  }
  return c.datatype;
}

bool SameFrame(const RequestFrame& a, const RequestFrame& b, bool binary) {
  if (a.id != b.id || a.rows != b.rows || a.matrix_name != b.matrix_name || a.width != b.width ||
      !SameNumbers<float>(a.matrix, b.matrix) || a.outputs != b.outputs ||
      a.binary_outputs != b.binary_outputs || a.binary_output_default != b.binary_output_default ||
      a.columns.size() != b.columns.size()) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const Column& x = a.columns[i];
    const Column& y = b.columns[i];
    if (x.name != y.name || RoundTripType(x, binary) != y.datatype || x.is_string != y.is_string ||
        !SameNumbers<double>(x.numbers, y.numbers) || x.integers != y.integers ||
        x.strings != y.strings || x.present != y.present) {
      return false;
    }
  }
  return true;
}

// Whether the frame can be written back at all: integral columns need their exact
// values (UINT64 beyond int64 keeps only a double), and JSON has no NaN, infinity or
// invalid UTF-8.
bool CanRoundTrip(const RequestFrame& frame, bool json) {
  for (const Column& c : frame.columns) {
    const bool integral = c.datatype != DataType::kFp16 && c.datatype != DataType::kFp32 &&
                          c.datatype != DataType::kFp64 && c.datatype != DataType::kBytes;
    if (integral && c.integers.empty()) return false;
    if (!json) continue;
    for (double v : c.numbers) {
      if (!std::isfinite(v)) return false;
    }
    for (const std::string& s : c.strings) {
      if (!IsUtf8(s)) return false;
    }
  }
  if (json) {
    for (float v : frame.matrix) {
      if (!std::isfinite(v)) return false;
    }
  }
  return true;
}

template <typename T>
void AppendLittleEndian(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 is little-endian
  out.append(bytes, sizeof(T));
}

// Appends one column value in the binary extension's layout.
void AppendBinary(std::string& out, const Column& c, DataType type, size_t row) {
  const int64_t i = c.integers.empty() ? 0 : c.integers[row];
  switch (type) {
    case DataType::kBool:
    case DataType::kUint8:
    case DataType::kInt8:
      out.push_back(static_cast<char>(i));
      break;
    case DataType::kUint16:
    case DataType::kInt16:
      AppendLittleEndian(out, static_cast<uint16_t>(i));
      break;
    case DataType::kUint32:
    case DataType::kInt32:
      AppendLittleEndian(out, static_cast<uint32_t>(i));
      break;
    case DataType::kUint64:
    case DataType::kInt64:
      AppendLittleEndian(out, static_cast<uint64_t>(i));
      break;
    case DataType::kFp32:
      AppendLittleEndian(out, static_cast<float>(c.numbers[row]));
      break;
    case DataType::kFp64:
      AppendLittleEndian(out, c.numbers[row]);
      break;
    case DataType::kBytes:
      AppendLittleEndian(out, static_cast<uint32_t>(c.strings[row].size()));
      out += c.strings[row];
      break;
    case DataType::kFp16:
      FERRY_CHECK(false);  // RoundTripType writes FP16 columns as FP32
      break;
  }
}

Json JsonValue(const Column& c, DataType type, size_t row) {
  if (c.is_string) return c.strings[row];
  if (type == DataType::kBool) return c.integers[row] != 0;
  if (!c.integers.empty()) return c.integers[row];
  return c.numbers[row];
}

// The frame as a v2 request: JSON, or every input in binary after the JSON header
// (whose length goes to *header_length).
std::string EncodeV2(const RequestFrame& frame, bool binary, size_t* header_length) {
  Json request = Json::object();
  if (frame.id) request["id"] = *frame.id;
  if (frame.binary_output_default) request["parameters"] = {{"binary_data_output", true}};
  std::string data;
  Json inputs = Json::array();
  if (!frame.matrix_name.empty()) {
    Json input = {
        {"name", frame.matrix_name}, {"datatype", "FP32"}, {"shape", {frame.rows, frame.width}}};
    if (binary) {
      for (float v : frame.matrix) AppendLittleEndian(data, v);
      input["parameters"] = {{"binary_data_size", frame.matrix.size() * sizeof(float)}};
    } else {
      input["data"] = Json::array();
      for (float v : frame.matrix) input["data"].push_back(v);
    }
    inputs.push_back(std::move(input));
  }
  for (const Column& c : frame.columns) {
    const DataType type = RoundTripType(c, binary);
    Json input = {{"name", c.name},
                  {"datatype", ferry::serving::DataTypeName(type)},
                  {"shape", {frame.rows}}};
    if (binary) {
      const size_t before = data.size();
      for (size_t r = 0; r < frame.rows; ++r) AppendBinary(data, c, type, r);
      input["parameters"] = {{"binary_data_size", data.size() - before}};
    } else {
      input["data"] = Json::array();
      for (size_t r = 0; r < frame.rows; ++r) input["data"].push_back(JsonValue(c, type, r));
    }
    inputs.push_back(std::move(input));
  }
  request["inputs"] = std::move(inputs);
  if (!frame.outputs.empty()) {
    Json outputs = Json::array();
    for (size_t i = 0; i < frame.outputs.size(); ++i) {
      outputs.push_back(
          {{"name", frame.outputs[i]},
           {"parameters", {{"binary_data", static_cast<bool>(frame.binary_outputs[i])}}}});
    }
    request["outputs"] = std::move(outputs);
  }
  std::string body = request.dump();
  *header_length = body.size();
  return body + data;
}

// A v1 frame as a v1 request: arrays for a matrix, objects (null where absent) otherwise.
std::string EncodeV1(const RequestFrame& frame) {
  Json instances = Json::array();
  for (size_t r = 0; r < frame.rows; ++r) {
    if (!frame.matrix_name.empty()) {
      Json row = Json::array();
      for (size_t k = 0; k < frame.width; ++k) {
        const float v = frame.matrix[r * frame.width + k];
        row.push_back(std::isnan(v) ? Json() : Json(v));
      }
      instances.push_back(std::move(row));
      continue;
    }
    Json row = Json::object();
    for (const Column& c : frame.columns) {
      row[c.name] = c.present[r] ? JsonValue(c, c.datatype, r) : Json();
    }
    instances.push_back(std::move(row));
  }
  return Json{{"instances", std::move(instances)}}.dump();
}

void CheckRoundTrips(const RequestFrame& frame, bool v1) {
  RequestFrame again;
  size_t header_length = 0;
  if (!v1 && CanRoundTrip(frame, /*json=*/true)) {
    const std::string json = EncodeV2(frame, /*binary=*/false, &header_length);
    FERRY_CHECK(ferry::serving::DecodeV2Request(json, std::nullopt, kLimits, again).ok());
    FERRY_CHECK(SameFrame(frame, again, /*binary=*/false));
  }
  if (v1 && frame.columns.empty() == !frame.matrix_name.empty()) {
    // Floats of a v1 matrix are exact in JSON; NaN goes back as null, infinity cannot.
    bool finite = true;
    for (float v : frame.matrix) finite = finite && !std::isinf(v);
    for (const Column& c : frame.columns) {
      for (double v : c.numbers) finite = finite && !std::isinf(v);
    }
    if (finite && CanRoundTrip(frame, /*json=*/false)) {
      FERRY_CHECK(ferry::serving::DecodeV1Request(EncodeV1(frame), kLimits, again).ok());
      FERRY_CHECK(SameFrame(frame, again, /*binary=*/false));
    }
  }
  if (!v1 && CanRoundTrip(frame, /*json=*/false)) {
    const std::string body = EncodeV2(frame, /*binary=*/true, &header_length);
    FERRY_CHECK(ferry::serving::DecodeV2Request(body, header_length, kLimits, again).ok());
    FERRY_CHECK(SameFrame(frame, again, /*binary=*/true));
  }
}

// The response encoders on the decoded values: the matrix as the output's data, the
// request's id and output names echoed, string inputs as prediction ids.
void CheckResponses(const RequestFrame& frame) {
  if (frame.matrix.empty()) return;
  std::vector<std::string> ids;
  for (const Column& c : frame.columns) {
    if (c.is_string) {
      ids = c.strings;
      break;
    }
  }
  std::vector<ferry::serving::OutputTensor> outputs;
  const std::string_view default_name = "predict";
  for (size_t i = 0; i <= frame.outputs.size(); ++i) {
    if (i == frame.outputs.size() && !outputs.empty()) break;
    outputs.push_back(
        {.name = i < frame.outputs.size() ? std::string_view(frame.outputs[i]) : default_name,
         .rows = frame.rows,
         .width = frame.width,
         .data = frame.matrix,
         .binary = i < frame.outputs.size() && frame.binary_outputs[i]});
  }
  std::optional<std::string_view> id;
  if (frame.id) id = *frame.id;
  std::string body;
  std::optional<size_t> header_length;
  ferry::serving::EncodeV2Response(
      {.model_name = "m", .model_version = "1", .id = id, .prediction_ids = ids}, outputs, body,
      &header_length);
  const size_t json_size = header_length.value_or(body.size());
  FERRY_CHECK(json_size <= body.size());
  const Json response = Json::parse(body.substr(0, json_size), nullptr, /*allow_exceptions=*/false);
  FERRY_CHECK(!response.is_discarded());
  if (frame.id) FERRY_CHECK(response.at("id") == *frame.id);
  FERRY_CHECK(response.at("outputs").size() == outputs.size());
  size_t binary_at = json_size;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Json& out = response["outputs"][i];
    FERRY_CHECK(out.at("name") == outputs[i].name);
    if (outputs[i].binary) {
      const size_t n = frame.matrix.size() * sizeof(float);
      FERRY_CHECK(out.at("parameters").at("binary_data_size") == n);
      FERRY_CHECK(std::memcmp(body.data() + binary_at, frame.matrix.data(), n) == 0);
      binary_at += n;
      continue;
    }
    const Json& data = out.at("data");
    FERRY_CHECK(data.size() == frame.matrix.size());
    for (size_t k = 0; k < frame.matrix.size(); ++k) {
      const float v = frame.matrix[k];
      FERRY_CHECK(std::isfinite(v) ? static_cast<float>(data[k].get<double>()) == v
                                   : data[k].is_null());
    }
  }
  FERRY_CHECK(binary_at == body.size());
  for (size_t r = 0; r < ids.size(); ++r) {
    const Json& echoed = response.at("parameters").at("prediction_ids").at(r);
    if (IsUtf8(ids[r])) FERRY_CHECK(echoed == ids[r]);
  }

  ferry::serving::EncodeV1Response("7", outputs[0], ids, body);
  const Json v1 = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  FERRY_CHECK(!v1.is_discarded());
  FERRY_CHECK(v1.at("predictions").size() == frame.rows);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view mode = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  RequestFrame frame;
  absl::Status status;
  const bool v1 = mode == "v1";
  if (v1) {
    status = ferry::serving::DecodeV1Request(body, kLimits, frame);
  } else if (mode == "v2") {
    status = ferry::serving::DecodeV2Request(body, std::nullopt, kLimits, frame);
  } else if (mode.starts_with("v2 ") && mode.size() > 3 && mode.size() <= 9 &&
             mode.find_first_not_of("0123456789", 3) == std::string_view::npos) {
    status = ferry::serving::DecodeV2Request(body, std::stoul(std::string(mode.substr(3))), kLimits,
                                             frame);
  } else {
    return 0;
  }
  FERRY_CHECK(status.ok() || absl::IsInvalidArgument(status) || absl::IsResourceExhausted(status));
  if (!status.ok()) return 0;
  CheckConsistent(frame);
  CheckRoundTrips(frame, v1);
  CheckResponses(frame);
  // A frame is reused across requests: decoding into a used one gives the same result.
  RequestFrame reused = frame;
  if (v1) {
    FERRY_CHECK(ferry::serving::DecodeV1Request(body, kLimits, reused).ok());
    FERRY_CHECK(SameFrame(frame, reused, /*binary=*/false));
  }
  return 0;
}
