#pragma once

// The online store's keys and values (docs/online-store-format.md), independent of the
// engine that keeps the bytes. Materialization encodes, OnlineFeatures decodes.
//
//   key   = view name, 0x00, the entity key in EncodeKey's encoding (feature_table.h)
//   value = format version (1 byte, 1), layout tag (8), event time (8), created time (8),
//           then for each of the view's features in layout order a presence byte (0 null,
//           1 present) and its payload, written for nulls too (zeros, empty): int64,
//           timestamp and float64 as 8 bytes, bool as 1 byte, string as a 4-byte length
//           and the bytes. Layouts without strings thus have fixed offsets and size.
//   Integers are little-endian; times are microseconds since the Unix epoch; a created
//   time of INT64_MIN means none.
//
// The layout tag (the first 8 bytes of FeatureTableLayout::Hash) says which features,
// in which order and of which types, a value holds: a view whose features change gets a
// new tag, so values written for the old layout are recognised (and treated as absent)
// rather than decoded wrongly.
//
// Order of values ("never older over newer"): a stored value is replaced only by a value
// of the same layout whose (event time, created time) is greater or equal, or by any
// value when the stored one has another layout or format (it is obsolete). Equal times
// replace, so re-materializing a corrected source version wins over the older copy.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "table/record_batch.h"
#include "table/schema.h"

namespace ferry::features {

inline constexpr uint8_t kOnlineValueFormat = 1;
inline constexpr size_t kOnlineValueHeaderBytes = 25;
inline constexpr int64_t kNoCreatedTime = INT64_MIN;

// The tag of a layout given its SHA-256 in hex (FeatureTableLayout::Hash).
uint64_t LayoutTag(std::string_view layout_sha256_hex);

// Key pieces, appended to `out`: "view\0", then each join key's part in order. They
// produce the bytes EncodeKey produces for the same values (tested), so lookups find
// what materialization wrote from a feature table's "__key" column.
void AppendOnlineKeyPrefix(std::string& out, std::string_view view);
void AppendKeyPart(std::string& out, int64_t value);
void AppendKeyPart(std::string& out, std::string_view value);

// Encodes row `row` of `features` (a row group's feature columns, layout order) into
// `out`, replacing its contents.
void EncodeOnlineValue(uint64_t layout_tag, int64_t event_ts, int64_t created_ts,
                       std::span<const table::ColumnArray> features, size_t row,
                       std::string& out);

struct OnlineValueHeader {
  uint64_t layout_tag = 0;
  int64_t event_ts = 0;
  int64_t created_ts = kNoCreatedTime;
};

// The header of a value; nullopt when the bytes are not a value of a known format.
std::optional<OnlineValueHeader> ReadOnlineValueHeader(std::string_view value);

// Whether `incoming` may replace `stored` (see the file comment).
bool ReplacesStored(std::string_view stored, std::string_view incoming);

// Where each feature of a value starts (its presence byte), for a layout given by its
// feature types. Layouts without strings have fixed offsets, computed once.
class OnlineValueLayout {
 public:
  explicit OnlineValueLayout(std::span<const table::ColumnType> types);

  size_t feature_count() const { return types_.size(); }
  table::ColumnType type(size_t feature) const { return types_[feature]; }

  // Fills `offsets` (feature_count() entries) for `value`. False when the value is
  // shorter than its features say (damaged).
  bool Locate(std::string_view value, std::span<uint32_t> offsets) const;

 private:
  std::vector<table::ColumnType> types_;
  bool fixed_width_ = true;
  std::vector<uint32_t> fixed_offsets_;
  size_t fixed_size_ = kOnlineValueHeaderBytes;  // of a value with every feature present
};

// Reads the 8 little-endian bytes at `p`.
inline uint64_t LoadU64(const char* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace ferry::features
