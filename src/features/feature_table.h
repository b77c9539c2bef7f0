#pragma once

// FeatureTable: the join-ready form of a feature view's source version. The rows that
// have a key and an event time, with only the columns a view reads, sorted once by
//
//     (key hash, encoded key, event time, created time (null first), source row)
//
// and cut into row groups of column blocks (table/column_block.h) in the object store.
// Point-in-time joins and materialization then stream it in order instead of sorting
// the source on every call: sorting is paid once per (source version, layout), when
// the view is applied or first used, and recorded in the metadata store (component
// "features", table feature_tables) with the objects listed in object_roots so gc keeps
// them. docs/feature-table-format.md describes the objects.
//
// The order only has to be the same on both sides of a join, so keys are ordered by a
// 64-bit hash first (cheap comparisons, and any key types), then by their encoding
// (which makes the order total and collisions harmless).
//
// A row group keeps each key once per run of its rows (hash and encoded key), so readers
// compare keys once per key, not once per row, and skip a key's rows at once; the rows
// hold the event and created times and the view's features in layout order, typed as the
// layout declares them (int64 columns widened where a feature is float64).
//
// Thread-safety: FeatureTables is safe for concurrent use; a FeatureTableReader is
// used by one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "dataset/dataset_store.h"
#include "features/feature_definitions.h"
#include "store/workspace.h"
#include "table/record_batch.h"

namespace ferry::features {

// One row group: rows in table order, and the runs of consecutive rows that share a
// key (a key's rows may continue into the next group as another run).
struct RowGroup {
  std::vector<int64_t> run_hashes;  // the key hash's bits, per run
  table::ColumnArray run_keys;      // string: the encoded key, per run
  std::vector<uint32_t> run_starts;  // first row of each run, then the row count
  std::vector<int64_t> times;        // event time, per row
  table::ColumnArray created;        // created time per row (all null without one)
  std::vector<table::ColumnArray> features;  // per row, in layout order

  size_t runs() const { return run_hashes.size(); }
  size_t rows() const { return times.size(); }
};

// What a table holds: enough to decide whether an existing one can serve a view.
struct FeatureTableLayout {
  std::vector<JoinKey> join_keys;
  std::string timestamp_field;
  std::string created_timestamp_field;  // empty: none
  std::vector<Feature> features;

  static FeatureTableLayout Of(const FeatureView& view, std::vector<JoinKey> join_keys);
  // SHA-256 of the canonical JSON of the layout and the key hash version.
  std::string Hash() const;
};

// Appends the order-preserving encoding of one row's key: int64 as 8 big-endian bytes
// with the sign bit flipped; strings with 0x00 escaped as 0x00 0xFF and ended by
// 0x00 0x01. `columns` are the key columns in layout order; false when one is null.
bool EncodeKey(const std::vector<const table::ColumnArray*>& columns, size_t row,
               std::string& out);
uint64_t HashKey(std::string_view encoded);

// Gives each distinct encoded key a dense id, so sorts compare ids instead of bytes
// scattered in memory. Keys are found by their hash and checked byte for byte; distinct
// keys sharing a hash (collisions) still get distinct ids, and collisions() then tells
// sorts to order such keys by their bytes.
class KeyInterner {
 public:
  KeyInterner() : offsets_{0} {}

  // The id of `encoded` (whose HashKey is `hash`), added if new.
  uint32_t Intern(std::string_view encoded, uint64_t hash);
  std::string_view Key(uint32_t id) const {
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  bool collisions() const { return !colliding_.empty(); }
  size_t size() const { return offsets_.size() - 1; }

  // Hands over the keys (bytes back to back, offsets by id); the interner is then empty.
  std::pair<std::string, std::vector<uint64_t>> Release() &&;

 private:
  // The first key seen with a hash. Short keys (most: an int64 is 8 bytes, a 9-byte
  // string 11) are kept in the slot too, so checking a row's key against it reads the
  // slot only, not a second place in memory.
  struct Slot {
    static constexpr size_t kInline = 19;
    uint32_t id = 0;
    uint8_t size = 0;  // of `bytes` when the key fits, else 0xff
    char bytes[kInline];
  };

  uint32_t Add(std::string_view encoded);

  std::string bytes_;
  std::vector<uint64_t> offsets_;
  absl::flat_hash_map<uint64_t, Slot> by_hash_;
  absl::flat_hash_map<std::string, uint32_t> colliding_;  // later keys with a taken hash
};

struct FeatureTableInfo {
  std::string source;  // "NAME@N"
  std::string layout_hash;
  core::Digest manifest;  // the table's manifest object
  int64_t rows = 0;
  int64_t dropped_rows = 0;  // source rows without a key or an event time
  int64_t group_count = 0;
  bool built = false;  // this call built it (false: it existed)
};

class FeatureTables {
 public:
  static constexpr size_t kDefaultGroupRows = size_t{1} << 16;

  // `group_rows`: rows per row group of tables this builds (smaller in tests).
  FeatureTables(store::Workspace& workspace, const dataset::DatasetStore& datasets,
                size_t group_rows = kDefaultGroupRows)
      : workspace_(workspace), datasets_(datasets), group_rows_(group_rows) {}

  // The table of `version` for `layout`, built now if it does not exist yet. Errors:
  // InvalidArgument if the version lacks a column of the layout or has it with another
  // type, the dataset store's read errors, the object store's write errors.
  absl::StatusOr<FeatureTableInfo> Ensure(const dataset::VersionRecord& version,
                                          const FeatureTableLayout& layout) const;

 private:
  absl::StatusOr<std::optional<FeatureTableInfo>> Find(const dataset::VersionRecord& version,
                                                       const std::string& layout_hash) const;
  absl::StatusOr<FeatureTableInfo> Build(const dataset::VersionRecord& version,
                                         const FeatureTableLayout& layout) const;

  store::Workspace& workspace_;
  const dataset::DatasetStore& datasets_;
  const size_t group_rows_;
};

// Streams a table's row groups in order, each read and hash-checked from the object
// store when asked for.
class FeatureTableReader {
 public:
  // Errors: NotFound / DataLoss for a missing or damaged manifest.
  static absl::StatusOr<FeatureTableReader> Open(const store::ObjectStore& objects,
                                                 const core::Digest& manifest);

  // The next row group, or nullopt after the last. Errors: NotFound / DataLoss (also
  // for a group whose columns do not fit together).
  absl::StatusOr<std::optional<RowGroup>> Next();

  int64_t rows() const { return rows_; }

 private:
  FeatureTableReader(const store::ObjectStore& objects, std::vector<core::Digest> groups,
                     int64_t rows)
      : objects_(&objects), groups_(std::move(groups)), rows_(rows) {}

  const store::ObjectStore* objects_;
  std::vector<core::Digest> groups_;
  size_t next_ = 0;
  int64_t rows_ = 0;
};

}  // namespace ferry::features
