// EncodeV2Response and EncodeV1Response: JSON written by hand into the caller's reused
// string (numbers with std::to_chars, strings escaped here), no JSON library.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "serving/inference_codec.h"

namespace ferry::serving {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it
// is not one (overlong forms, surrogates and code points beyond U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) -> unsigned char { return i + k < s.size() ? s[i + k] : 0; };
  const unsigned char c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return IsContinuation(at(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char c1 = at(1);
    const bool ok1 = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF) : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F)
                                                                          : IsContinuation(c1);
    return ok1 && IsContinuation(at(2)) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char c1 = at(1);
    const bool ok1 = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF) : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F)
                                                                          : IsContinuation(c1);
    return ok1 && IsContinuation(at(2)) && IsContinuation(at(3)) ? 4 : 0;
  }
  return 0;
}

// Appends `s` as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD byte by byte.
void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (c >= 0x80) {
      const size_t length = Utf8Length(s, i);
      if (length == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(s.data() + i, length);
        i += length;
      }
    } else {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
      ++i;
    }
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// Shortest round-trip form; JSON has no NaN or infinity, so those are null.
void AppendFloat(std::string& out, float value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendInteger(std::string& out, size_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendFloats(std::string& out, std::span<const float> values) {
  out.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendFloat(out, values[i]);
  }
  out.push_back(']');
}

void AppendStrings(std::string& out, std::span<const std::string> values) {
  out.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendString(out, values[i]);
  }
  out.push_back(']');
}

void AppendOutput(std::string& out, const OutputTensor& output) {
  out.append("{\"name\":");
  AppendString(out, output.name);
  out.append(",\"datatype\":\"FP32\",\"shape\":[");
  AppendInteger(out, output.rows);
  if (output.width != 1) {
    out.push_back(',');
    AppendInteger(out, output.width);
  }
  out.push_back(']');
  if (output.binary) {
    out.append(",\"parameters\":{\"binary_data_size\":");
    AppendInteger(out, output.data.size_bytes());
    out.append("}}");
    return;
  }
  out.append(",\"data\":");
  AppendFloats(out, output.data);
  out.push_back('}');
}

// Room for a response of these values, so that appending rarely reallocates.
size_t EstimatedSize(size_t values) { return 256 + values * 16; }

}  // namespace

void EncodeV2Response(const V2ResponseHead& head, std::span<const OutputTensor> outputs,
                      std::string& body, std::optional<size_t>* json_header_length) {
  body.clear();
  size_t values = head.prediction_ids.size();
  for (const OutputTensor& output : outputs) values += output.data.size();
  body.reserve(EstimatedSize(values));
  body.append("{\"model_name\":");
  AppendString(body, head.model_name);
  if (!head.model_version.empty()) {
    body.append(",\"model_version\":");
    AppendString(body, head.model_version);
  }
  if (head.id) {
    body.append(",\"id\":");
    AppendString(body, *head.id);
  }
  if (!head.prediction_ids.empty()) {
    body.append(",\"parameters\":{\"prediction_ids\":");
    AppendStrings(body, head.prediction_ids);
    body.push_back('}');
  }
  body.append(",\"outputs\":[");
  bool any_binary = false;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (i > 0) body.push_back(',');
    AppendOutput(body, outputs[i]);
    any_binary = any_binary || outputs[i].binary;
  }
  body.append("]}");
  if (json_header_length != nullptr) {
    *json_header_length = any_binary ? std::optional<size_t>(body.size()) : std::nullopt;
  }
  for (const OutputTensor& output : outputs) {
    if (!output.binary) continue;
    // Little-endian float32, as the host holds them (inference_codec.cc checks the host).
    body.append(reinterpret_cast<const char*>(output.data.data()), output.data.size_bytes());
  }
}

void EncodeV1Response(std::string_view model_version, const OutputTensor& output,
                      std::span<const std::string> prediction_ids, std::string& body) {
  body.clear();
  body.reserve(EstimatedSize(output.data.size() + prediction_ids.size()));
  body.append("{\"predictions\":[");
  const size_t width = output.width == 0 ? 1 : output.width;
  for (size_t row = 0; row < output.rows; ++row) {
    if (row > 0) body.push_back(',');
    const std::span<const float> values = output.data.subspan(row * width, width);
    if (width == 1) {
      AppendFloat(body, values[0]);
    } else {
      AppendFloats(body, values);
    }
  }
  body.push_back(']');
  if (!model_version.empty()) {
    body.append(",\"model_version\":");
    AppendString(body, model_version);
  }
  if (!prediction_ids.empty()) {
    body.append(",\"prediction_ids\":");
    AppendStrings(body, prediction_ids);
  }
  body.push_back('}');
}

}  // namespace ferry::serving
