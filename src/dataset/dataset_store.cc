// DatasetStore: opening, reading and tagging versions. Adding lives in
// dataset_add.cc; export, diff, verify and gc in their own files.

#include "dataset/dataset_store.h"

#include "core/status.h"
#include "core/strings.h"
#include "store/migrations.h"

namespace ferry::dataset {
namespace {

using store::Row;
using store::Transaction;

absl::Status UnknownDataset(std::string_view name) {
  return absl::NotFoundError(core::Cat("no dataset named \"", name, "\""));
}

absl::StatusOr<std::vector<std::string>> TagsOf(Transaction& tx, std::string_view dataset,
                                                int64_t version) {
  ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT tag FROM dataset_tags WHERE dataset = ? AND"
                                       " version = ? ORDER BY tag",
                                       {dataset, version}));
  std::vector<std::string> tags;
  for (const Row& row : rows) tags.push_back(row.Text(0));
  return tags;
}

absl::StatusOr<VersionRecord> ResolveIn(Transaction& tx, const DatasetRef& ref) {
  ASSIGN_OR_RETURN(auto exists,
                   tx.QueryOptional("SELECT 1 FROM datasets WHERE name = ?", {ref.name}));
  if (!exists) return UnknownDataset(ref.name);
  std::optional<Row> row;
  const std::string select =
      core::Cat("SELECT ", kVersionColumns, " FROM dataset_versions WHERE dataset = ?");
  if (ref.version) {
    ASSIGN_OR_RETURN(row, tx.QueryOptional(core::Cat(select, " AND version = ?"),
                                           {ref.name, *ref.version}));
    if (!row) {
      return absl::NotFoundError(
          core::Cat("dataset \"", ref.name, "\" has no version ", *ref.version));
    }
  } else if (ref.tag) {
    ASSIGN_OR_RETURN(row, tx.QueryOptional(
                              core::Cat(select,
                                        " AND version = (SELECT version FROM dataset_tags"
                                        " WHERE dataset = ? AND tag = ?)"),
                              {ref.name, ref.name, *ref.tag}));
    if (!row) {
      return absl::NotFoundError(
          core::Cat("dataset \"", ref.name, "\" has no tag \"", *ref.tag, "\""));
    }
  } else {
    ASSIGN_OR_RETURN(row, tx.QueryOptional(core::Cat(select, " ORDER BY version DESC LIMIT 1"),
                                           {ref.name}));
    if (!row) return absl::NotFoundError(core::Cat("dataset \"", ref.name, "\" has no versions"));
  }
  VersionRecord version = VersionFromRow(*row);
  ASSIGN_OR_RETURN(version.tags, TagsOf(tx, version.dataset, version.version));
  return version;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DatasetStore>> DatasetStore::Open(store::Workspace& workspace) {
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), "dataset", DatasetMigrations(),
                                         workspace.clock().NowMicros())
                      .status());
  RETURN_IF_ERROR(lineage::Migrate(workspace.metadata(), workspace.clock().NowMicros()));
  return std::unique_ptr<DatasetStore>(new DatasetStore(workspace));
}

absl::StatusOr<std::vector<DatasetSummary>> DatasetStore::List() const {
  std::vector<DatasetSummary> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    // One query: each dataset's latest version and its version count.
    ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(core::Cat("SELECT ", kVersionColumns,
                           ", (SELECT COUNT(*) FROM dataset_versions c WHERE c.dataset ="
                           " v.dataset) FROM dataset_versions v WHERE version = (SELECT"
                           " MAX(version) FROM dataset_versions m WHERE m.dataset = v.dataset)"
                           " ORDER BY dataset")));
    for (const Row& row : rows) {
      DatasetSummary summary;
      summary.latest = VersionFromRow(row);
      summary.name = summary.latest.dataset;
      summary.versions = row.Int(16);
      out.push_back(std::move(summary));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<VersionRecord>> DatasetStore::Log(std::string_view name) const {
  RETURN_IF_ERROR(ValidateDatasetName(name));
  std::vector<VersionRecord> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto exists, tx.QueryOptional("SELECT 1 FROM datasets WHERE name = ?", {name}));
    if (!exists) return UnknownDataset(name);
    ASSIGN_OR_RETURN(auto rows, tx.Query(core::Cat("SELECT ", kVersionColumns,
                                                   " FROM dataset_versions WHERE dataset = ?"
                                                   " ORDER BY version DESC"),
                                         {name}));
    ASSIGN_OR_RETURN(auto tags, tx.Query("SELECT version, tag FROM dataset_tags WHERE"
                                         " dataset = ? ORDER BY tag",
                                         {name}));
    // Versions are numbered 1..n without gaps and listed newest first, so version v
    // sits at index n - v.
    for (const Row& row : rows) out.push_back(VersionFromRow(row));
    const int64_t newest = out.empty() ? 0 : out.front().version;
    for (const Row& tag : tags) {
      const int64_t index = newest - tag.Int(0);
      if (index >= 0 && index < static_cast<int64_t>(out.size())) {
        out[static_cast<size_t>(index)].tags.push_back(tag.Text(1));
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<VersionRecord> DatasetStore::Resolve(const DatasetRef& ref) const {
  VersionRecord out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(out, ResolveIn(tx, ref));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<VersionRecord> DatasetStore::Tag(const DatasetRef& ref, std::string_view tag,
                                                bool move) {
  RETURN_IF_ERROR(ValidateTagName(tag));
  VersionRecord out;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(out, ResolveIn(tx, ref));
    ASSIGN_OR_RETURN(auto existing,
                     tx.QueryOptional("SELECT version FROM dataset_tags WHERE dataset = ? AND"
                                      " tag = ?",
                                      {out.dataset, tag}));
    if (existing && existing->Int(0) == out.version) return absl::OkStatus();
    if (existing && !move) {
      return absl::AlreadyExistsError(core::Cat("tag \"", tag, "\" already names ", out.dataset,
                                                "@", existing->Int(0),
                                                "; use --move to point it elsewhere"));
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM dataset_tags WHERE dataset = ? AND tag = ?",
                               {out.dataset, tag})
                        .status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO dataset_tags (dataset, tag, version, created_at)"
                               " VALUES (?, ?, ?, ?)",
                               {out.dataset, tag, out.version, workspace_.clock().NowMicros()})
                        .status());
    ASSIGN_OR_RETURN(out.tags, TagsOf(tx, out.dataset, out.version));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace ferry::dataset
