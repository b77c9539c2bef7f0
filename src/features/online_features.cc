#include "features/online_features.h"

#include <map>

#include "core/status.h"
#include "core/strings.h"
#include "features/feature_table.h"

namespace ferry::features {
namespace {

using core::Cat;
using table::ColumnType;

constexpr int64_t kMicrosPerSecond = 1'000'000;

std::string_view TypeWord(ColumnType type) {
  return type == ColumnType::kInt64 ? "integers" : "strings";
}

// Per-thread buffers for building keys, so steady lookups allocate nothing.
struct KeyScratch {
  std::string bytes;
  std::vector<uint32_t> ends;
  std::vector<std::string_view> keys;
  std::vector<uint32_t> offsets;
};

// Copies one feature's payload (at `offset`, past its presence byte) into `column`.
void CopyValue(std::string_view value, uint32_t offset, size_t row, OnlineColumn& column) {
  const char* p = value.data() + offset + 1;
  switch (column.type) {
    case ColumnType::kBool:
      column.values[row] = *p != 0;
      break;
    case ColumnType::kString: {
      uint32_t size;
      std::memcpy(&size, p, sizeof(size));
      const uint64_t at = column.string_bytes.size();
      column.string_bytes.append(p + 4, size);
      column.values[row] = at << 32 | size;
      break;
    }
    default:
      column.values[row] = LoadU64(p);
      break;
  }
}

}  // namespace

std::string_view FeatureStatusName(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kPresent:
      return "PRESENT";
    case FeatureStatus::kNotFound:
      return "NOT_FOUND";
    case FeatureStatus::kNullValue:
      return "NULL_VALUE";
    case FeatureStatus::kOutsideMaxAge:
      return "OUTSIDE_MAX_AGE";
  }
  return "UNKNOWN";
}

absl::StatusOr<OnlineQuery> OnlineQuery::Prepare(const FeatureSelection& selection,
                                                 const OnlineQueryOptions& options) {
  OnlineQuery query;
  // Output name -> what produced it, to name both sides of a collision.
  std::map<std::string, std::string, std::less<>> outputs;
  for (const FeatureSelection::ViewPart& part : selection.views) {
    if (!part.view.online) {
      return absl::InvalidArgumentError(
          Cat("feature view \"", part.view.name,
              "\" has online: false; it is not in the online store"));
    }
    ViewPlan plan;
    plan.name = part.view.name;
    AppendOnlineKeyPrefix(plan.key_prefix, part.view.name);
    plan.layout_tag = LayoutTag(FeatureTableLayout::Of(part.view, part.join_keys).Hash());
    plan.ttl_micros = part.view.ttl_seconds * kMicrosPerSecond;
    std::vector<ColumnType> types;
    for (const Feature& f : part.view.features) types.push_back(f.type);
    plan.layout = OnlineValueLayout(types);
    for (const JoinKey& key : part.join_keys) {
      size_t index = 0;
      while (index < query.join_keys_.size() && query.join_keys_[index].name != key.name) ++index;
      if (index == query.join_keys_.size()) {
        query.join_keys_.push_back(key);
        outputs.emplace(key.name, Cat("join key ", key.name));
      } else if (query.join_keys_[index].type != key.type) {
        return absl::InvalidArgumentError(
            Cat("join key \"", key.name, "\" is ", table::ColumnTypeName(key.type),
                " in feature view \"", part.view.name, "\" but ",
                table::ColumnTypeName(query.join_keys_[index].type), " in another"));
      }
      plan.keys.push_back(index);
    }
    query.views_.push_back(std::move(plan));
  }
  // Outputs in request order (the selection groups them by view).
  for (const FeatureRef& ref : selection.refs) {
    size_t v = 0;
    while (selection.views[v].view.name != ref.view) ++v;
    const FeatureView& view = selection.views[v].view;
    size_t f = 0;
    while (view.features[f].name != ref.feature) ++f;
    std::string name = options.full_feature_names ? Cat(ref.view, "__", ref.feature) : ref.feature;
    auto [it, inserted] = outputs.emplace(name, Cat("feature ", ref.ToString()));
    if (!inserted) {
      return absl::InvalidArgumentError(
          Cat("two outputs would be named \"", name, "\": ", it->second, " and feature ",
              ref.ToString(), "; request full_feature_names to name features view__feature"));
    }
    query.views_[v].outputs.push_back({query.feature_names_.size(), f});
    query.feature_names_.push_back(std::move(name));
    query.feature_types_.push_back(view.features[f].type);
  }
  return query;
}

absl::Status OnlineFeatures::Get(const OnlineQuery& query,
                                 std::span<const EntityKeyValues> entities,
                                 OnlineResult& out) const {
  // Match the entity columns to the query's join keys.
  const size_t rows = entities.empty() ? 0 : entities[0].size();
  thread_local std::vector<const EntityKeyValues*> inputs;
  inputs.assign(query.join_keys_.size(), nullptr);
  for (const EntityKeyValues& e : entities) {
    size_t k = 0;
    while (k < query.join_keys_.size() && query.join_keys_[k].name != e.name) ++k;
    if (k == query.join_keys_.size()) {
      std::string wanted;
      for (const JoinKey& j : query.join_keys_) wanted += Cat(wanted.empty() ? "" : ", ", j.name);
      return absl::InvalidArgumentError(Cat("entity key \"", e.name,
                                            "\" is not a join key of the requested features"
                                            " (they need: ",
                                            wanted, ")"));
    }
    const JoinKey& key = query.join_keys_[k];
    if (e.type != key.type) {
      return absl::InvalidArgumentError(Cat("join key \"", key.name, "\" is ",
                                            table::ColumnTypeName(key.type),
                                            " but its values are ", TypeWord(e.type)));
    }
    if (e.size() != rows) {
      return absl::InvalidArgumentError(
          Cat("entity key columns differ in length: \"", entities[0].name, "\" has ", rows,
              " values, \"", e.name, "\" has ", e.size()));
    }
    if (inputs[k] != nullptr) {
      return absl::InvalidArgumentError(Cat("join key \"", key.name, "\" is given twice"));
    }
    inputs[k] = &e;
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k] == nullptr) {
      return absl::InvalidArgumentError(Cat("missing join key \"", query.join_keys_[k].name,
                                            "\" (", table::ColumnTypeName(query.join_keys_[k].type),
                                            ") in the entities"));
    }
  }

  out.rows = rows;
  out.columns.resize(query.feature_names_.size());
  for (size_t c = 0; c < out.columns.size(); ++c) {
    OnlineColumn& column = out.columns[c];
    column.name.assign(query.feature_names_[c]);
    column.type = query.feature_types_[c];
    column.statuses.assign(rows, FeatureStatus::kNotFound);
    column.event_timestamps.assign(rows, 0);
    column.values.assign(rows, 0);
    column.string_bytes.clear();
  }
  if (rows == 0) return absl::OkStatus();

  // Every view's keys, view after view, go to the store in one call: one round trip for a
  // remote store (Redis), one batch of MultiGets for RocksDB.
  const int64_t now = clock_->NowMicros();
  thread_local KeyScratch scratch;
  scratch.bytes.clear();
  scratch.ends.clear();
  for (const OnlineQuery::ViewPlan& view : query.views_) {
    for (size_t row = 0; row < rows; ++row) {
      scratch.bytes.append(view.key_prefix);
      for (size_t k : view.keys) {
        const EntityKeyValues& e = *inputs[k];
        if (e.type == ColumnType::kInt64) {
          AppendKeyPart(scratch.bytes, e.int64_values[row]);
        } else {
          AppendKeyPart(scratch.bytes, std::string_view(e.string_values[row]));
        }
      }
      scratch.ends.push_back(static_cast<uint32_t>(scratch.bytes.size()));
    }
  }
  scratch.keys.clear();
  uint32_t begin = 0;
  for (uint32_t end : scratch.ends) {
    scratch.keys.emplace_back(scratch.bytes.data() + begin, end - begin);
    begin = end;
  }
  const OnlineQuery::ViewPlan* damaged = nullptr;
  RETURN_IF_ERROR(store_.Read(scratch.keys, [&](size_t index, std::string_view value) {
    const OnlineQuery::ViewPlan& view = query.views_[index / rows];
    const size_t row = index % rows;
    const std::optional<OnlineValueHeader> header = ReadOnlineValueHeader(value);
    // Another layout: written before the view's features changed; not this one's.
    if (!header || header->layout_tag != view.layout_tag) return;
    scratch.offsets.resize(view.layout.feature_count());
    if (!view.layout.Locate(value, scratch.offsets)) {
      damaged = &view;
      return;
    }
    const bool expired = view.ttl_micros > 0 && header->event_ts < now - view.ttl_micros;
    for (const OnlineQuery::Output& o : view.outputs) {
      OnlineColumn& column = out.columns[o.column];
      column.event_timestamps[row] = header->event_ts;
      const uint32_t offset = scratch.offsets[o.feature];
      if (expired) {
        column.statuses[row] = FeatureStatus::kOutsideMaxAge;
      } else if (value[offset] == 0) {
        column.statuses[row] = FeatureStatus::kNullValue;
      } else {
        column.statuses[row] = FeatureStatus::kPresent;
        CopyValue(value, offset, row, column);
      }
    }
  }));
  if (damaged != nullptr) {
    return absl::DataLossError(Cat("the online store holds a damaged value of feature view \"",
                                   damaged->name,
                                   "\"; rebuild it with `ferry features materialize`"));
  }
  return absl::OkStatus();
}

}  // namespace ferry::features
