#include "features/online_push.h"

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "features/feature_table.h"
#include "features/online_value.h"
#include "table/value_parse.h"

namespace ferry::features {
namespace {

using core::Cat;
using nlohmann::json;
using table::ColumnArray;
using table::ColumnType;

// A timestamp field: RFC 3339 text, or microseconds since the epoch.
std::optional<int64_t> TimeOf(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) return table::ParseTimestamp(v.get_ref<const std::string&>());
  return std::nullopt;
}

// Appends `v` (null allowed) to `column`, whose type is the feature's. False when the
// JSON value does not fit the type.
bool AppendValue(const json& v, ColumnArray& column) {
  const bool present = !v.is_null();
  column.valid.push_back(present ? 1 : 0);
  switch (column.type) {
    case ColumnType::kInt64:
      if (present && !v.is_number_integer()) return false;
      column.int64_values.push_back(present ? v.get<int64_t>() : 0);
      return true;
    case ColumnType::kTimestamp: {
      const std::optional<int64_t> t = present ? TimeOf(v) : std::optional<int64_t>(0);
      if (!t) return false;
      column.int64_values.push_back(*t);
      return true;
    }
    case ColumnType::kFloat64:
      if (present && !v.is_number()) return false;
      column.float64_values.push_back(present ? v.get<double>() : 0.0);
      return true;
    case ColumnType::kBool:
      if (present && !v.is_boolean()) return false;
      column.bool_values.push_back(present && v.get<bool>() ? 1 : 0);
      return true;
    case ColumnType::kString:
      if (present && !v.is_string()) return false;
      if (column.offsets.empty()) column.offsets.push_back(0);
      if (present) column.bytes += v.get_ref<const std::string&>();
      column.offsets.push_back(column.bytes.size());
      return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<PushReport> PushToOnline(const FeatureRegistry& registry, OnlineStore& online,
                                        std::string_view view_name, const json& rows) {
  ASSIGN_OR_RETURN(const FeatureView view, registry.GetView(view_name));
  if (!view.online) {
    return absl::FailedPreconditionError(
        Cat("feature view \"", view.name, "\" has online: false; nothing can be pushed to it"));
  }
  if (!rows.is_array()) {
    return absl::InvalidArgumentError("\"rows\" must be an array of objects");
  }
  if (rows.size() > kMaxPushRows) {
    return absl::ResourceExhaustedError(
        Cat(rows.size(), " rows pushed at once; at most ", kMaxPushRows));
  }
  ASSIGN_OR_RETURN(std::vector<JoinKey> keys, registry.JoinKeysOf(view));
  const uint64_t tag = LayoutTag(FeatureTableLayout::Of(view, keys).Hash());
  std::vector<ColumnArray> features(view.features.size());
  for (size_t f = 0; f < features.size(); ++f) {
    features[f].name = view.features[f].name;
    features[f].type = view.features[f].type;
  }
  struct Row {
    std::string key;
    int64_t event = 0;
    int64_t created = kNoCreatedTime;
  };
  std::vector<Row> parsed(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& row = rows[r];
    const auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(
          Cat("rows[", r, "]: ", what, " (feature view \"", view.name, "\")"));
    };
    if (!row.is_object()) return bad("not an object");
    size_t known = 0;
    AppendOnlineKeyPrefix(parsed[r].key, view.name);
    for (const JoinKey& key : keys) {
      const auto it = row.find(key.name);
      if (it == row.end() || it->is_null()) return bad(Cat("join key \"", key.name, "\" missing"));
      ++known;
      if (key.type == ColumnType::kInt64) {
        if (!it->is_number_integer()) return bad(Cat("join key \"", key.name, "\" is int64"));
        AppendKeyPart(parsed[r].key, it->get<int64_t>());
      } else {
        if (!it->is_string()) return bad(Cat("join key \"", key.name, "\" is a string"));
        AppendKeyPart(parsed[r].key, std::string_view(it->get_ref<const std::string&>()));
      }
    }
    const auto ts = row.find(view.timestamp_field);
    if (ts == row.end() || ts->is_null()) {
      return bad(Cat("\"", view.timestamp_field, "\" (the event time) missing"));
    }
    const std::optional<int64_t> event = TimeOf(*ts);
    if (!event) return bad(Cat("\"", view.timestamp_field, "\" is not a timestamp"));
    parsed[r].event = *event;
    ++known;
    if (!view.created_timestamp_field.empty()) {
      if (const auto created = row.find(view.created_timestamp_field);
          created != row.end() && !created->is_null()) {
        const std::optional<int64_t> t = TimeOf(*created);
        if (!t) return bad(Cat("\"", view.created_timestamp_field, "\" is not a timestamp"));
        parsed[r].created = *t;
        ++known;
      } else if (created != row.end()) {
        ++known;
      }
    }
    for (ColumnArray& column : features) {
      const auto it = row.find(column.name);
      if (it != row.end()) ++known;
      if (!AppendValue(it == row.end() ? json(nullptr) : *it, column)) {
        return bad(Cat("feature \"", column.name, "\" is ", table::ColumnTypeName(column.type),
                       ", got ", it->dump()));
      }
    }
    if (known != row.size()) {
      for (const auto& [field, value] : row.items()) {
        const bool is_key = std::any_of(keys.begin(), keys.end(),
                                        [&](const JoinKey& k) { return k.name == field; });
        if (!is_key && field != view.timestamp_field && field != view.created_timestamp_field &&
            view.FindFeature(field) == nullptr) {
          return bad(Cat("unknown field \"", field, "\""));
        }
      }
    }
  }
  // Of several rows of one key, the latest (event time, then created time, then the last
  // given) goes to the store.
  std::map<std::string_view, size_t> latest;
  for (size_t r = 0; r < parsed.size(); ++r) {
    auto [it, inserted] = latest.emplace(parsed[r].key, r);
    const Row& held = parsed[it->second];
    if (!inserted &&
        std::pair(parsed[r].event, parsed[r].created) >= std::pair(held.event, held.created)) {
      it->second = r;
    }
  }
  std::vector<std::string> values(latest.size());
  std::vector<OnlineEntry> entries;
  entries.reserve(latest.size());
  size_t i = 0;
  for (const auto& [key, r] : latest) {
    EncodeOnlineValue(tag, parsed[r].event, parsed[r].created, features, r, values[i]);
    entries.push_back({key, values[i]});
    ++i;
  }
  PushReport report;
  report.rows = static_cast<int64_t>(rows.size());
  if (entries.empty()) return report;
  ASSIGN_OR_RETURN(WriteCounts counts, online.WriteLatest({view.name, view.ttl_seconds}, entries));
  report.written = counts.written;
  report.kept = counts.kept + report.rows - static_cast<int64_t>(entries.size());
  return report;
}

}  // namespace ferry::features
