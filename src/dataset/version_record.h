#pragma once

// VersionRecord: what the metadata store knows about one dataset version, and the
// "dataset" schema migrations that hold it.
//
// Tables (portable SQL, src/store/README.md):
//   datasets(name, created_at)
//   dataset_versions(dataset, version, content_sha256, manifest, size, chunks,
//                    new_bytes, format, row_count, bad_rows, profile, schema_json,
//                    message, parent, source, created_at)
//   dataset_tags(dataset, tag, version, created_at)
//   file_states(path, device, inode, size, mtime_ns, ctime_ns, content_sha256,
//               manifest, profile, format, rows, bad_rows, schema_json, recorded_at)
//
// Thread-safety: value types.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "store/metadata_store.h"
#include "store/migrations.h"
#include "table/format.h"

namespace ferry::dataset {

struct VersionRecord {
  std::string dataset;
  int64_t version = 0;
  std::string content_sha256;  // SHA-256 of the file's bytes (hex), as sha256sum prints
  std::string manifest;        // digest (hex) of the manifest object: the chunk list
  int64_t size = 0;            // bytes of the file
  int64_t chunks = 0;
  int64_t new_bytes = 0;  // bytes of chunks this version stored that no earlier one had
  table::Format format = table::Format::kOpaque;
  std::optional<int64_t> rows;      // tabular only
  int64_t bad_rows = 0;             // rows skipped by --lenient
  std::optional<std::string> profile;  // digest (hex) of the profile JSON object
  std::string schema_json;          // [{"name": ..., "type": ...}, ...]; "[]" when opaque
  std::string message;
  std::optional<int64_t> parent;  // the version that was latest when this one was added
  std::string source;             // file name the version was added from
  int64_t created_at = 0;         // microseconds since the epoch
  std::vector<std::string> tags;  // filled by readers that ask for tags

  std::string Ref() const;  // "NAME@N"
};

// The JSON shape of a version in `--json` output and the HTTP API:
// {"dataset","version","ref","content_sha256","manifest","size","chunks","new_bytes",
//  "format","rows","bad_rows","profile","schema","message","parent","source",
//  "created_at" (RFC 3339), "tags"}. Absent values are null.
nlohmann::json VersionToJson(const VersionRecord& version);

// The "dataset" component's migrations, applied by DatasetStore::Open.
std::span<const store::Migration> DatasetMigrations();

// The columns of dataset_versions in the order VersionFromRow expects.
extern const char kVersionColumns[];
// Reads a dataset_versions row selected with kVersionColumns.
VersionRecord VersionFromRow(const store::Row& row);

}  // namespace ferry::dataset
