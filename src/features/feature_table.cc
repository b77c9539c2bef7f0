#include "features/feature_table.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "features/hash_sort.h"
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

constexpr int kTableFormatVersion = 3;
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

uint32_t KeyInterner::Add(std::string_view encoded) {
  bytes_ += encoded;
  offsets_.push_back(bytes_.size());
  return static_cast<uint32_t>(offsets_.size() - 2);
}

uint32_t KeyInterner::Intern(std::string_view encoded, uint64_t hash) {
  auto [it, inserted] = by_hash_.try_emplace(hash);
  Slot& slot = it->second;
  if (inserted) {
    slot.id = Add(encoded);
    if (encoded.size() <= Slot::kInline) {
      slot.size = static_cast<uint8_t>(encoded.size());
      std::memcpy(slot.bytes, encoded.data(), encoded.size());
    } else {
      slot.size = 0xff;
    }
    return slot.id;
  }
  const bool same = slot.size == 0xff
                        ? Key(slot.id) == encoded
                        : slot.size == encoded.size() &&
                              std::memcmp(slot.bytes, encoded.data(), encoded.size()) == 0;
  if (same) return slot.id;
  auto [other, fresh] = colliding_.try_emplace(std::string(encoded), 0);
  if (fresh) other->second = Add(encoded);
  return other->second;
}

std::pair<std::string, std::vector<uint64_t>> KeyInterner::Release() && {
  by_hash_.clear();
  colliding_.clear();
  return {std::move(bytes_), std::move(offsets_)};
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
  KeyInterner keys;
  std::vector<SortEntry> order;
  order.reserve(total_rows);
  const ColumnArray* ts = total_rows ? &all[key_count] : nullptr;
  const ColumnArray* created = has_created && total_rows ? &all[key_count + 1] : nullptr;
  std::string scratch;
  for (size_t row = 0; row < total_rows; ++row) {
    scratch.clear();
    if (ts->IsNull(row) || !EncodeKey(key_columns, row, scratch)) continue;
    const uint64_t hash = HashKey(scratch);
    const int64_t created_ts =
        created && !created->IsNull(row) ? created->int64_values[row] : INT64_MIN;
    order.push_back({hash, ts->int64_values[row], created_ts, keys.Intern(scratch, hash),
                     static_cast<uint32_t>(row)});
  }
  const bool collisions = keys.collisions();
  const auto key_of = [&keys](uint32_t id) { return keys.Key(id); };
  SortByHash(order, [&](const SortEntry& a, const SortEntry& b) {
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
    block.push_back(EmptyColumn("__run_hash", ColumnType::kInt64));
    block.push_back(EmptyColumn("__run_key", ColumnType::kString));
    block.push_back(EmptyColumn("__run_rows", ColumnType::kInt64));
    block.push_back(EmptyColumn("__ts", ColumnType::kTimestamp));
    block.push_back(EmptyColumn("__created", ColumnType::kTimestamp));
    for (const Feature& f : layout.features) block.push_back(EmptyColumn(f.name, f.type));
    ColumnArray& run_hash = block[0];
    ColumnArray& run_key = block[1];
    ColumnArray& run_rows = block[2];
    for (size_t i = start; i < end; ++i) {
      const SortEntry& e = order[i];
      if (i == start || order[i - 1].key != e.key) {
        run_hash.valid.push_back(1);
        run_hash.int64_values.push_back(static_cast<int64_t>(e.hash));
        run_key.valid.push_back(1);
        run_key.bytes += key_of(e.key);
        run_key.offsets.push_back(run_key.bytes.size());
        run_rows.valid.push_back(1);
        run_rows.int64_values.push_back(0);
      }
      ++run_rows.int64_values.back();
      block[3].valid.push_back(1);
      block[3].int64_values.push_back(e.ts);
      block[4].valid.push_back(e.created != INT64_MIN);
      block[4].int64_values.push_back(e.created == INT64_MIN ? 0 : e.created);
      for (size_t f = 0; f < layout.features.size(); ++f) {
        AppendValue(block[5 + f], all[first_feature + f], e.row);
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

absl::StatusOr<std::optional<RowGroup>> FeatureTableReader::Next() {
  if (next_ == groups_.size()) return std::nullopt;
  ASSIGN_OR_RETURN(std::string bytes, objects_->GetBytes(groups_[next_++], kMaxGroupBytes));
  ASSIGN_OR_RETURN(std::vector<ColumnArray> columns, table::DecodeColumnBlock(bytes));
  constexpr size_t kFixedColumns = 5;
  if (columns.size() < kFixedColumns || columns[0].type != ColumnType::kInt64 ||
      columns[1].type != ColumnType::kString || columns[2].type != ColumnType::kInt64 ||
      columns[3].type != ColumnType::kTimestamp || columns[4].type != ColumnType::kTimestamp) {
    return absl::DataLossError("feature table row group lacks its key and time columns");
  }
  RowGroup group;
  group.run_hashes = std::move(columns[0].int64_values);
  group.run_keys = std::move(columns[1]);
  group.times = std::move(columns[3].int64_values);
  group.created = std::move(columns[4]);
  const size_t runs = group.run_hashes.size();
  const size_t rows = group.times.size();
  if (group.run_keys.size() != runs || columns[2].size() != runs || group.created.size() != rows) {
    return absl::DataLossError("feature table row group has columns of different lengths");
  }
  group.run_starts.reserve(runs + 1);
  uint64_t start = 0;
  for (int64_t length : columns[2].int64_values) {
    group.run_starts.push_back(static_cast<uint32_t>(start));
    if (length <= 0) return absl::DataLossError("feature table run of no rows");
    start += static_cast<uint64_t>(length);
  }
  if (start != rows) return absl::DataLossError("feature table runs do not cover the rows");
  group.run_starts.push_back(static_cast<uint32_t>(rows));
  for (size_t i = kFixedColumns; i < columns.size(); ++i) {
    if (columns[i].size() != rows) {
      return absl::DataLossError(
          Cat("feature table column \"", columns[i].name, "\" has the wrong length"));
    }
    group.features.push_back(std::move(columns[i]));
  }
  return group;
}

}  // namespace ferry::features
