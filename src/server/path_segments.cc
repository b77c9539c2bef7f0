#include "server/path_segments.h"

#include <cstdint>

#include "core/strings.h"

namespace ferry::server {
namespace {

// True when text is well-formed UTF-8 (no overlong forms, surrogates or values past
// U+10FFFF).
bool IsUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t min;
    uint32_t code;
    if ((c & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

absl::Status CheckSegment(std::string_view segment, bool has_high_bytes) {
  if (segment == "." || segment == "..") {
    return absl::InvalidArgumentError("request path contains a \".\" or \"..\" segment");
  }
  for (char c : segment) {
    if (c == '/' || IsControl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "request path contains an encoded '/' or a control character");
    }
  }
  if (has_high_bytes && !IsUtf8(segment)) {
    return absl::InvalidArgumentError("request path is not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SplitPath(std::string_view raw_path, PathSegments& out) {
  out.segments.clear();
  out.decoded.clear();
  if (raw_path.empty() || raw_path.front() != '/') {
    return absl::InvalidArgumentError("request target must be a path starting with '/'");
  }
  if (raw_path.size() == 1) return absl::OkStatus();
  // Decoding never lengthens a segment, so this one reservation keeps every view
  // into `decoded` valid while later segments are appended.
  out.decoded.reserve(raw_path.size());

  size_t start = 1;
  while (true) {
    size_t end = raw_path.find('/', start);
    if (end == std::string_view::npos) end = raw_path.size();
    std::string_view raw = raw_path.substr(start, end - start);

    bool has_escape = false;
    bool has_high_bytes = false;
    for (char c : raw) {
      has_escape |= c == '%';
      has_high_bytes |= static_cast<unsigned char>(c) >= 0x80;
    }
    std::string_view segment = raw;
    if (has_escape) {
      size_t begin = out.decoded.size();
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '%') {
          out.decoded.push_back(raw[i]);
          continue;
        }
        bool complete = i + 2 < raw.size();
        int high = complete ? core::HexDigitValue(raw[i + 1]) : -1;
        int low = complete ? core::HexDigitValue(raw[i + 2]) : -1;
        if (high < 0 || low < 0) {
          return absl::InvalidArgumentError("request path has a malformed percent-escape");
        }
        auto byte = static_cast<char>(high * 16 + low);
        has_high_bytes |= static_cast<unsigned char>(byte) >= 0x80;
        out.decoded.push_back(byte);
        i += 2;
      }
      segment = std::string_view(out.decoded).substr(begin);
    }
    absl::Status checked = CheckSegment(segment, has_high_bytes);
    if (!checked.ok()) return checked;
    out.segments.push_back(segment);
    if (end == raw_path.size()) break;
    start = end + 1;
  }
  return absl::OkStatus();
}

}  // namespace ferry::server
