// DatasetStore::Add: file -> chunks + manifest + profile -> one new version.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "dataset/file_state.h"
#include "store/chunked_file_writer.h"
#include "store/store_lock.h"
#include "table/table_profiler.h"

namespace ferry::dataset {
namespace {

namespace fs = std::filesystem;
using store::Row;
using store::Transaction;

constexpr std::chrono::seconds kLockTimeout{60};
constexpr uint64_t kAddSpaceMargin = 8ull << 20;
constexpr int kDatasetCompressionLevel = 1;

std::string SchemaJson(const table::TableProfile& profile) {
  nlohmann::json schema = nlohmann::json::array();
  for (const table::ColumnProfile& column : profile.columns) {
    schema.push_back({{"name", column.name}, {"type", table::ColumnTypeName(column.type)}});
  }
  return schema.dump();
}

// Reads the file through the chunked writer (and the profiler beside it).
absl::StatusOr<FileFacts> StoreFile(store::Workspace& workspace, int fd, uint64_t total,
                                    table::Format format, const AddOptions& options,
                                    const std::string& display_name, AddResult& result) {
  std::unique_ptr<table::TableProfiler> profiler;
  if (format != table::Format::kOpaque) {
    table::ProfilerOptions profiler_options;
    profiler_options.lenient = options.lenient;
    ASSIGN_OR_RETURN(profiler, table::TableProfiler::Create(format, profiler_options));
  }
  store::ChunkedFileOptions chunk_options;
  // zstd level 1 stores CSV at ~1/3 of its size for ~5-10% more CPU than the object
  // store's default (-1, ~1/2): datasets are kept long and read often, so the bytes
  // saved are worth more than that time (bench/RESULTS.md, data_add).
  chunk_options.compression_level = kDatasetCompressionLevel;
  if (profiler) {
    chunk_options.observer = [&profiler](std::string_view bytes) {
      return profiler->Consume(bytes);
    };
  }
  if (options.progress) {
    chunk_options.progress = [&options, total](uint64_t done) { options.progress(done, total); };
  }
  ASSIGN_OR_RETURN(store::ChunkedFileWriter writer,
                   store::ChunkedFileWriter::Create(workspace.objects(), chunk_options));
  absl::StatusOr<store::ChunkedFileResult> written = writer.WriteFd(fd);
  if (!written.ok()) {
    // A profiler error names a line of the file: say which file.
    if (written.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::InvalidArgumentError(
          core::Cat(display_name, ": ", core::View(written.status().message())));
    }
    return written.status();
  }
  FileFacts facts;
  facts.content_sha256 = written->manifest.sha256.ToHex();
  facts.manifest = written->manifest_digest.ToHex();
  facts.size = static_cast<int64_t>(written->manifest.size);
  facts.chunks = static_cast<int64_t>(written->manifest.chunks.size());
  facts.format = format;
  result.new_chunks = static_cast<int64_t>(written->new_chunks);
  result.reused_chunks = static_cast<int64_t>(written->reused_chunks);
  result.new_bytes = static_cast<int64_t>(written->new_bytes);
  result.stored_bytes = static_cast<int64_t>(written->stored_bytes);
  if (profiler) {
    absl::StatusOr<table::TableProfile> profile = profiler->Finish();
    if (!profile.ok()) {
      return absl::Status(profile.status().code(),
                          core::Cat(display_name, ": ", core::View(profile.status().message())));
    }
    ASSIGN_OR_RETURN(store::PutResult put, workspace.objects().PutBytes(profile->ToJson()));
    facts.profile = put.digest.ToHex();
    facts.rows = profile->row_count;
    facts.bad_rows = profile->bad_row_count;
    facts.schema_json = SchemaJson(*profile);
  }
  return facts;
}

}  // namespace

uint64_t SpaceNeededToAdd(uint64_t file_size) {
  return file_size + file_size / 128 + kAddSpaceMargin;
}

absl::StatusOr<AddResult> DatasetStore::Add(std::string_view name, const fs::path& path,
                                            const AddOptions& options) {
  RETURN_IF_ERROR(ValidateDatasetName(name));
  if (options.tag) RETURN_IF_ERROR(ValidateTagName(*options.tag));
  const fs::path absolute = fs::absolute(path).lexically_normal();
  const std::string display_name = options.source_name ? *options.source_name : path.string();
  const std::string source_name =
      options.source_name ? *options.source_name : absolute.filename().string();

  core::UniqueFd fd(::open(absolute.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::ErrnoToStatus(errno, core::Cat("open ", display_name));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return core::ErrnoToStatus(errno, core::Cat("stat ", display_name));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(core::Cat(display_name, " is not a regular file"));
  }
  ASSIGN_OR_RETURN(FileIdentity identity, IdentityOf(fd.get()));
  if (identity.size == 0) {
    return absl::InvalidArgumentError(core::Cat(display_name, " is empty; nothing to add"));
  }
  const table::Format format =
      options.format ? *options.format : table::DetectFormat(source_name);

  // Held shared until the version is committed, so gc cannot remove chunks this add
  // found already present.
  ASSIGN_OR_RETURN(store::StoreLock lock,
                   store::StoreLock::Acquire(workspace_.ferry_dir() / "store.lock",
                                             store::StoreLock::Mode::kShared, kLockTimeout));

  AddResult result;
  std::optional<FileFacts> facts;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    if (options.tag) {
      ASSIGN_OR_RETURN(auto taken,
                       tx.QueryOptional("SELECT version FROM dataset_tags WHERE dataset = ? AND"
                                        " tag = ?",
                                        {name, *options.tag}));
      if (taken) {
        return absl::AlreadyExistsError(core::Cat("tag \"", *options.tag, "\" already names ",
                                                  name, "@", taken->Int(0)));
      }
    }
    // Bytes from elsewhere (an upload's or a training set's temporary file) are read
    // once and their file is then removed: nothing to cache about that path.
    if (!options.source_name) {
      ASSIGN_OR_RETURN(facts, LookupFileState(tx, absolute, identity));
    }
    return absl::OkStatus();
  }));
  // A cached entry answers only the same question: same format, and no bad rows
  // unless they are allowed now.
  if (facts && (facts->format != format || (facts->bad_rows > 0 && !options.lenient))) {
    facts.reset();
  }
  result.from_cache = facts.has_value();
  if (!facts) {
    const std::string adding = core::Cat("adding ", display_name);
    const uint64_t needed = SpaceNeededToAdd(static_cast<uint64_t>(identity.size));
    RETURN_IF_ERROR(
        core::CheckFreeSpace(workspace_.ferry_dir(), needed, adding, options.free_space));
    absl::StatusOr<FileFacts> stored =
        StoreFile(workspace_, fd.get(), identity.size, format, options, display_name, result);
    if (stored.status().code() == absl::StatusCode::kResourceExhausted) {
      // Out of space (or descriptors, or memory) midway: say what was being done.
      return absl::ResourceExhaustedError(
          core::Cat(adding, ": ", core::View(stored.status().message())));
    }
    ASSIGN_OR_RETURN(FileFacts read, std::move(stored));
    ASSIGN_OR_RETURN(FileIdentity after, IdentityOf(fd.get()));
    if (!(after == identity)) {
      return absl::AbortedError(
          core::Cat(display_name, " changed while it was being added; add it again"));
    }
    facts = std::move(read);
  } else {
    result.reused_chunks = facts->chunks;
  }

  const int64_t now = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO datasets (name, created_at) VALUES (?, ?)"
                               " ON CONFLICT (name) DO NOTHING",
                               {name, now})
                        .status());
    ASSIGN_OR_RETURN(auto latest,
                     tx.QueryOptional(core::Cat("SELECT ", kVersionColumns,
                                                " FROM dataset_versions WHERE dataset = ?"
                                                " ORDER BY version DESC LIMIT 1"),
                                      {name}));
    if (latest && latest->Text(2) == facts->content_sha256 && latest->Text(3) == facts->manifest) {
      result.version = VersionFromRow(*latest);
      result.created = false;
    } else {
      VersionRecord& v = result.version;
      v.dataset = std::string(name);
      v.version = latest ? latest->Int(1) + 1 : 1;
      v.content_sha256 = facts->content_sha256;
      v.manifest = facts->manifest;
      v.size = facts->size;
      v.chunks = facts->chunks;
      v.new_bytes = result.new_bytes;
      v.format = facts->format;
      v.rows = facts->rows;
      v.bad_rows = facts->bad_rows;
      v.profile = facts->profile;
      v.schema_json = facts->schema_json;
      v.message = options.message;
      if (latest) v.parent = latest->Int(1);
      v.source = source_name;
      v.created_at = now;
      RETURN_IF_ERROR(tx.Execute(core::Cat("INSERT INTO dataset_versions (", kVersionColumns,
                                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                           " ?, ?)"),
                                 {v.dataset, v.version, v.content_sha256, v.manifest, v.size,
                                  v.chunks, v.new_bytes, table::FormatName(v.format), v.rows,
                                  v.bad_rows, v.profile, v.schema_json, v.message, v.parent,
                                  v.source, v.created_at})
                          .status());
      result.created = true;
    }
    if (options.tag) {
      absl::Status tagged = tx.Execute("INSERT INTO dataset_tags (dataset, tag, version,"
                                       " created_at) VALUES (?, ?, ?, ?)",
                                       {name, *options.tag, result.version.version, now})
                                .status();
      if (tagged.code() == absl::StatusCode::kAlreadyExists) {
        return absl::AlreadyExistsError(
            core::Cat("tag \"", *options.tag, "\" already names a version of ", name));
      }
      RETURN_IF_ERROR(tagged);
    }
    ASSIGN_OR_RETURN(auto tags, tx.Query("SELECT tag FROM dataset_tags WHERE dataset = ? AND"
                                         " version = ? ORDER BY tag",
                                         {name, result.version.version}));
    for (const Row& row : tags) result.version.tags.push_back(row.Text(0));
    if (!options.derived_from.empty()) {
      std::vector<lineage::Edge> edges;
      for (const LineageInput& input : options.derived_from) {
        edges.push_back({input.from,
                         {std::string(lineage::kind::kDatasetVersion), result.version.Ref()},
                         input.relation});
      }
      RETURN_IF_ERROR(lineage::Record(tx, edges, now));
    }
    if (options.source_name) return absl::OkStatus();
    return RecordFileState(tx, absolute, identity, *facts, now);
  }));
  return result;
}

}  // namespace ferry::dataset
