#include "serving/inference_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "serving/inference_codec_internal.h"

namespace ferry::serving {
namespace {

using core::Cat;
using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(std::endian::native == std::endian::little,
              "the binary tensor extension is little-endian; add byte swaps here");

constexpr std::string_view kTypeNames[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64",
                                           "INT8",  "INT16", "INT32",  "INT64",  "FP16",
                                           "FP32",  "FP64",  "BYTES"};

// Bodies up to this size are parsed by the thread's reused parser and buffer; larger ones
// by a parser of their own, dropped at the thread's next parse, so that a rare huge
// request does not leave its buffers on the thread.
constexpr size_t kReusedParserBytes = size_t{1} << 20;

// Keeps nothing of a document but where it goes wrong.
struct ErrorFinder : nlohmann::json_sax<nlohmann::json> {
  std::optional<size_t> at;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    at = position > 0 ? position - 1 : 0;
    return false;
  }
};

// Where a JSON text goes wrong, for the message: simdjson's DOM parser does not say, so
// the (rare) failing text is read again, without building anything, by nlohmann-json's
// SAX parser, which does. Texts above kReusedParserBytes are not read twice.
std::string ErrorOffset(std::string_view json) {
  if (json.size() > kReusedParserBytes) return "";
  ErrorFinder finder;
  (void)nlohmann::json::sax_parse(json.begin(), json.end(), &finder);
  return finder.at ? Cat(" at byte ", *finder.at) : "";
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float value = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -value : value;
  }
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);  // inf or NaN
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

template <typename T>
T Load(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// Range of the integral datatypes, as int64 (UINT64's upper end is checked apart).
struct IntRange {
  int64_t min;
  int64_t max;
};
IntRange RangeOf(DataType type) {
  switch (type) {
    case DataType::kBool: return {0, 1};
    case DataType::kUint8: return {0, 255};
    case DataType::kUint16: return {0, 65535};
    case DataType::kUint32: return {0, 4294967295LL};
    case DataType::kUint64: return {0, std::numeric_limits<int64_t>::max()};
    case DataType::kInt8: return {-128, 127};
    case DataType::kInt16: return {-32768, 32767};
    case DataType::kInt32: return {-2147483648LL, 2147483647LL};
    default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

}  // namespace

std::string_view DataTypeName(DataType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<DataType> ParseDataType(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<DataType>(i);
  }
  return std::nullopt;
}

void RequestFrame::Clear() {
  id.reset();
  rows = 0;
  matrix_name.clear();
  width = 0;
  matrix.clear();
  if (spare_columns.empty()) {
    columns.swap(spare_columns);  // both vectors keep their capacity
  } else {
    for (Column& column : columns) spare_columns.push_back(std::move(column));
    columns.clear();
  }
  outputs.clear();
  binary_outputs.clear();
  binary_output_default = false;
}

Column& RequestFrame::AddColumn(std::string_view name, DataType datatype) {
  if (spare_columns.empty()) {
    columns.emplace_back();
  } else {
    columns.push_back(std::move(spare_columns.back()));
    spare_columns.pop_back();
  }
  Column& column = columns.back();
  column.name.assign(name);
  column.datatype = datatype;
  column.is_string = false;
  column.numbers.clear();
  column.integers.clear();
  column.strings.clear();
  column.present.clear();
  return column;
}

namespace codec_internal {

absl::StatusOr<element> ParseJson(std::string_view json) {
  thread_local simdjson::dom::parser reused;
  thread_local std::string padded;
  thread_local std::unique_ptr<simdjson::dom::parser> large;
  large.reset();  // the previous request is done with it
  element root;
  simdjson::error_code error;
  if (json.size() <= kReusedParserBytes) {
    padded.reserve(json.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(json.data(), json.size());
    error = reused.parse(padded.data(), padded.size(), /*realloc_if_needed=*/false).get(root);
  } else {
    // The DOM copies strings out of the input, so the copy may go when parsing is done.
    large = std::make_unique<simdjson::dom::parser>();
    const simdjson::padded_string copy(json);
    error = large->parse(copy).get(root);
  }
  if (error) {
    return absl::InvalidArgumentError(
        Cat("the request is not valid JSON", ErrorOffset(json), ": ", simdjson::error_message(error)));
  }
  return root;
}

std::string Shown(element value) {
  std::string text = simdjson::minify(value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

bool IsIntegral(DataType type) {
  return type != DataType::kFp16 && type != DataType::kFp32 && type != DataType::kFp64 &&
         type != DataType::kBytes;
}

size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kBool: case DataType::kUint8: case DataType::kInt8: return 1;
    case DataType::kUint16: case DataType::kInt16: case DataType::kFp16: return 2;
    case DataType::kUint32: case DataType::kInt32: case DataType::kFp32: return 4;
    case DataType::kUint64: case DataType::kInt64: case DataType::kFp64: return 8;
    case DataType::kBytes: return 0;
  }
  return 0;
}

const char* ReadJsonValue(element value, DataType type, Scalar& out) {
  const element_type kind = value.type();
  if (kind == element_type::NULL_VALUE) return "null is not allowed in v2 data";
  switch (type) {
    case DataType::kBytes:
      if (kind != element_type::STRING) return "expected a string for BYTES";
      out.text = std::string_view(value.get_string().value_unsafe());
      return nullptr;
    case DataType::kFp16:
      return "FP16 data must be sent as binary data (binary_data_size)";
    case DataType::kFp32:
    case DataType::kFp64: {
      if (kind == element_type::DOUBLE) {
        out.number = value.get_double().value_unsafe();
      } else if (kind == element_type::INT64) {
        out.number = static_cast<double>(value.get_int64().value_unsafe());
      } else if (kind == element_type::UINT64) {
        out.number = static_cast<double>(value.get_uint64().value_unsafe());
      } else {
        return type == DataType::kFp32 ? "expected a number for FP32" : "expected a number for FP64";
      }
      if (type == DataType::kFp32 && std::fabs(out.number) > std::numeric_limits<float>::max()) {
        return "out of range for FP32";
      }
      out.has_integer = false;
      return nullptr;
    }
    case DataType::kBool:
      if (kind != element_type::BOOL) return "expected true or false for BOOL";
      out.integer = value.get_bool().value_unsafe() ? 1 : 0;
      out.number = static_cast<double>(out.integer);
      out.has_integer = true;
      return nullptr;
    default:
      break;
  }
  // Integral datatypes take integer literals only: 1.5 and 1.0 alike are refused.
  if (kind == element_type::UINT64) {  // beyond int64
    if (type != DataType::kUint64) return "out of range";
    out.number = static_cast<double>(value.get_uint64().value_unsafe());
    out.has_integer = false;
    return nullptr;
  }
  if (kind != element_type::INT64) return "expected an integer";
  const int64_t v = value.get_int64().value_unsafe();
  const IntRange range = RangeOf(type);
  if (v < range.min) return range.min == 0 ? "negative value for an unsigned type" : "out of range";
  if (v > range.max) return "out of range";
  out.integer = v;
  out.number = static_cast<double>(v);
  out.has_integer = true;
  return nullptr;
}

Scalar ReadBinaryValue(const char* bytes, DataType type) {
  Scalar s;
  auto integral = [&s](int64_t v) {
    s.integer = v;
    s.number = static_cast<double>(v);
    s.has_integer = true;
  };
  switch (type) {
    case DataType::kBool: integral(bytes[0] != 0 ? 1 : 0); break;
    case DataType::kUint8: integral(Load<uint8_t>(bytes)); break;
    case DataType::kUint16: integral(Load<uint16_t>(bytes)); break;
    case DataType::kUint32: integral(Load<uint32_t>(bytes)); break;
    case DataType::kUint64: {
      const uint64_t v = Load<uint64_t>(bytes);
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        integral(static_cast<int64_t>(v));
      } else {
        s.number = static_cast<double>(v);
      }
      break;
    }
    case DataType::kInt8: integral(Load<int8_t>(bytes)); break;
    case DataType::kInt16: integral(Load<int16_t>(bytes)); break;
    case DataType::kInt32: integral(Load<int32_t>(bytes)); break;
    case DataType::kInt64: integral(Load<int64_t>(bytes)); break;
    case DataType::kFp16: s.number = HalfToFloat(Load<uint16_t>(bytes)); break;
    case DataType::kFp32: s.number = Load<float>(bytes); break;
    case DataType::kFp64: s.number = Load<double>(bytes); break;
    case DataType::kBytes: break;  // length-prefixed: read by the caller
  }
  return s;
}

}  // namespace codec_internal
}  // namespace ferry::serving
