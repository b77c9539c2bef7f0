#include "core/ubjson_check.h"

#include <cstdint>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "core/strings.h"

namespace ferry::core {
namespace {

class Checker {
 public:
  Checker(std::string_view bytes, int max_depth) : b_(bytes), max_depth_(max_depth) {}

  absl::Status Run() {
    if (!Value(Next(), 0)) return Error();
    if (pos_ != b_.size()) {
      Fail("bytes after the end of the value");
      return Error();
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(Cat("not well-formed UBJSON at byte ", at_, ": ", why_));
  }
  bool Fail(std::string_view why) {
    if (why_.empty()) {
      why_ = std::string(why);
      at_ = pos_;
    }
    return false;
  }
  size_t Remaining() const { return b_.size() - pos_; }
  // The next marker byte, or 0 at the end.
  char Next() { return pos_ < b_.size() ? b_[pos_++] : '\0'; }
  bool Skip(uint64_t n) {
    if (n > Remaining()) return Fail("a value runs past the end of the data");
    pos_ += static_cast<size_t>(n);
    return true;
  }

  // Payload size of fixed-size types; nullopt for the others.
  static std::optional<size_t> FixedSize(char type) {
    switch (type) {
      case 'Z': case 'N': case 'T': case 'F': return 0;
      case 'i': case 'U': case 'C': return 1;
      case 'I': return 2;
      case 'l': case 'd': return 4;
      case 'L': case 'D': return 8;
      default: return std::nullopt;
    }
  }

  // An integer of type `type` (big-endian), as a length or count: must be >= 0.
  bool Length(char type, uint64_t& out) {
    const std::optional<size_t> size = FixedSize(type);
    if (!size || *size == 0 || type == 'C' || type == 'd' || type == 'D') {
      return Fail("a length or count must be an integer");
    }
    if (*size > Remaining()) return Fail("a length runs past the end of the data");
    int64_t value = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(b_.data() + pos_);
    switch (type) {
      case 'i': value = static_cast<int8_t>(p[0]); break;
      case 'U': value = p[0]; break;
      case 'I': value = static_cast<int16_t>((p[0] << 8) | p[1]); break;
      case 'l':
        value = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                     (uint32_t{p[2]} << 8) | p[3]);
        break;
      default: {  // 'L'
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
        value = static_cast<int64_t>(u);
      }
    }
    pos_ += *size;
    if (value < 0) return Fail("a negative length or count");
    out = static_cast<uint64_t>(value);
    return true;
  }

  bool String() {
    uint64_t n = 0;
    return Length(Next(), n) && Skip(n);
  }

  // A container's optional "$type" and "#count" header.
  bool Header(char& type, std::optional<uint64_t>& count) {
    type = 0;
    count.reset();
    if (pos_ < b_.size() && b_[pos_] == '$') {
      ++pos_;
      type = Next();
      if (!FixedSize(type) && type != 'S' && type != 'H' && type != '[' && type != '{') {
        return Fail("an unknown element type");
      }
      if (pos_ >= b_.size() || b_[pos_] != '#') return Fail("a typed container without a count");
    }
    if (pos_ < b_.size() && b_[pos_] == '#') {
      ++pos_;
      uint64_t n = 0;
      if (!Length(Next(), n)) return false;
      // Every element takes at least one byte unless its type has no payload; either way
      // more elements than bytes cannot be a model.
      if (n > b_.size()) return Fail("a count larger than the data");
      count = n;
    }
    return true;
  }

  bool Element(char type, int depth) {
    // A typed container's elements carry no marker of their own.
    return type != 0 ? Value(type, depth) : Value(Next(), depth);
  }

  bool Value(char marker, int depth) {
    if (depth > max_depth_) return Fail("nested too deep");
    if (const std::optional<size_t> size = FixedSize(marker)) return Skip(*size);
    switch (marker) {
      case 'S':
      case 'H':
        return String();
      case '[': {
        char type;
        std::optional<uint64_t> count;
        if (!Header(type, count)) return false;
        if (count) {
          if (const std::optional<size_t> size = type != 0 ? FixedSize(type) : std::nullopt) {
            return Skip(*count * *size);  // count <= size of data, so no overflow
          }
          for (uint64_t i = 0; i < *count; ++i) {
            if (!Element(type, depth + 1)) return false;
          }
          return true;
        }
        while (true) {
          if (pos_ >= b_.size()) return Fail("an array is not closed");
          if (b_[pos_] == ']') {
            ++pos_;
            return true;
          }
          if (!Value(Next(), depth + 1)) return false;
        }
      }
      case '{': {
        char type;
        std::optional<uint64_t> count;
        if (!Header(type, count)) return false;
        if (count) {
          for (uint64_t i = 0; i < *count; ++i) {
            if (!String() || !Element(type, depth + 1)) return false;
          }
          return true;
        }
        while (true) {
          if (pos_ >= b_.size()) return Fail("an object is not closed");
          if (b_[pos_] == '}') {
            ++pos_;
            return true;
          }
          if (!String() || !Value(Next(), depth + 1)) return false;
        }
      }
      case '\0':
        return Fail("the data ends where a value should be");
      default:
        --pos_;
        return Fail(fmt::format("unknown type marker {:#04x}", static_cast<unsigned char>(marker)));
    }
  }

  std::string_view b_;
  const int max_depth_;
  size_t pos_ = 0;
  std::string why_;
  size_t at_ = 0;
};

}  // namespace

absl::Status CheckUbjson(std::string_view bytes, int max_depth) {
  return Checker(bytes, max_depth).Run();
}

}  // namespace ferry::core
