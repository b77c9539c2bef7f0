#pragma once

// PointInTimeJoin: the as-of join of an entity table with one feature view, exactly:
//
//   - a feature row is a candidate for an entity row when their keys are equal,
//     feature_ts <= entity_ts, and when ttl > 0 also feature_ts >= entity_ts - ttl
//     (both bounds inclusive);
//   - the winner is the candidate with the latest feature_ts, ties broken by the latest
//     created timestamp (a null one is older than any), then by the row that comes last
//     in the source version;
//   - an entity row without a candidate (or without a key) gets nulls; every entity row
//     gets exactly one result, in input order.
//
// How: the entity rows are sorted once by (key hash, key, ts, row) (EntityKeys); the
// view's FeatureTable is already sorted by (key hash, key, ts, created, row), in runs of
// one key. One merge pass walks both, a run at a time: runs of keys no entity row has are
// skipped whole; in a matching run, the winner for an entity row is the last row at or
// before its time, which the merge is holding when it stops. Linear in both sides
// after the entity sort; memory is the entity keys, one or two row groups of the table,
// and the joined columns.
//
// Thread-safety: EntityKeys is immutable once built and may be shared by joins running
// on several threads; each JoinView call uses its own reader and output.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_table.h"
#include "table/record_batch.h"

namespace ferry::features {

// The entity rows' keys and times, sorted for merging. Keys are interned: each
// distinct key gets an id, so sorting and the merge compare ids, never bytes, unless
// two distinct keys share a hash (then bytes decide, as in the feature table).
struct EntityKeys {
  struct Entry {
    uint64_t hash;
    int64_t time;
    uint32_t key;  // id of the distinct key
    uint32_t row;  // entity row
  };
  std::vector<Entry> order;  // rows that have a key, in merge order
  std::string key_bytes;     // distinct encoded keys, back to back, by id
  std::vector<uint64_t> key_offsets = {0};
  size_t rows = 0;  // every entity row, with a key or not

  std::string_view Key(uint32_t id) const {
    return std::string_view(key_bytes).substr(key_offsets[id], key_offsets[id + 1] - key_offsets[id]);
  }
};

// Appends entity rows from a batch: `keys` are the key columns in layout order, `time`
// the event_timestamp column (no nulls: the caller checks). Finish() sorts.
class EntityKeysBuilder {
 public:
  void Add(const std::vector<const table::ColumnArray*>& keys, const table::ColumnArray& time);
  EntityKeys Finish() &&;

 private:
  EntityKeys keys_;
  KeyInterner interner_;
  std::string scratch_;
};

// One joined feature column: a value per entity row (null when no winner).
struct JoinedColumn {
  std::string name;  // the output column name
  table::ColumnType type = table::ColumnType::kFloat64;
  std::vector<uint8_t> valid;
  std::vector<int64_t> int64_values;   // int64, timestamp
  std::vector<double> float64_values;  // float64
  std::vector<uint8_t> bool_values;    // bool
  std::string string_bytes;            // strings, in the order they were joined
  std::vector<uint64_t> string_offsets;  // per entity row
  std::vector<uint32_t> string_sizes;    // per entity row

  bool IsNull(size_t row) const { return valid[row] == 0; }
  std::string_view StringAt(size_t row) const {
    return std::string_view(string_bytes).substr(string_offsets[row], string_sizes[row]);
  }
};

struct JoinStats {
  int64_t matched = 0;       // entity rows that got a winner
  int64_t expired = 0;       // entity rows whose latest candidate was older than the ttl
  int64_t feature_rows = 0;  // feature rows walked
};

// Joins the view's table (read through `reader`) into `out`, one JoinedColumn per
// entry of `feature_columns` (indexes into RowGroup::features), sized to the entity rows. `ttl_seconds` 0: no age limit. Errors: the reader's.
absl::StatusOr<JoinStats> JoinView(const EntityKeys& entities, FeatureTableReader& reader,
                                   int64_t ttl_seconds, std::span<const size_t> feature_columns,
                                   std::vector<JoinedColumn>& out);

}  // namespace ferry::features
