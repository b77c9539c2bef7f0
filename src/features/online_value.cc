#include "features/online_value.h"

#include <cstring>

#include "core/strings.h"

namespace ferry::features {
namespace {

using table::ColumnType;

void AppendU64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void AppendU32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

size_t FixedPayload(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return 1;
    case ColumnType::kString:
      return 4;  // the length; the bytes follow
    default:
      return 8;
  }
}

}  // namespace

uint64_t LayoutTag(std::string_view layout_sha256_hex) {
  uint64_t tag = 0;
  for (size_t i = 0; i < 16 && i < layout_sha256_hex.size(); ++i) {
    const int digit = core::HexDigitValue(layout_sha256_hex[i]);
    tag = (tag << 4) | static_cast<uint64_t>(digit < 0 ? 0 : digit);
  }
  return tag;
}

void AppendOnlineKeyPrefix(std::string& out, std::string_view view) {
  out.append(view);
  out.push_back('\0');
}

void AppendKeyPart(std::string& out, int64_t value) {
  // Order-preserving: the sign bit flipped, big-endian.
  const uint64_t big = __builtin_bswap64(static_cast<uint64_t>(value) ^ (uint64_t{1} << 63));
  out.append(reinterpret_cast<const char*>(&big), sizeof(big));
}

void AppendKeyPart(std::string& out, std::string_view value) {
  // Runs without a NUL are copied whole; each NUL becomes 0x00 0xFF; 0x00 0x01 ends it.
  while (!value.empty()) {
    const void* nul = std::memchr(value.data(), '\0', value.size());
    if (nul == nullptr) {
      out.append(value);
      break;
    }
    const size_t run = static_cast<size_t>(static_cast<const char*>(nul) - value.data());
    out.append(value.substr(0, run));
    out.push_back('\0');
    out.push_back('\xff');
    value.remove_prefix(run + 1);
  }
  out.push_back('\0');
  out.push_back('\x01');
}

void EncodeOnlineValue(uint64_t layout_tag, int64_t event_ts, int64_t created_ts,
                       std::span<const table::ColumnArray> features, size_t row,
                       std::string& out) {
  out.clear();
  out.push_back(static_cast<char>(kOnlineValueFormat));
  AppendU64(out, layout_tag);
  AppendU64(out, static_cast<uint64_t>(event_ts));
  AppendU64(out, static_cast<uint64_t>(created_ts));
  for (const table::ColumnArray& c : features) {
    const bool present = !c.IsNull(row);
    out.push_back(present ? '\x01' : '\x00');
    switch (c.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        AppendU64(out, present ? static_cast<uint64_t>(c.int64_values[row]) : 0);
        break;
      case ColumnType::kFloat64: {
        uint64_t bits = 0;
        if (present) std::memcpy(&bits, &c.float64_values[row], sizeof(bits));
        AppendU64(out, bits);
        break;
      }
      case ColumnType::kBool:
        out.push_back(present && c.bool_values[row] ? '\x01' : '\x00');
        break;
      case ColumnType::kString: {
        const std::string_view s = present ? c.StringAt(row) : std::string_view();
        AppendU32(out, static_cast<uint32_t>(s.size()));
        out.append(s);
        break;
      }
    }
  }
}

std::optional<OnlineValueHeader> ReadOnlineValueHeader(std::string_view value) {
  if (value.size() < kOnlineValueHeaderBytes ||
      static_cast<uint8_t>(value[0]) != kOnlineValueFormat) {
    return std::nullopt;
  }
  return OnlineValueHeader{LoadU64(value.data() + 1),
                           static_cast<int64_t>(LoadU64(value.data() + 9)),
                           static_cast<int64_t>(LoadU64(value.data() + 17))};
}

bool ReplacesStored(std::string_view stored, std::string_view incoming) {
  const std::optional<OnlineValueHeader> old = ReadOnlineValueHeader(stored);
  const std::optional<OnlineValueHeader> now = ReadOnlineValueHeader(incoming);
  if (!now) return false;
  if (!old || old->layout_tag != now->layout_tag) return true;
  if (now->event_ts != old->event_ts) return now->event_ts > old->event_ts;
  return now->created_ts >= old->created_ts;
}

OnlineValueLayout::OnlineValueLayout(std::span<const ColumnType> types)
    : types_(types.begin(), types.end()) {
  size_t offset = kOnlineValueHeaderBytes;
  for (ColumnType t : types_) {
    fixed_width_ &= t != ColumnType::kString;
    fixed_offsets_.push_back(static_cast<uint32_t>(offset));
    offset += 1 + FixedPayload(t);
  }
  fixed_size_ = offset;
}

bool OnlineValueLayout::Locate(std::string_view value, std::span<uint32_t> offsets) const {
  if (fixed_width_) {
    if (value.size() != fixed_size_) return false;
    std::memcpy(offsets.data(), fixed_offsets_.data(), types_.size() * sizeof(uint32_t));
    return true;
  }
  size_t offset = kOnlineValueHeaderBytes;
  for (size_t i = 0; i < types_.size(); ++i) {
    offsets[i] = static_cast<uint32_t>(offset);
    offset += 1 + FixedPayload(types_[i]);
    if (offset > value.size()) return false;
    if (types_[i] == ColumnType::kString) {
      uint32_t size;
      std::memcpy(&size, value.data() + offset - 4, sizeof(size));
      offset += size;
      if (offset > value.size()) return false;
    }
  }
  return offset == value.size();
}

}  // namespace ferry::features
