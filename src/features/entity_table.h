#pragma once

// EntityTable: the left side of a point-in-time join, from a dataset version
// (`NAME@N`) or from a CSV / JSON Lines file that is not versioned. A file is profiled
// once when opened (for its schema) and hashed, so lineage can name its content.
//
// Thread-safety: Read may be called from one thread at a time.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "lineage/lineage_graph.h"
#include "table/record_batch.h"
#include "table/schema.h"

namespace ferry::features {

// What the spec of an entity table may name.
enum class EntitySource {
  kFileOrDataset,  // an existing file (CSV / JSON Lines by its extension), else a
                   // dataset reference: the CLI
  kDataset,        // only a dataset reference: the HTTP API, whose clients must never
                   // name the server's files
  kCsvFile,        // a file read as CSV / JSON Lines whatever its name: an HTTP
  kJsonLinesFile,  // upload's temporary file
};

class EntityTable {
 public:
  // `spec` names what `source` allows; `display` (when not empty) is how messages name
  // a file. Errors: NotFound for neither a file nor a dataset version, InvalidArgument
  // for a malformed reference (kDataset), an opaque version, or a file that is not CSV
  // / JSON Lines or is malformed (line and reason).
  static absl::StatusOr<EntityTable> Open(const dataset::DatasetStore& datasets,
                                          const std::string& spec, const std::string& display = "",
                                          EntitySource source = EntitySource::kFileOrDataset);

  const table::Schema& schema() const { return schema_; }
  // "customer_daily@3", or the file's path.
  const std::string& label() const { return label_; }
  // The dataset version, or {"file", "sha256:<hex>"}.
  const lineage::Node& node() const { return node_; }
  int64_t rows() const { return rows_; }

  // Reads `columns` (empty: all) in batches. Errors: the reader's.
  absl::Status Read(const std::vector<std::string>& columns,
                    const std::function<absl::Status(table::RecordBatch)>& sink) const;

 private:
  EntityTable() = default;

  const dataset::DatasetStore* datasets_ = nullptr;
  std::optional<dataset::VersionRecord> version_;
  std::filesystem::path file_;
  table::Format format_ = table::Format::kCsv;
  table::Schema schema_;
  std::string label_;
  lineage::Node node_;
  int64_t rows_ = 0;
};

}  // namespace ferry::features
