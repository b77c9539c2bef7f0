#include "api/feature_json.h"

#include <charconv>
#include <cmath>

#include "core/clock.h"
#include "core/strings.h"
#include "table/csv_writer.h"
#include "table/value_parse.h"

namespace ferry::api {
namespace {

using features::FeatureStatus;
using features::OnlineColumn;
using table::ColumnType;

constexpr std::string_view kEpoch = "\"1970-01-01T00:00:00Z\"";

void AppendInt(std::string& out, int64_t v) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof(buffer), v).ptr;
  out.append(buffer, end);
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("\"NaN\"");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof(buffer), v).ptr;
    out.append(buffer, end);
  }
}

void AppendTime(std::string& out, int64_t micros) {
  out.push_back('"');
  table::AppendIsoTimestamp(out, micros);
  out.push_back('"');
}

void AppendValue(std::string& out, const OnlineColumn& c, size_t row) {
  if (c.statuses[row] != FeatureStatus::kPresent) {
    out.append("null");
    return;
  }
  switch (c.type) {
    case ColumnType::kInt64:
      AppendInt(out, c.Int64(row));
      break;
    case ColumnType::kFloat64:
      AppendDouble(out, c.Float64(row));
      break;
    case ColumnType::kBool:
      out.append(c.Bool(row) ? "true" : "false");
      break;
    case ColumnType::kTimestamp:
      AppendTime(out, c.Int64(row));
      break;
    case ColumnType::kString:
      AppendJsonString(out, c.String(row));
      break;
  }
}

// Appends `,"key":[` once per list, then items separated by commas.
template <typename Fn>
void AppendList(std::string& out, std::string_view key, size_t n, Fn item) {
  out.push_back('"');
  out.append(key);
  out.append("\":[");
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out.push_back(',');
    item(i);
  }
  out.push_back(']');
}

std::string TimeText(int64_t micros) {
  std::string s;
  table::AppendIsoTimestamp(s, micros);
  return s;
}

nlohmann::json OptionalTime(const std::optional<int64_t>& micros) {
  return micros ? nlohmann::json(TimeText(*micros)) : nlohmann::json(nullptr);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  if (!table::IsValidUtf8(text.data(), text.size())) {
    out.append(nlohmann::json(std::string(text))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(text.substr(run));
  out.push_back('"');
}

void AppendOnlineResponse(std::string& out, std::span<const features::EntityKeyValues> entities,
                          const features::OnlineResult& result) {
  const size_t rows = result.rows;
  out.append("{\"metadata\":{");
  AppendList(out, "feature_names", entities.size() + result.columns.size(), [&](size_t i) {
    AppendJsonString(out, i < entities.size() ? entities[i].name
                                              : result.columns[i - entities.size()].name);
  });
  out.append("},\"results\":[");
  for (size_t e = 0; e < entities.size(); ++e) {
    const features::EntityKeyValues& key = entities[e];
    if (e > 0) out.push_back(',');
    out.push_back('{');
    AppendList(out, "values", rows, [&](size_t r) {
      if (key.type == ColumnType::kInt64) {
        AppendInt(out, key.int64_values[r]);
      } else {
        AppendJsonString(out, key.string_values[r]);
      }
    });
    out.push_back(',');
    AppendList(out, "statuses", rows, [&](size_t) { out.append("\"PRESENT\""); });
    out.push_back(',');
    AppendList(out, "event_timestamps", rows, [&](size_t) { out.append(kEpoch); });
    out.push_back('}');
  }
  for (size_t c = 0; c < result.columns.size(); ++c) {
    const OnlineColumn& column = result.columns[c];
    if (c > 0 || !entities.empty()) out.push_back(',');
    out.push_back('{');
    AppendList(out, "values", rows, [&](size_t r) { AppendValue(out, column, r); });
    out.push_back(',');
    AppendList(out, "statuses", rows, [&](size_t r) {
      out.push_back('"');
      out.append(features::FeatureStatusName(column.statuses[r]));
      out.push_back('"');
    });
    out.push_back(',');
    AppendList(out, "event_timestamps", rows, [&](size_t r) {
      if (column.statuses[r] == FeatureStatus::kNotFound) {
        out.append(kEpoch);
      } else {
        AppendTime(out, column.event_timestamps[r]);
      }
    });
    out.push_back('}');
  }
  out.append("]}");
}

nlohmann::json MaterializationJson(const std::vector<features::ViewMaterialization>& runs) {
  nlohmann::json views = nlohmann::json::array();
  for (const features::ViewMaterialization& r : runs) {
    views.push_back({{"view", r.view},
                     {"source", r.source},
                     {"start", OptionalTime(r.start)},
                     {"end", TimeText(r.end)},
                     {"up_to_date", r.up_to_date},
                     {"table_built", r.table_built},
                     {"rows_read", r.rows_read},
                     {"rows_in_window", r.rows_in_window},
                     {"keys_written", r.keys_written},
                     {"keys_kept", r.keys_kept},
                     {"seconds", r.seconds}});
  }
  return nlohmann::json{{"views", views}};
}

void AddViewStatusJson(const features::ViewStatus& status, int64_t now_micros,
                       nlohmann::json& view_json) {
  view_json["source_version"] = status.source_version;
  view_json["newest_event"] = status.newest_event
                                  ? nlohmann::json(core::FormatTimestamp(*status.newest_event))
                                  : nlohmann::json(nullptr);
  view_json["freshness_seconds"] =
      status.newest_event
          ? nlohmann::json(static_cast<double>(now_micros - *status.newest_event) / 1e6)
          : nlohmann::json(nullptr);
  nlohmann::json consumers = nlohmann::json::array();
  for (const lineage::Node& c : status.consumers) {
    consumers.push_back({{"kind", c.kind}, {"id", c.id}});
  }
  view_json["consumers"] = std::move(consumers);
  view_json["last_materialization"] = LastMaterializationJson(status.last_materialization);
}

nlohmann::json LastMaterializationJson(
    const std::optional<features::MaterializationRecord>& record) {
  if (!record) return nullptr;
  return nlohmann::json{{"materialized_at", core::FormatTimestamp(record->finished_at)},
                        {"window_start", OptionalTime(record->window_start)},
                        {"window_end", TimeText(record->window_end)},
                        {"source", record->source},
                        {"rows_in_window", record->rows_in_window},
                        {"keys_written", record->keys_written},
                        {"keys_kept", record->keys_kept}};
}

absl::StatusOr<int64_t> ParseTimeArgument(std::string_view what, std::string_view text,
                                          int64_t now_micros) {
  if (text == "now") return now_micros;
  std::optional<int64_t> micros = table::ParseTimestamp(text);
  if (!micros) {
    return absl::InvalidArgumentError(core::Cat(
        what, ": \"", text,
        "\" is not a time; expected RFC 3339 (2026-01-31T12:00:00Z), a date or \"now\""));
  }
  return *micros;
}

}  // namespace ferry::api
