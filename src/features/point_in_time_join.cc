#include "features/point_in_time_join.h"

#include <algorithm>
#include <memory>

#include "core/status.h"

namespace ferry::features {
namespace {

using table::ColumnArray;
using table::ColumnType;

using Group = std::shared_ptr<const std::vector<ColumnArray>>;

// Orders (hash, key) pairs as the feature table does.
int CompareKeys(uint64_t a_hash, std::string_view a_key, uint64_t b_hash, std::string_view b_key) {
  if (a_hash != b_hash) return a_hash < b_hash ? -1 : 1;
  const int c = a_key.compare(b_key);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

void PrepareOutput(JoinedColumn& column, size_t rows) {
  column.valid.assign(rows, 0);
  switch (column.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      column.int64_values.assign(rows, 0);
      break;
    case ColumnType::kFloat64:
      column.float64_values.assign(rows, 0);
      break;
    case ColumnType::kBool:
      column.bool_values.assign(rows, 0);
      break;
    case ColumnType::kString:
      column.string_offsets.assign(rows, 0);
      column.string_sizes.assign(rows, 0);
      break;
  }
}

void CopyValue(const ColumnArray& from, size_t row, JoinedColumn& to, size_t entity) {
  if (from.IsNull(row)) return;
  to.valid[entity] = 1;
  switch (to.type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      to.int64_values[entity] = from.int64_values[row];
      break;
    case ColumnType::kFloat64:
      to.float64_values[entity] = from.float64_values[row];
      break;
    case ColumnType::kBool:
      to.bool_values[entity] = from.bool_values[row];
      break;
    case ColumnType::kString: {
      const std::string_view value = from.StringAt(row);
      to.string_offsets[entity] = to.string_bytes.size();
      to.string_sizes[entity] = static_cast<uint32_t>(value.size());
      to.string_bytes += value;
      break;
    }
  }
}

}  // namespace

void EntityKeysBuilder::Add(const std::vector<const ColumnArray*>& keys, const ColumnArray& time) {
  for (size_t row = 0; row < time.size(); ++row) {
    const auto index = static_cast<uint32_t>(keys_.times.size());
    const size_t before = keys_.key_bytes.size();
    uint64_t hash = 0;
    if (EncodeKey(keys, row, keys_.key_bytes)) {
      hash = HashKey(std::string_view(keys_.key_bytes).substr(before));
      keys_.order.push_back(index);
    } else {
      keys_.key_bytes.resize(before);
    }
    keys_.hashes.push_back(hash);
    keys_.times.push_back(time.int64_values[row]);
    keys_.key_offsets.push_back(keys_.key_bytes.size());
  }
}

EntityKeys EntityKeysBuilder::Finish() && {
  EntityKeys& k = keys_;
  std::sort(k.order.begin(), k.order.end(), [&k](uint32_t a, uint32_t b) {
    if (k.hashes[a] != k.hashes[b]) return k.hashes[a] < k.hashes[b];
    const int c = k.Key(a).compare(k.Key(b));
    if (c != 0) return c < 0;
    if (k.times[a] != k.times[b]) return k.times[a] < k.times[b];
    return a < b;
  });
  return std::move(keys_);
}

absl::StatusOr<JoinStats> JoinView(const EntityKeys& entities, FeatureTableReader& reader,
                                   int64_t ttl_seconds, std::span<const size_t> feature_columns,
                                   std::vector<JoinedColumn>& out) {
  for (JoinedColumn& column : out) PrepareOutput(column, entities.rows());
  JoinStats stats;
  const int64_t ttl_micros = ttl_seconds * 1'000'000;

  Group group;  // the row group the merge is in
  size_t row = 0;
  size_t group_rows = 0;
  bool exhausted = false;
  Group winner_group;  // the last feature row of the current key at or before its time
  size_t winner_row = 0;
  bool have_winner = false;
  uint64_t previous_hash = 0;
  std::string_view previous_key;
  bool first = true;

  for (const uint32_t entity : entities.order) {
    const uint64_t hash = entities.hashes[entity];
    const std::string_view key = entities.Key(entity);
    const int64_t time = entities.times[entity];
    if (first || hash != previous_hash || key != previous_key) have_winner = false;
    first = false;
    previous_hash = hash;
    previous_key = key;
    // Advance over feature rows before (key, time]; the last of them with this key wins.
    while (!exhausted) {
      if (row == group_rows) {
        ASSIGN_OR_RETURN(std::optional<std::vector<ColumnArray>> next, reader.Next());
        if (!next) {
          exhausted = true;
          break;
        }
        group = std::make_shared<const std::vector<ColumnArray>>(std::move(*next));
        row = 0;
        group_rows = (*group)[kKeyColumn].size();
        continue;
      }
      const std::vector<ColumnArray>& g = *group;
      const auto f_hash = static_cast<uint64_t>(g[kKeyHashColumn].int64_values[row]);
      const int c = CompareKeys(f_hash, g[kKeyColumn].StringAt(row), hash, key);
      if (c > 0 || (c == 0 && g[kTimeColumn].int64_values[row] > time)) break;
      if (c == 0) {
        winner_group = group;
        winner_row = row;
        have_winner = true;
      }
      ++row;
      ++stats.feature_rows;
    }
    if (!have_winner) continue;
    const std::vector<ColumnArray>& w = *winner_group;
    if (ttl_micros > 0 && w[kTimeColumn].int64_values[winner_row] < time - ttl_micros) {
      ++stats.expired;
      continue;
    }
    ++stats.matched;
    for (size_t i = 0; i < feature_columns.size(); ++i) {
      CopyValue(w[feature_columns[i]], winner_row, out[i], entity);
    }
  }
  return stats;
}

}  // namespace ferry::features
