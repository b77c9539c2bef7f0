#include "features/feature_table.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/store_lock.h"
#include "table/column_block.h"
#include "table/hash.h"

namespace ferry::features {
namespace {

using core::Cat;
using nlohmann::json;
using table::ColumnArray;
using table::ColumnType;

constexpr int kTableFormatVersion = 2;
constexpr size_t kMaxManifestBytes = size_t{64} << 20;
constexpr size_t kMaxGroupBytes = size_t{4} << 30;
constexpr std::chrono::seconds kLockTimeout{60};

ColumnArray EmptyColumn(std::string name, ColumnType type) {
  ColumnArray c;
  c.name = std::move(name);
  c.type = type;
  if (type == ColumnType::kString) c.offsets.push_back(0);
  return c;
}

// Appends `src` to `dst`, widening int64 values when `dst` is float64.
void AppendColumn(ColumnArray& dst, const ColumnArray& src) {
  dst.valid.insert(dst.valid.end(), src.valid.begin(), src.valid.end());
  switch (dst.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      dst.int64_values.insert(dst.int64_values.end(), src.int64_values.begin(),
                              src.int64_values.end());
      break;
    case ColumnType::kFloat64:
      if (src.type == ColumnType::kInt64) {
        for (int64_t v : src.int64_values) dst.float64_values.push_back(static_cast<double>(v));
      } else {
        dst.float64_values.insert(dst.float64_values.end(), src.float64_values.begin(),
                                  src.float64_values.end());
      }
      break;
    case ColumnType::kBool:
      dst.bool_values.insert(dst.bool_values.end(), src.bool_values.begin(),
                             src.bool_values.end());
      break;
    case ColumnType::kString: {
      const uint64_t base = dst.bytes.size();
      dst.bytes += src.bytes;
      for (size_t i = 1; i < src.offsets.size(); ++i) dst.offsets.push_back(base + src.offsets[i]);
      break;
    }
  }
}

// Appends row `row` of `src` to `dst` (same type).
void AppendValue(ColumnArray& dst, const ColumnArray& src, size_t row) {
  dst.valid.push_back(src.valid[row]);
  switch (dst.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      dst.int64_values.push_back(src.int64_values[row]);
      break;
    case ColumnType::kFloat64:
      dst.float64_values.push_back(src.float64_values[row]);
      break;
    case ColumnType::kBool:
      dst.bool_values.push_back(src.bool_values[row]);
      break;
    case ColumnType::kString:
      dst.bytes += src.StringAt(row);
      dst.offsets.push_back(dst.bytes.size());
      break;
  }
}

struct SortEntry {
  uint64_t hash;
  int64_t ts;
  int64_t created;  // INT64_MIN when null: null sorts first
  uint32_t key;     // id of the distinct key
  uint32_t row;     // source row
};

std::string ManifestJson(const FeatureTableInfo& info, const FeatureTableLayout& layout,
                         const std::vector<std::pair<core::Digest, int64_t>>& groups) {
  json group_list = json::array();
  for (const auto& [digest, rows] : groups) {
    group_list.push_back({{"digest", digest.ToHex()}, {"rows", rows}});
  }
  json features = json::array();
  for (const Feature& f : layout.features) {
    features.push_back({{"name", f.name}, {"type", table::ColumnTypeName(f.type)}});
  }
  return json{{"format_version", kTableFormatVersion},
              {"source", info.source},
              {"layout_sha256", info.layout_hash},
              {"features", features},
              {"rows", info.rows},
              {"dropped_rows", info.dropped_rows},
              {"groups", group_list}}
      .dump();
}

}  // namespace

FeatureTableLayout FeatureTableLayout::Of(const FeatureView& view,
                                          std::vector<JoinKey> join_keys) {
  return {std::move(join_keys), view.timestamp_field, view.created_timestamp_field,
          view.features};
}

std::string FeatureTableLayout::Hash() const {
  json keys = json::array();
  for (const JoinKey& k : join_keys) {
    keys.push_back({{"name", k.name}, {"type", table::ColumnTypeName(k.type)}});
  }
  json feature_list = json::array();
  for (const Feature& f : features) {
    feature_list.push_back({{"name", f.name}, {"type", table::ColumnTypeName(f.type)}});
  }
  const std::string text = json{{"format_version", kTableFormatVersion},
                                {"hash_version", table::kHashVersion},
                                {"join_keys", keys},
                                {"timestamp_field", timestamp_field},
                                {"created_timestamp_field", created_timestamp_field},
                                {"features", feature_list}}
                               .dump();
  return core::Sha256::Of(text).ToHex();
}

bool EncodeKey(const std::vector<const ColumnArray*>& columns, size_t row, std::string& out) {
  for (const ColumnArray* c : columns) {
    if (c->IsNull(row)) return false;
    if (c->type == ColumnType::kString) {
      for (char ch : c->StringAt(row)) {
        out.push_back(ch);
        if (ch == '\0') out.push_back('\xff');
      }
      out.push_back('\0');
      out.push_back('\x01');
    } else {
      const uint64_t bits = static_cast<uint64_t>(c->int64_values[row]) ^ (uint64_t{1} << 63);
      const uint64_t big = __builtin_bswap64(bits);
      out.append(reinterpret_cast<const char*>(&big), sizeof(big));
    }
  }
  return true;
}

uint64_t HashKey(std::string_view encoded) {
  return table::HashBytes(encoded.data(), encoded.size());
}

absl::StatusOr<FeatureTableInfo> FeatureTables::Ensure(const dataset::VersionRecord& version,
                                                       const FeatureTableLayout& layout) const {
  ASSIGN_OR_RETURN(std::optional<FeatureTableInfo> found, Find(version, layout.Hash()));
  if (found) return *found;
  return Build(version, layout);
}

absl::StatusOr<std::optional<FeatureTableInfo>> FeatureTables::Find(
    const dataset::VersionRecord& version, const std::string& layout_hash) const {
  std::optional<FeatureTableInfo> info;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT manifest, row_count, dropped_rows,"
                                                " group_count FROM feature_tables WHERE"
                                                " source_manifest = ? AND layout_sha256 = ?",
                                                {version.manifest, layout_hash}));
    if (!row) return absl::OkStatus();
    absl::StatusOr<core::Digest> manifest = core::Digest::FromHex(row->Text(0));
    if (!manifest.ok()) return absl::DataLossError("feature_tables: damaged manifest digest");
    info = FeatureTableInfo{version.Ref(), layout_hash, *manifest, row->Int(1),
                            row->Int(2),   row->Int(3), false};
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<FeatureTableInfo> FeatureTables::Build(const dataset::VersionRecord& version,
                                                      const FeatureTableLayout& layout) const {
  // Read the columns the layout needs, whole: the sort needs every row at once.
  std::vector<std::string> names;
  for (const JoinKey& k : layout.join_keys) names.push_back(k.name);
  names.push_back(layout.timestamp_field);
  if (!layout.created_timestamp_field.empty()) names.push_back(layout.created_timestamp_field);
  for (const Feature& f : layout.features) names.push_back(f.name);

  std::vector<ColumnArray> all;
  RETURN_IF_ERROR(datasets_.ReadBatches(
      version, names, 65'536, [&](table::RecordBatch batch) -> absl::Status {
        if (all.empty()) {
          for (size_t i = 0; i < batch.columns.size(); ++i) {
            const size_t feature = i - (names.size() - layout.features.size());
            const bool is_feature = i >= names.size() - layout.features.size();
            all.push_back(EmptyColumn(
                names[i], is_feature ? layout.features[feature].type : batch.columns[i].type));
          }
        }
        for (size_t i = 0; i < batch.columns.size(); ++i) AppendColumn(all[i], batch.columns[i]);
        return absl::OkStatus();
      }));
  const size_t key_count = layout.join_keys.size();
  const bool has_created = !layout.created_timestamp_field.empty();
  const size_t first_feature = key_count + 1 + (has_created ? 1 : 0);
  const size_t total_rows = all.empty() ? 0 : all[0].size();
  if (total_rows > UINT32_MAX) {
    return absl::ResourceExhaustedError(Cat(version.Ref(), " has more than 2^32 rows"));
  }

  // Keys are interned (an id per distinct key) so that sorting compares ids, not bytes
  // scattered in memory; bytes decide only between distinct keys sharing a hash.
  std::vector<const ColumnArray*> key_columns;
  for (size_t i = 0; i < key_count; ++i) key_columns.push_back(&all[i]);
  std::string key_bytes;
  std::vector<uint64_t> key_offsets = {0};
  absl::flat_hash_map<std::string, uint32_t> ids;
  absl::flat_hash_map<uint64_t, uint32_t> id_by_hash;
  bool collisions = false;
  std::vector<SortEntry> order;
  order.reserve(total_rows);
  const ColumnArray* ts = total_rows ? &all[key_count] : nullptr;
  const ColumnArray* created = has_created && total_rows ? &all[key_count + 1] : nullptr;
  std::string scratch;
  for (size_t row = 0; row < total_rows; ++row) {
    scratch.clear();
    if (ts->IsNull(row) || !EncodeKey(key_columns, row, scratch)) continue;
    const uint64_t hash = HashKey(scratch);
    auto [it, inserted] = ids.try_emplace(scratch, static_cast<uint32_t>(ids.size()));
    if (inserted) {
      key_bytes += scratch;
      key_offsets.push_back(key_bytes.size());
      auto [by_hash, fresh] = id_by_hash.try_emplace(hash, it->second);
      if (!fresh && by_hash->second != it->second) collisions = true;
    }
    const int64_t created_ts =
        created && !created->IsNull(row) ? created->int64_values[row] : INT64_MIN;
    order.push_back({hash, ts->int64_values[row], created_ts, it->second,
                     static_cast<uint32_t>(row)});
  }
  ids.clear();
  id_by_hash.clear();
  const auto key_of = [&](uint32_t id) {
    return std::string_view(key_bytes).substr(key_offsets[id], key_offsets[id + 1] - key_offsets[id]);
  };
  std::sort(order.begin(), order.end(), [&](const SortEntry& a, const SortEntry& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    if (a.key != b.key && collisions) return key_of(a.key) < key_of(b.key);
    if (a.ts != b.ts) return a.ts < b.ts;
    if (a.created != b.created) return a.created < b.created;
    return a.row < b.row;
  });

  FeatureTableInfo info;
  info.source = version.Ref();
  info.layout_hash = layout.Hash();
  info.rows = static_cast<int64_t>(order.size());
  info.dropped_rows = static_cast<int64_t>(total_rows - order.size());
  info.built = true;

  // Objects are written under the shared store lock and listed in object_roots before
  // it is released, so a concurrent gc cannot take them.
  ASSIGN_OR_RETURN(store::StoreLock lock,
                   store::StoreLock::Acquire(workspace_.ferry_dir() / "store.lock",
                                             store::StoreLock::Mode::kShared, kLockTimeout));
  std::vector<std::pair<core::Digest, int64_t>> groups;
  for (size_t start = 0; start < order.size(); start += group_rows_) {
    const size_t end = std::min(order.size(), start + group_rows_);
    std::vector<ColumnArray> block;
    block.push_back(EmptyColumn("__key_hash", ColumnType::kInt64));
    block.push_back(EmptyColumn("__key", ColumnType::kString));
    block.push_back(EmptyColumn("__ts", ColumnType::kTimestamp));
    block.push_back(EmptyColumn("__created", ColumnType::kTimestamp));
    block.push_back(EmptyColumn("__key_start", ColumnType::kBool));
    for (const Feature& f : layout.features) block.push_back(EmptyColumn(f.name, f.type));
    for (size_t i = start; i < end; ++i) {
      const SortEntry& e = order[i];
      const uint32_t row = e.row;
      block[kKeyHashColumn].valid.push_back(1);
      block[kKeyHashColumn].int64_values.push_back(static_cast<int64_t>(e.hash));
      block[kKeyColumn].valid.push_back(1);
      block[kKeyColumn].bytes += key_of(e.key);
      block[kKeyColumn].offsets.push_back(block[kKeyColumn].bytes.size());
      block[kTimeColumn].valid.push_back(1);
      block[kTimeColumn].int64_values.push_back(e.ts);
      block[kCreatedColumn].valid.push_back(e.created != INT64_MIN);
      block[kCreatedColumn].int64_values.push_back(e.created == INT64_MIN ? 0 : e.created);
      block[kKeyStartColumn].valid.push_back(1);
      block[kKeyStartColumn].bool_values.push_back(i == 0 || order[i - 1].key != e.key);
      for (size_t f = 0; f < layout.features.size(); ++f) {
        AppendValue(block[kFirstFeatureColumn + f], all[first_feature + f], row);
      }
    }
    ASSIGN_OR_RETURN(std::string bytes, table::EncodeColumnBlock(block));
    ASSIGN_OR_RETURN(store::PutResult put, workspace_.objects().PutBytes(bytes));
    groups.emplace_back(put.digest, static_cast<int64_t>(end - start));
  }
  info.group_count = static_cast<int64_t>(groups.size());
  ASSIGN_OR_RETURN(store::PutResult manifest,
                   workspace_.objects().PutBytes(ManifestJson(info, layout, groups)));
  info.manifest = manifest.digest;

  const int64_t now = workspace_.clock().NowMicros();
  const std::string owner = Cat("feature_table:", version.manifest, ":", info.layout_hash);
  RETURN_IF_ERROR(workspace_.metadata().Write([&](store::Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO feature_tables (source_manifest, layout_sha256,"
                               " source, manifest, row_count, dropped_rows, group_count,"
                               " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT"
                               " DO NOTHING",
                               {version.manifest, info.layout_hash, info.source,
                                info.manifest.ToHex(), info.rows, info.dropped_rows,
                                info.group_count, now})
                        .status());
    std::vector<core::Digest> digests = {info.manifest};
    for (const auto& group : groups) digests.push_back(group.first);
    for (const core::Digest& d : digests) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO object_roots (owner, digest) VALUES (?, ?)"
                                 " ON CONFLICT DO NOTHING",
                                 {owner, d.ToHex()})
                          .status());
    }
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<FeatureTableReader> FeatureTableReader::Open(const store::ObjectStore& objects,
                                                            const core::Digest& manifest) {
  ASSIGN_OR_RETURN(std::string text, objects.GetBytes(manifest, kMaxManifestBytes));
  std::vector<core::Digest> groups;
  int64_t rows = 0;
  try {
    const json j = json::parse(text);
    if (j.at("format_version").get<int>() != kTableFormatVersion) {
      return absl::DataLossError("feature table: unknown format version");
    }
    rows = j.at("rows").get<int64_t>();
    for (const json& g : j.at("groups")) {
      absl::StatusOr<core::Digest> d = core::Digest::FromHex(g.at("digest").get<std::string>());
      if (!d.ok()) return absl::DataLossError("feature table: bad group digest");
      groups.push_back(*d);
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(Cat("feature table manifest is damaged: ", e.what()));
  }
  return FeatureTableReader(objects, std::move(groups), rows);
}

absl::StatusOr<std::optional<std::vector<ColumnArray>>> FeatureTableReader::Next() {
  if (next_ == groups_.size()) return std::nullopt;
  ASSIGN_OR_RETURN(std::string bytes, objects_->GetBytes(groups_[next_++], kMaxGroupBytes));
  ASSIGN_OR_RETURN(std::vector<ColumnArray> columns, table::DecodeColumnBlock(bytes));
  if (columns.size() < kFirstFeatureColumn) {
    return absl::DataLossError("feature table row group lacks its key columns");
  }
  return columns;
}

}  // namespace ferry::features
