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
// Columns of a row group, in order: "__key_hash" (int64: the hash's bits), "__key"
// (string: EncodeKey), "__ts" (timestamp), "__created" (timestamp, null when absent or
// the view has none), "__key_start" (bool: the first row of its key, so readers compare
// key bytes once per key, not once per row), then the view's features in layout order,
// typed as the layout declares them (int64 columns widened where a feature is float64).
//
// Thread-safety: FeatureTables is safe for concurrent use; a FeatureTableReader is
// used by one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/sha256.h"
#include "dataset/dataset_store.h"
#include "features/feature_definitions.h"
#include "store/workspace.h"
#include "table/record_batch.h"

namespace ferry::features {

inline constexpr size_t kKeyHashColumn = 0;
inline constexpr size_t kKeyColumn = 1;
inline constexpr size_t kTimeColumn = 2;
inline constexpr size_t kCreatedColumn = 3;
inline constexpr size_t kKeyStartColumn = 4;
inline constexpr size_t kFirstFeatureColumn = 5;

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
  static constexpr size_t kDefaultGroupRows = size_t{1} << 18;

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

  // The next row group, or nullopt after the last. Errors: NotFound / DataLoss.
  absl::StatusOr<std::optional<std::vector<table::ColumnArray>>> Next();

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
