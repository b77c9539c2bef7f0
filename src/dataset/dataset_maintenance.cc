// DatasetStore: export, diff, verify and garbage collection.

#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "store/chunked_file_reader.h"
#include "store/digest_set.h"
#include "store/garbage_collection.h"
#include "store/manifest.h"
#include "store/store_lock.h"

namespace ferry::dataset {
namespace {

constexpr size_t kMaxProfileBytes = 256 << 20;
constexpr std::chrono::seconds kGcLockTimeout{30};

absl::StatusOr<core::Digest> ParseStoredDigest(const std::string& hex, std::string_view what) {
  absl::StatusOr<core::Digest> digest = core::Digest::FromHex(hex);
  if (!digest.ok()) {
    return absl::DataLossError(core::Cat("metadata names a malformed ", what, " digest \"", hex,
                                         "\""));
  }
  return digest;
}

// Counts bytes and discards them: verification without output.
class CountingSink final : public store::ByteSink {
 public:
  explicit CountingSink(const std::function<void(uint64_t)>& progress, uint64_t base)
      : progress_(progress), base_(base) {}
  absl::Status Write(std::string_view data) override {
    bytes_ += data.size();
    if (progress_) progress_(base_ + bytes_);
    return absl::OkStatus();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  const std::function<void(uint64_t)>& progress_;
  uint64_t base_;
  uint64_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<table::TableProfile> DatasetStore::Profile(const VersionRecord& version) const {
  if (!version.profile) {
    return absl::NotFoundError(
        core::Cat(version.Ref(), " is stored as opaque bytes: it has no schema or statistics"));
  }
  ASSIGN_OR_RETURN(core::Digest digest, ParseStoredDigest(*version.profile, "profile"));
  ASSIGN_OR_RETURN(std::string json, workspace_.objects().GetBytes(digest, kMaxProfileBytes));
  absl::StatusOr<table::TableProfile> profile = table::TableProfile::FromJson(json);
  if (!profile.ok()) {
    return absl::DataLossError(core::Cat("profile of ", version.Ref(), " is unreadable: ",
                                         core::View(profile.status().message())));
  }
  return profile;
}

absl::StatusOr<VersionRecord> DatasetStore::Export(const DatasetRef& ref,
                                                   const std::filesystem::path& destination) const {
  ASSIGN_OR_RETURN(VersionRecord version, Resolve(ref));
  ASSIGN_OR_RETURN(core::Digest manifest, ParseStoredDigest(version.manifest, "manifest"));
  RETURN_IF_ERROR(store::ExportChunkedFile(workspace_.objects(), manifest, destination));
  return version;
}

absl::Status DatasetStore::ReadBatches(
    const VersionRecord& version, const std::vector<std::string>& columns, size_t batch_rows,
    const std::function<absl::Status(table::RecordBatch)>& sink) const {
  if (version.format == table::Format::kOpaque) {
    return absl::FailedPreconditionError(
        core::Cat(version.Ref(), " is opaque bytes, not a table"));
  }
  ASSIGN_OR_RETURN(table::TableProfile profile, Profile(version));
  const table::Schema schema = profile.schema();
  std::vector<std::string> projection = columns;
  if (projection.empty()) {
    for (const table::ColumnSchema& column : schema.columns) projection.push_back(column.name);
  }
  for (const std::string& name : projection) {
    if (!schema.Find(name)) {
      return absl::InvalidArgumentError(
          core::Cat(version.Ref(), " has no column \"", name, "\""));
    }
  }
  table::RecordBatchOptions options;
  options.batch_rows = batch_rows;
  // The version was profiled with its bad rows skipped; read it the same way.
  options.lenient = version.bad_rows > 0;
  ASSIGN_OR_RETURN(auto reader, table::RecordBatchReader::Create(version.format, schema,
                                                                  projection, options, sink));
  ASSIGN_OR_RETURN(core::Digest manifest, ParseStoredDigest(version.manifest, "manifest"));
  // Feeds the chunks, verified, straight into the batch reader.
  class ReaderSink final : public store::ByteSink {
   public:
    explicit ReaderSink(table::RecordBatchReader& reader) : reader_(reader) {}
    absl::Status Write(std::string_view data) override { return reader_.Consume(data); }

   private:
    table::RecordBatchReader& reader_;
  } reader_sink(*reader);
  RETURN_IF_ERROR(store::ReadChunkedFile(workspace_.objects(), manifest, reader_sink));
  return reader->Finish();
}

absl::StatusOr<VersionDiff> DatasetStore::Diff(const DatasetRef& before,
                                               const DatasetRef& after) const {
  VersionDiff diff;
  ASSIGN_OR_RETURN(diff.before, Resolve(before));
  ASSIGN_OR_RETURN(diff.after, Resolve(after));
  ASSIGN_OR_RETURN(core::Digest before_digest, ParseStoredDigest(diff.before.manifest, "manifest"));
  ASSIGN_OR_RETURN(core::Digest after_digest, ParseStoredDigest(diff.after.manifest, "manifest"));
  ASSIGN_OR_RETURN(store::Manifest before_manifest,
                   store::GetManifest(workspace_.objects(), before_digest));
  ASSIGN_OR_RETURN(store::Manifest after_manifest,
                   store::GetManifest(workspace_.objects(), after_digest));
  store::DigestSet before_chunks;
  before_chunks.reserve(before_manifest.chunks.size());
  for (const store::ChunkRef& chunk : before_manifest.chunks) before_chunks.insert(chunk.digest);
  for (const store::ChunkRef& chunk : after_manifest.chunks) {
    (before_chunks.contains(chunk.digest) ? diff.shared_bytes : diff.new_bytes) += chunk.size;
  }
  if (diff.before.profile && diff.after.profile) {
    ASSIGN_OR_RETURN(table::TableProfile a, Profile(diff.before));
    ASSIGN_OR_RETURN(table::TableProfile b, Profile(diff.after));
    diff.profile = table::DiffProfiles(a, b);
  }
  return diff;
}

absl::StatusOr<std::vector<VersionRecord>> DatasetStore::AllVersions() const {
  std::vector<VersionRecord> versions;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query(core::Cat("SELECT ", kVersionColumns,
                                                   " FROM dataset_versions"
                                                   " ORDER BY dataset, version")));
    for (const store::Row& row : rows) versions.push_back(VersionFromRow(row));
    return absl::OkStatus();
  }));
  return versions;
}

absl::StatusOr<VerifyReport> DatasetStore::Verify(
    const std::function<void(uint64_t)>& progress) const {
  ASSIGN_OR_RETURN(std::vector<VersionRecord> versions, AllVersions());
  VerifyReport report;
  for (const VersionRecord& version : versions) {
    ++report.versions_checked;
    absl::StatusOr<core::Digest> manifest = ParseStoredDigest(version.manifest, "manifest");
    absl::Status status = manifest.status();
    CountingSink sink(progress, static_cast<uint64_t>(report.bytes_checked));
    if (status.ok()) status = store::ReadChunkedFile(workspace_.objects(), *manifest, sink);
    report.bytes_checked += static_cast<int64_t>(sink.bytes());
    if (status.ok() && version.profile) status = Profile(version).status();
    if (!status.ok()) {
      report.problems.push_back(core::Cat(version.Ref(), ": ", core::View(status.message())));
    }
  }
  return report;
}

absl::StatusOr<VerifyReport> DatasetStore::CheckReferences() const {
  ASSIGN_OR_RETURN(std::vector<VersionRecord> versions, AllVersions());
  VerifyReport report;
  const store::ObjectStore& objects = workspace_.objects();
  for (const VersionRecord& version : versions) {
    ++report.versions_checked;
    auto problem = [&](std::string what) {
      report.problems.push_back(core::Cat(version.Ref(), ": ", what));
    };
    absl::StatusOr<core::Digest> digest = ParseStoredDigest(version.manifest, "manifest");
    absl::StatusOr<store::Manifest> manifest =
        digest.ok() ? store::GetManifest(objects, *digest) : digest.status();
    if (!manifest.ok()) {
      problem(std::string(manifest.status().message()));
      continue;
    }
    for (const store::ChunkRef& chunk : manifest->chunks) {
      absl::StatusOr<bool> exists = objects.Exists(chunk.digest);
      if (!exists.ok() || !*exists) problem(core::Cat("chunk ", chunk.digest.ToHex(), " is missing"));
    }
    if (version.profile) {
      absl::StatusOr<core::Digest> profile = ParseStoredDigest(*version.profile, "profile");
      absl::StatusOr<bool> exists = profile.ok() ? objects.Exists(*profile) : false;
      if (!exists.ok() || !*exists) problem(core::Cat("profile ", *version.profile, " is missing"));
    }
  }
  return report;
}

absl::StatusOr<DatasetStore::VersionLineage> DatasetStore::Lineage(
    const VersionRecord& version) const {
  VersionLineage out;
  const lineage::Node node{std::string(lineage::kind::kDatasetVersion), version.Ref()};
  RETURN_IF_ERROR(workspace_.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(out.inputs, lineage::Inputs(tx, node));
    ASSIGN_OR_RETURN(out.consumers, lineage::Consumers(tx, node));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<GcReport> DatasetStore::CollectGarbage() {
  ASSIGN_OR_RETURN(store::StoreLock lock,
                   store::StoreLock::Acquire(workspace_.ferry_dir() / "store.lock",
                                             store::StoreLock::Mode::kExclusive, kGcLockTimeout));
  // Every object a component references is live: versions' manifests (and their
  // chunks) and profiles, and what other components list in object_roots.
  std::vector<core::Digest> manifests;
  std::vector<core::Digest> profiles;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT DISTINCT manifest FROM dataset_versions"));
    for (const store::Row& row : rows) {
      ASSIGN_OR_RETURN(core::Digest d, ParseStoredDigest(row.Text(0), "manifest"));
      manifests.push_back(d);
    }
    ASSIGN_OR_RETURN(auto profile_rows, tx.Query("SELECT DISTINCT profile FROM dataset_versions"
                                                 " WHERE profile IS NOT NULL"));
    for (const store::Row& row : profile_rows) {
      ASSIGN_OR_RETURN(core::Digest d, ParseStoredDigest(row.Text(0), "profile"));
      profiles.push_back(d);
    }
    ASSIGN_OR_RETURN(auto root_rows, tx.Query("SELECT DISTINCT digest FROM object_roots"));
    for (const store::Row& row : root_rows) {
      ASSIGN_OR_RETURN(core::Digest d, ParseStoredDigest(row.Text(0), "object root"));
      profiles.push_back(d);
    }
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(store::DigestSet live, store::LiveObjectsOf(workspace_.objects(), manifests));
  for (const core::Digest& d : profiles) live.insert(d);
  ASSIGN_OR_RETURN(store::GarbageCollectionResult result,
                   store::CollectGarbage(workspace_.objects(), live));
  GcReport report;
  report.objects_kept = static_cast<int64_t>(result.objects_kept);
  report.objects_removed = static_cast<int64_t>(result.objects_removed);
  report.bytes_removed = static_cast<int64_t>(result.bytes_removed);
  report.temporary_files_removed = static_cast<int64_t>(result.temporary_files_removed);
  return report;
}

}  // namespace ferry::dataset
