#include "features/point_in_time_join.h"

#include <algorithm>
#include <memory>
#include <tuple>

#include "core/status.h"
#include "features/hash_sort.h"

namespace ferry::features {
namespace {

using table::ColumnArray;
using table::ColumnType;

using Group = std::shared_ptr<const RowGroup>;

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
    keys_.order.push_back({hash, time.int64_values[row], interner_.Intern(scratch_, hash), index});
  }
}

EntityKeys EntityKeysBuilder::Finish() && {
  // Without collisions an equal hash means an equal key, so bytes never need reading.
  const bool collisions = interner_.collisions();
  std::tie(keys_.key_bytes, keys_.key_offsets) = std::move(interner_).Release();
  const EntityKeys& k = keys_;
  SortByHash(keys_.order, [&k, collisions](const EntityKeys::Entry& a, const EntityKeys::Entry& b) {
    if (a.key != b.key && collisions) return k.Key(a.key) < k.Key(b.key);
    if (a.time != b.time) return a.time < b.time;
    return a.row < b.row;
  });
  return std::move(keys_);
}

absl::StatusOr<JoinStats> JoinView(const EntityKeys& entities, FeatureTableReader& reader,
                                   int64_t ttl_seconds, std::span<const size_t> feature_columns,
                                   std::vector<JoinedColumn>& out) {
  for (JoinedColumn& column : out) PrepareOutput(column, entities.rows);
  JoinStats stats;
  const int64_t ttl_micros = ttl_seconds * 1'000'000;

  Group group;      // the row group the merge is in
  size_t run = 0;   // the run the merge is in
  size_t row = 0;   // the next row of that run to look at
  bool exhausted = false;
  Group winner_group;  // the last feature row of the entity's key at or before its time
  size_t winner_row = 0;
  bool have_winner = false;
  uint32_t previous_key = UINT32_MAX;
  // The current run's key against the entity's: hashes first, bytes once per run.
  int run_order = 0;
  bool run_order_known = false;

  for (const EntityKeys::Entry& entity : entities.order) {
    if (entity.key != previous_key) {
      have_winner = false;
      run_order_known = false;
      previous_key = entity.key;
    }
    while (!exhausted) {
      if (!group || run == group->runs()) {
        ASSIGN_OR_RETURN(std::optional<RowGroup> next, reader.Next());
        if (!next) {
          exhausted = true;
          break;
        }
        group = std::make_shared<const RowGroup>(std::move(*next));
        run = 0;
        row = 0;
        run_order_known = false;
        continue;
      }
      const RowGroup& g = *group;
      if (!run_order_known) {
        const auto f_hash = static_cast<uint64_t>(g.run_hashes[run]);
        if (f_hash != entity.hash) {
          run_order = f_hash < entity.hash ? -1 : 1;
        } else {
          const int c = g.run_keys.StringAt(run).compare(entities.Key(entity.key));
          run_order = c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        run_order_known = true;
      }
      if (run_order > 0) break;
      const size_t end = g.run_starts[run + 1];
      if (run_order < 0) {  // a key the entities do not have here: skip all its rows
        stats.feature_rows += static_cast<int64_t>(end - row);
      } else {
        // The entity's key: its rows at or before the entity's time; the last one wins.
        while (row < end && g.times[row] <= entity.time) {
          winner_group = group;
          winner_row = row;
          have_winner = true;
          ++row;
          ++stats.feature_rows;
        }
        if (row < end) break;  // the rest of the run is later than this entity row
      }
      ++run;
      row = run < g.runs() ? g.run_starts[run] : g.rows();
      run_order_known = false;
    }
    if (!have_winner) continue;
    const RowGroup& w = *winner_group;
    if (ttl_micros > 0 && w.times[winner_row] < entity.time - ttl_micros) {
      ++stats.expired;
      continue;
    }
    ++stats.matched;
    for (size_t i = 0; i < feature_columns.size(); ++i) {
      CopyValue(w.features[feature_columns[i]], winner_row, out[i], entity.row);
    }
  }
  return stats;
}

}  // namespace ferry::features
