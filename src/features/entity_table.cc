#include "features/entity_table.h"

#include <sys/stat.h>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/byte_streams.h"
#include "table/table_profiler.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;
using core::Cat;

constexpr size_t kReadBytes = size_t{4} << 20;
constexpr size_t kBatchRows = 65'536;

// Feeds the file's bytes to `consume` in blocks.
absl::Status StreamFile(const fs::path& path,
                        const std::function<absl::Status(std::string_view)>& consume) {
  ASSIGN_OR_RETURN(core::UniqueFd fd, store::OpenForSequentialRead(path));
  store::FdSource source(fd.get());
  std::string buffer(kReadBytes, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, store::FillFromSource(source, buffer.data(), buffer.size()));
    if (n == 0) return absl::OkStatus();
    RETURN_IF_ERROR(consume(std::string_view(buffer.data(), n)));
    if (n < buffer.size()) return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<EntityTable> EntityTable::Open(const dataset::DatasetStore& datasets,
                                              const std::string& spec, const std::string& display,
                                              EntitySource source) {
  EntityTable table;
  table.datasets_ = &datasets;
  std::error_code ec;
  const bool file = source == EntitySource::kCsvFile || source == EntitySource::kJsonLinesFile ||
                    (source == EntitySource::kFileOrDataset && fs::is_regular_file(spec, ec));
  if (file) {
    table.file_ = fs::absolute(spec).lexically_normal();
    table.label_ = display.empty() ? spec : display;
    table.format_ = source == EntitySource::kCsvFile ? table::Format::kCsv
                    : source == EntitySource::kJsonLinesFile
                        ? table::Format::kJsonLines
                        : table::DetectFormat(table.file_.filename().string());
    if (table.format_ == table::Format::kOpaque) {
      return absl::InvalidArgumentError(
          Cat("entity table ", table.label_, ": not a CSV or JSON Lines file (by its name)"));
    }
    ASSIGN_OR_RETURN(auto profiler, table::TableProfiler::Create(table.format_, {}));
    core::Sha256 hasher;
    absl::Status read = StreamFile(table.file_, [&](std::string_view bytes) {
      hasher.Update(bytes);
      return profiler->Consume(bytes);
    });
    absl::StatusOr<table::TableProfile> profile =
        read.ok() ? profiler->Finish() : absl::StatusOr<table::TableProfile>(read);
    if (!profile.ok()) {
      return absl::Status(profile.status().code(),
                          Cat("entity table ", table.label_, ": ",
                              core::View(profile.status().message())));
    }
    table.schema_ = profile->schema();
    table.rows_ = profile->row_count;
    table.node_ = {"file", Cat("sha256:", hasher.Finish().ToHex())};
    return table;
  }
  absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(spec);
  if (!ref.ok() && source == EntitySource::kDataset) {
    return absl::InvalidArgumentError(
        Cat("entity table \"", spec, "\": ", core::View(ref.status().message())));
  }
  if (!ref.ok()) {
    return absl::NotFoundError(Cat("entity table \"", spec,
                                   "\" is neither a file nor a dataset reference"));
  }
  absl::StatusOr<dataset::VersionRecord> resolved = datasets.Resolve(*ref);
  if (absl::IsNotFound(resolved.status())) {
    return absl::NotFoundError(
        Cat("entity table \"", display.empty() ? spec : display,
            source == EntitySource::kDataset ? "\": " : "\": no such file, and ",
            core::View(resolved.status().message())));
  }
  ASSIGN_OR_RETURN(dataset::VersionRecord version, std::move(resolved));
  if (!version.profile) {
    return absl::InvalidArgumentError(
        Cat("entity table ", version.Ref(), " is not a table (CSV or JSON Lines)"));
  }
  ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(version));
  table.schema_ = profile.schema();
  table.rows_ = profile.row_count;
  table.label_ = version.Ref();
  table.node_ = {std::string(lineage::kind::kDatasetVersion), version.Ref()};
  table.version_ = std::move(version);
  return table;
}

absl::Status EntityTable::Read(const std::vector<std::string>& columns,
                               const std::function<absl::Status(table::RecordBatch)>& sink) const {
  if (version_) return datasets_->ReadBatches(*version_, columns, kBatchRows, sink);
  table::RecordBatchOptions options;
  options.batch_rows = kBatchRows;
  ASSIGN_OR_RETURN(auto reader,
                   table::RecordBatchReader::Create(format_, schema_, columns, options, sink));
  RETURN_IF_ERROR(
      StreamFile(file_, [&](std::string_view bytes) { return reader->Consume(bytes); }));
  return reader->Finish();
}

}  // namespace ferry::features
