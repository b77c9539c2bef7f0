#pragma once

// DatasetStore: immutable, content-addressed, described dataset versions.
//
// A version NAME@N is the bytes of one file, cut into content-defined chunks stored
// once each in the object store (so appending rows or editing a few stores only the
// chunks that changed), listed in a content-addressed manifest, and, for CSV and
// JSON Lines, described by a profile (schema and per-column statistics) computed
// while the bytes stream through. Versions are numbered 1, 2, ... per dataset and
// never change; tags name versions (`NAME@TAG`).
//
// Crash safety: chunks, the manifest and the profile are made durable first; the
// version appears with one metadata transaction afterwards. A kill at any point
// leaves either no version or a complete one. Garbage collection takes the
// workspace's store lock exclusively, adds take it shared, so gc never deletes a
// chunk an add in progress relies on.
//
// Thread-safety: safe to use from several threads and processes; concurrent adds to
// one dataset become successive versions.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/file.h"
#include "dataset/dataset_ref.h"
#include "dataset/version_record.h"
#include "lineage/lineage_graph.h"
#include "store/workspace.h"
#include "table/profile_diff.h"
#include "table/record_batch.h"
#include "table/table_profile.h"

namespace ferry::dataset {

struct LineageInput {
  lineage::Node from;
  std::string relation;
};

struct AddOptions {
  std::string message;
  std::optional<std::string> tag;
  // Tabular files with malformed rows are rejected unless lenient, which skips and
  // counts them.
  bool lenient = false;
  // Detected from the file name (.csv, .jsonl, .ndjson) when absent.
  std::optional<table::Format> format;
  // The name the version records as its source and detects the format from, when
  // the bytes come from elsewhere than the user's file (an HTTP upload's temp file, a
  // training set being written). Such files skip the re-add cache: they are removed
  // after the add, so remembering their paths would only grow the cache.
  std::optional<std::string> source_name;
  // Called from the adding thread with bytes read so far and the file's size, for a
  // progress bar.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // What the new version was made from (a training set: its entity table and the
  // feature views' sources): lineage edges recorded in the version's transaction.
  std::vector<LineageInput> derived_from;
  // How Add asks for the workspace's free disk space; empty: statvfs
  // (core::FreeDiskSpace). Tests pass a fake to simulate a full disk.
  core::FreeSpaceProbe free_space;
};

// The most disk space adding a file of `file_size` bytes may take in the workspace,
// and what Add requires to be free before it stores anything: the file's size (its
// chunks are stored compressed, and zstd never makes a 2 MiB frame more than ~0.4%
// larger) plus 1/128 of it and 8 MiB for object headers, frames, the manifest, the
// profile and the metadata.
uint64_t SpaceNeededToAdd(uint64_t file_size);

struct AddResult {
  VersionRecord version;  // the new version, or the latest one when unchanged
  bool created = false;   // false: the bytes equal the latest version's
  bool from_cache = false;  // the file was recognised without reading it
  int64_t reused_chunks = 0;  // chunks the store already had
  int64_t new_chunks = 0;     // chunks this add wrote
  int64_t new_bytes = 0;      // their bytes
  int64_t stored_bytes = 0;   // their bytes on disk, compressed
};

struct VersionDiff {
  VersionRecord before;
  VersionRecord after;
  int64_t shared_bytes = 0;  // bytes of `after` in chunks `before` also has
  int64_t new_bytes = 0;     // bytes of `after` in chunks `before` lacks
  // Schema, rows and statistics; absent unless both versions are tabular.
  std::optional<table::ProfileDiff> profile;
};

struct VerifyReport {
  int64_t versions_checked = 0;
  int64_t bytes_checked = 0;
  // "NAME@N: what is wrong" for each damaged version (missing or corrupt chunk,
  // manifest or profile, named by digest).
  std::vector<std::string> problems;
};

struct GcReport {
  int64_t objects_kept = 0;
  int64_t objects_removed = 0;
  int64_t bytes_removed = 0;
  int64_t temporary_files_removed = 0;
};

struct DatasetSummary {
  std::string name;
  int64_t versions = 0;
  VersionRecord latest;
};

class DatasetStore {
 public:
  // Applies the "dataset" migrations. The workspace must outlive the store.
  static absl::StatusOr<std::unique_ptr<DatasetStore>> Open(store::Workspace& workspace);

  // Stores the file at `path` as the next version of `name`. Errors:
  // InvalidArgument for a bad name or tag, an empty file, or a malformed tabular
  // file (naming the line and reason); NotFound if the file does not exist;
  // AlreadyExists if the tag is taken; ResourceExhausted, before anything is
  // written, when the workspace's filesystem has less than SpaceNeededToAdd free
  // ("not enough free disk space: adding x.csv may need 2.0 GiB, 1.1 GiB free in
  // /w/.ferry"), and when a write fails for want of space all the same ("adding x.csv:
  // ...: No space left on device"). Nothing is stored on error.
  absl::StatusOr<AddResult> Add(std::string_view name, const std::filesystem::path& path,
                                const AddOptions& options);

  // All datasets, by name.
  absl::StatusOr<std::vector<DatasetSummary>> List() const;
  // The versions of `name`, newest first, with their tags. NotFound for an unknown name.
  absl::StatusOr<std::vector<VersionRecord>> Log(std::string_view name) const;
  // The version a reference names, with its tags. NotFound naming what is missing.
  absl::StatusOr<VersionRecord> Resolve(const DatasetRef& ref) const;
  // Points `tag` at the version `ref` names. AlreadyExists if the tag names another
  // version, unless `move` is set.
  absl::StatusOr<VersionRecord> Tag(const DatasetRef& ref, std::string_view tag, bool move);

  // The version's profile (schema and statistics). NotFound for opaque versions;
  // DataLoss if the profile object is missing or damaged.
  absl::StatusOr<table::TableProfile> Profile(const VersionRecord& version) const;

  // Rebuilds the version's file at `destination`, byte-identical, verifying every
  // chunk and the whole file's SHA-256 before anything appears there.
  absl::StatusOr<VersionRecord> Export(const DatasetRef& ref,
                                       const std::filesystem::path& destination) const;

  // Streams a tabular version as typed columnar batches of `batch_rows` rows, with
  // only the `columns` asked for (all when empty), verifying every chunk as it
  // reads. This is how the feature store and training read datasets. Errors:
  // FailedPrecondition for opaque versions; InvalidArgument for an unknown column;
  // DataLoss for damaged chunks; the sink's error as returned.
  absl::Status ReadBatches(const VersionRecord& version, const std::vector<std::string>& columns,
                           size_t batch_rows,
                           const std::function<absl::Status(table::RecordBatch)>& sink) const;

  // What the version was made from and what was made from it (training sets, runs,
  // models), from the lineage graph.
  struct VersionLineage {
    std::vector<lineage::Edge> inputs;
    std::vector<lineage::Edge> consumers;
  };
  absl::StatusOr<VersionLineage> Lineage(const VersionRecord& version) const;

  // Compares two versions (of the same or different datasets).
  absl::StatusOr<VersionDiff> Diff(const DatasetRef& before, const DatasetRef& after) const;

  // Re-reads every version (every chunk, the whole-file SHA-256, manifest and
  // profile) and reports what is damaged; the status is an error only when the
  // check itself cannot run. `progress` gets bytes checked so far.
  absl::StatusOr<VerifyReport> Verify(const std::function<void(uint64_t)>& progress = {}) const;

  // The cheap half of Verify, for `ferry fsck` (which re-hashes every object
  // itself): every version's manifest reads back and every chunk and profile it
  // names exists. Problems as in Verify.
  absl::StatusOr<VerifyReport> CheckReferences() const;

  // Removes every stored object no dataset version references, and temporary files
  // of dead writers. Takes the store lock exclusively (waits for running adds; fails
  // with Unavailable after a while).
  absl::StatusOr<GcReport> CollectGarbage();

 private:
  explicit DatasetStore(store::Workspace& workspace) : workspace_(workspace) {}
  // Every version of every dataset, by dataset and version.
  absl::StatusOr<std::vector<VersionRecord>> AllVersions() const;

  store::Workspace& workspace_;
};

}  // namespace ferry::dataset
