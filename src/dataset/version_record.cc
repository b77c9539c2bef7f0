#include "dataset/version_record.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/strings.h"

namespace ferry::dataset {
namespace {

constexpr store::Migration kMigrations[] = {
    {1, "create datasets, versions, tags and file states",
     "CREATE TABLE datasets ("
     " name TEXT PRIMARY KEY,"
     " created_at BIGINT NOT NULL);"
     "CREATE TABLE dataset_versions ("
     " dataset TEXT NOT NULL REFERENCES datasets (name),"
     " version BIGINT NOT NULL,"
     " content_sha256 TEXT NOT NULL,"
     " manifest TEXT NOT NULL,"
     " size BIGINT NOT NULL,"
     " chunks BIGINT NOT NULL,"
     " new_bytes BIGINT NOT NULL,"
     " format TEXT NOT NULL,"
     " row_count BIGINT,"
     " bad_rows BIGINT NOT NULL,"
     " profile TEXT,"
     " schema_json TEXT NOT NULL,"
     " message TEXT NOT NULL,"
     " parent BIGINT,"
     " source TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (dataset, version));"
     "CREATE INDEX dataset_versions_by_content ON dataset_versions (content_sha256);"
     "CREATE TABLE dataset_tags ("
     " dataset TEXT NOT NULL,"
     " tag TEXT NOT NULL,"
     " version BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (dataset, tag),"
     " FOREIGN KEY (dataset, version) REFERENCES dataset_versions (dataset, version));"
     "CREATE TABLE file_states ("
     " path TEXT PRIMARY KEY,"
     " device BIGINT NOT NULL,"
     " inode BIGINT NOT NULL,"
     " size BIGINT NOT NULL,"
     " mtime_ns BIGINT NOT NULL,"
     " ctime_ns BIGINT NOT NULL,"
     " content_sha256 TEXT NOT NULL,"
     " manifest TEXT NOT NULL,"
     " chunks BIGINT NOT NULL,"
     " format TEXT NOT NULL,"
     " row_count BIGINT,"
     " bad_rows BIGINT NOT NULL,"
     " profile TEXT,"
     " schema_json TEXT NOT NULL,"
     " recorded_at BIGINT NOT NULL);"},
};

}  // namespace

std::string VersionRecord::Ref() const { return core::Cat(dataset, "@", version); }

std::span<const store::Migration> DatasetMigrations() { return kMigrations; }

const char kVersionColumns[] =
    "dataset, version, content_sha256, manifest, size, chunks, new_bytes, format, row_count,"
    " bad_rows, profile, schema_json, message, parent, source, created_at";

VersionRecord VersionFromRow(const store::Row& row) {
  VersionRecord v;
  v.dataset = row.Text(0);
  v.version = row.Int(1);
  v.content_sha256 = row.Text(2);
  v.manifest = row.Text(3);
  v.size = row.Int(4);
  v.chunks = row.Int(5);
  v.new_bytes = row.Int(6);
  v.format = table::ParseFormatName(row.Text(7)).value_or(table::Format::kOpaque);
  v.rows = row.OptionalInt(8);
  v.bad_rows = row.Int(9);
  v.profile = row.OptionalText(10);
  v.schema_json = row.Text(11);
  v.message = row.Text(12);
  v.parent = row.OptionalInt(13);
  v.source = row.Text(14);
  v.created_at = row.Int(15);
  return v;
}

nlohmann::json VersionToJson(const VersionRecord& v) {
  nlohmann::json schema = nlohmann::json::parse(v.schema_json, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) schema = nlohmann::json::array();
  return nlohmann::json{
      {"dataset", v.dataset},
      {"version", v.version},
      {"ref", v.Ref()},
      {"content_sha256", v.content_sha256},
      {"manifest", v.manifest},
      {"size", v.size},
      {"chunks", v.chunks},
      {"new_bytes", v.new_bytes},
      {"format", table::FormatName(v.format)},
      {"rows", v.rows ? nlohmann::json(*v.rows) : nlohmann::json(nullptr)},
      {"bad_rows", v.bad_rows},
      {"profile", v.profile ? nlohmann::json(*v.profile) : nlohmann::json(nullptr)},
      {"schema", schema},
      {"message", v.message},
      {"parent", v.parent ? nlohmann::json(*v.parent) : nlohmann::json(nullptr)},
      {"source", v.source},
      {"created_at", core::FormatTimestamp(v.created_at)},
      {"tags", v.tags},
  };
}

}  // namespace ferry::dataset
