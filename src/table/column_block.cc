#include "table/column_block.h"

#include <cstring>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::table {
namespace {

constexpr uint32_t kMagic = 0x32424346;  // "FCB2"
constexpr uint8_t kHasNulls = 1;
constexpr uint8_t kAllNull = 2;  // no validity bytes and no values follow

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
void PutArray(std::string& out, const std::vector<T>& values) {
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A bounds-checked cursor over the block.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  absl::Status Get(T& value, std::string_view what) {
    if (bytes_.size() - pos_ < sizeof(T)) return Truncated(what);
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status GetArray(std::vector<T>& values, uint64_t count, std::string_view what) {
    if (count > (bytes_.size() - pos_) / sizeof(T)) return Truncated(what);
    values.resize(count);
    std::memcpy(values.data(), bytes_.data() + pos_, count * sizeof(T));
    pos_ += count * sizeof(T);
    return absl::OkStatus();
  }

  absl::Status GetString(std::string& text, uint64_t size, std::string_view what) {
    if (size > bytes_.size() - pos_) return Truncated(what);
    text.assign(bytes_.data() + pos_, size);
    pos_ += size;
    return absl::OkStatus();
  }

  bool done() const { return pos_ == bytes_.size(); }

 private:
  absl::Status Truncated(std::string_view what) const {
    return absl::DataLossError(core::Cat("column block truncated in ", what, " at byte ", pos_));
  }

  std::string_view bytes_;
  size_t pos_ = 0;
};

size_t ValuesOf(const ColumnArray& c) {
  switch (c.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return c.int64_values.size();
    case ColumnType::kFloat64:
      return c.float64_values.size();
    case ColumnType::kBool:
      return c.bool_values.size();
    case ColumnType::kString:
      return c.offsets.empty() ? 0 : c.offsets.size() - 1;
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::string> EncodeColumnBlock(const std::vector<ColumnArray>& columns) {
  size_t bytes = 8;
  for (const ColumnArray& c : columns) {
    if (ValuesOf(c) != c.size()) {
      return absl::InvalidArgumentError(core::Cat("column \"", c.name, "\" has ", c.size(),
                                                  " validity entries but ", ValuesOf(c),
                                                  " values"));
    }
    if (c.type == ColumnType::kString && c.offsets.back() != c.bytes.size()) {
      return absl::InvalidArgumentError(core::Cat("column \"", c.name, "\": bad offsets"));
    }
    bytes += 16 + c.name.size() + c.size() * 9 + c.bytes.size();
  }
  std::string out;
  out.reserve(bytes);
  Put(out, kMagic);
  Put(out, static_cast<uint32_t>(columns.size()));
  for (const ColumnArray& c : columns) {
    Put(out, static_cast<uint16_t>(c.name.size()));
    out += c.name;
    Put(out, static_cast<uint8_t>(c.type));
    Put(out, static_cast<uint64_t>(c.size()));
    size_t nulls = 0;
    for (uint8_t v : c.valid) nulls += v == 0;
    if (nulls > 0 && nulls == c.size()) {
      Put(out, kAllNull);
      continue;
    }
    Put(out, static_cast<uint8_t>(nulls > 0 ? kHasNulls : 0));
    if (nulls > 0) PutArray(out, c.valid);
    switch (c.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        PutArray(out, c.int64_values);
        break;
      case ColumnType::kFloat64:
        PutArray(out, c.float64_values);
        break;
      case ColumnType::kBool:
        PutArray(out, c.bool_values);
        break;
      case ColumnType::kString:
        PutArray(out, c.offsets);
        out += c.bytes;
        break;
    }
  }
  return out;
}

absl::StatusOr<std::vector<ColumnArray>> DecodeColumnBlock(std::string_view bytes) {
  Reader in(bytes);
  uint32_t magic = 0;
  uint32_t count = 0;
  RETURN_IF_ERROR(in.Get(magic, "header"));
  if (magic != kMagic) return absl::DataLossError("not a column block (bad magic)");
  RETURN_IF_ERROR(in.Get(count, "header"));
  if (count > 100'000) return absl::DataLossError("column block header out of range");
  std::vector<ColumnArray> columns(count);
  for (ColumnArray& c : columns) {
    uint16_t name_size = 0;
    uint8_t type = 0;
    uint64_t rows = 0;
    uint8_t flags = 0;
    RETURN_IF_ERROR(in.Get(name_size, "column name"));
    RETURN_IF_ERROR(in.GetString(c.name, name_size, "column name"));
    RETURN_IF_ERROR(in.Get(type, "column type"));
    RETURN_IF_ERROR(in.Get(rows, "column rows"));
    RETURN_IF_ERROR(in.Get(flags, "column flags"));
    if (type > static_cast<uint8_t>(ColumnType::kString)) {
      return absl::DataLossError(core::Cat("column \"", c.name, "\": unknown type ", type));
    }
    if (rows > (uint64_t{1} << 40)) return absl::DataLossError("column rows out of range");
    c.type = static_cast<ColumnType>(type);
    if (flags & kAllNull) {
      c.valid.assign(rows, 0);
      switch (c.type) {
        case ColumnType::kInt64:
        case ColumnType::kTimestamp:
          c.int64_values.assign(rows, 0);
          break;
        case ColumnType::kFloat64:
          c.float64_values.assign(rows, 0);
          break;
        case ColumnType::kBool:
          c.bool_values.assign(rows, 0);
          break;
        case ColumnType::kString:
          c.offsets.assign(rows + 1, 0);
          break;
      }
      continue;
    }
    if (flags & kHasNulls) {
      RETURN_IF_ERROR(in.GetArray(c.valid, rows, c.name));
    } else {
      c.valid.assign(rows, 1);
    }
    switch (c.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        RETURN_IF_ERROR(in.GetArray(c.int64_values, rows, c.name));
        break;
      case ColumnType::kFloat64:
        RETURN_IF_ERROR(in.GetArray(c.float64_values, rows, c.name));
        break;
      case ColumnType::kBool:
        RETURN_IF_ERROR(in.GetArray(c.bool_values, rows, c.name));
        break;
      case ColumnType::kString: {
        RETURN_IF_ERROR(in.GetArray(c.offsets, rows + 1, c.name));
        for (uint64_t i = 0; i < rows; ++i) {
          if (c.offsets[i] > c.offsets[i + 1]) {
            return absl::DataLossError(core::Cat("column \"", c.name, "\": offsets decrease"));
          }
        }
        if (c.offsets[0] != 0) {
          return absl::DataLossError(core::Cat("column \"", c.name, "\": offsets decrease"));
        }
        RETURN_IF_ERROR(in.GetString(c.bytes, c.offsets[rows], c.name));
        break;
      }
    }
  }
  if (!in.done()) return absl::DataLossError("column block has trailing bytes");
  return columns;
}

}  // namespace ferry::table
