#include "features/point_in_time_join.h"

#include <algorithm>
#include <memory>

#include "core/status.h"

namespace ferry::features {
namespace {

using table::ColumnArray;
using table::ColumnType;

using Group = std::shared_ptr<const std::vector<ColumnArray>>;

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
    const auto index = static_cast<uint32_t>(keys_.rows++);
    scratch_.clear();
    if (!EncodeKey(keys, row, scratch_)) continue;
    const uint64_t hash = HashKey(scratch_);
    auto [it, inserted] = ids_.try_emplace(scratch_, static_cast<uint32_t>(ids_.size()));
    if (inserted) {
      keys_.key_bytes += scratch_;
      keys_.key_offsets.push_back(keys_.key_bytes.size());
      auto [by_hash, fresh] = id_by_hash_.try_emplace(hash, it->second);
      if (!fresh && by_hash->second != it->second) collisions_ = true;
    }
    keys_.order.push_back({hash, time.int64_values[row], it->second, index});
  }
}

EntityKeys EntityKeysBuilder::Finish() && {
  EntityKeys& k = keys_;
  // Without collisions an equal hash means an equal key, so bytes never need reading.
  const bool collisions = collisions_;
  std::sort(k.order.begin(), k.order.end(),
            [&k, collisions](const EntityKeys::Entry& a, const EntityKeys::Entry& b) {
              if (a.hash != b.hash) return a.hash < b.hash;
              if (a.key != b.key && collisions) return k.Key(a.key) < k.Key(b.key);
              if (a.time != b.time) return a.time < b.time;
              return a.row < b.row;
            });
  ids_.clear();
  id_by_hash_.clear();
  return std::move(keys_);
}

absl::StatusOr<JoinStats> JoinView(const EntityKeys& entities, FeatureTableReader& reader,
                                   int64_t ttl_seconds, std::span<const size_t> feature_columns,
                                   std::vector<JoinedColumn>& out) {
  for (JoinedColumn& column : out) PrepareOutput(column, entities.rows);
  JoinStats stats;
  const int64_t ttl_micros = ttl_seconds * 1'000'000;

  Group group;  // the row group the merge is in
  size_t row = 0;
  size_t group_rows = 0;
  bool exhausted = false;
  Group winner_group;  // the last feature row of the current key at or before its time
  size_t winner_row = 0;
  bool have_winner = false;
  uint32_t previous_key = UINT32_MAX;
  // The feature run's key compared with the entity key, read from bytes once per run
  // (a run is the rows of one key: the table marks where each starts).
  int run_order = 0;
  bool run_order_known = false;

  for (const EntityKeys::Entry& entity : entities.order) {
    if (entity.key != previous_key) {
      have_winner = false;
      run_order_known = false;
      previous_key = entity.key;
    }
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
        run_order_known = false;
        continue;
      }
      const std::vector<ColumnArray>& g = *group;
      const auto f_hash = static_cast<uint64_t>(g[kKeyHashColumn].int64_values[row]);
      int c;
      if (f_hash != entity.hash) {
        c = f_hash < entity.hash ? -1 : 1;
      } else {
        if (g[kKeyStartColumn].bool_values[row]) run_order_known = false;
        if (!run_order_known) {
          const int bytes = g[kKeyColumn].StringAt(row).compare(entities.Key(entity.key));
          run_order = bytes < 0 ? -1 : (bytes > 0 ? 1 : 0);
          run_order_known = true;
        }
        c = run_order;
      }
      if (c > 0 || (c == 0 && g[kTimeColumn].int64_values[row] > entity.time)) break;
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
    if (ttl_micros > 0 && w[kTimeColumn].int64_values[winner_row] < entity.time - ttl_micros) {
      ++stats.expired;
      continue;
    }
    ++stats.matched;
    for (size_t i = 0; i < feature_columns.size(); ++i) {
      CopyValue(w[feature_columns[i]], winner_row, out[i], entity.row);
    }
  }
  return stats;
}

}  // namespace ferry::features
