#include "table/profile_diff.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/clock.h"
#include "core/strings.h"

namespace ferry::table {
namespace {

// The key statistics of a column, by name, in a fixed order.
std::vector<std::pair<std::string, double>> KeyStatistics(const ColumnProfile& c) {
  std::vector<std::pair<std::string, double>> stats;
  stats.emplace_back("null_rate", c.null_rate());
  stats.emplace_back("distinct", std::round(c.distinct.Estimate()));
  if (c.numeric && c.numeric->quantiles.n() > 0) {
    const KllSketch::SortedView view = c.numeric->quantiles.View();
    stats.emplace_back("mean", c.numeric->moments.mean);
    stats.emplace_back("stddev", c.numeric->moments.SampleStddev());
    stats.emplace_back("p50", view.Quantile(0.50));
    stats.emplace_back("p90", view.Quantile(0.90));
    stats.emplace_back("p99", view.Quantile(0.99));
  }
  if (c.type == ColumnType::kBool && c.count > 0) {
    stats.emplace_back("true_rate", static_cast<double>(c.true_count) / static_cast<double>(c.count));
  }
  return stats;
}

std::string Percent(double relative) {
  if (std::isinf(relative)) return "new";
  return fmt::format("{:+.1f}%", relative * 100);
}

// A span of time in microseconds, in the largest unit that keeps it readable.
std::string Duration(double micros, bool with_sign) {
  const char* sign = with_sign ? (micros < 0 ? "-" : "+") : (micros < 0 ? "-" : "");
  const double m = std::fabs(micros);
  if (m >= 86'400e6) return fmt::format("{}{:.1f}d", sign, m / 86'400e6);
  if (m >= 3'600e6) return fmt::format("{}{:.1f}h", sign, m / 3'600e6);
  if (m >= 60e6) return fmt::format("{}{:.1f}min", sign, m / 60e6);
  return fmt::format("{}{:.3g}s", sign, m / 1e6);
}

bool IsTimePoint(const StatisticChange& c) {
  return c.is_time && c.statistic != "stddev" && c.statistic != "null_rate" &&
         c.statistic != "distinct";
}

std::string Value(const StatisticChange& c, double v) {
  if (IsTimePoint(c)) return core::FormatTimestamp(std::llround(v));
  if (c.is_time && c.statistic == "stddev") return Duration(v, false);
  return fmt::format("{:.6g}", v);
}

// How much it changed: a relative change, or for points in time the time between them.
std::string Change(const StatisticChange& c) {
  if (IsTimePoint(c)) return Duration(c.after - c.before, true);
  return Percent(c.relative_change());
}

}  // namespace

double StatisticChange::relative_change() const {
  if (before == after) return 0;
  if (before == 0) return std::numeric_limits<double>::infinity();
  return (after - before) / std::fabs(before);
}

bool ProfileDiff::empty() const {
  return added_columns.empty() && removed_columns.empty() && type_changes.empty() &&
         rows_before == rows_after && changes.empty();
}

ProfileDiff DiffProfiles(const TableProfile& before, const TableProfile& after) {
  ProfileDiff diff;
  diff.rows_before = before.row_count;
  diff.rows_after = after.row_count;
  for (const ColumnProfile& c : before.columns) {
    if (after.column(c.name) == nullptr) diff.removed_columns.push_back(c.schema());
  }
  for (const ColumnProfile& a : after.columns) {
    const ColumnProfile* b = before.column(a.name);
    if (b == nullptr) {
      diff.added_columns.push_back(a.schema());
      continue;
    }
    if (b->type != a.type) diff.type_changes.push_back({a.name, b->type, a.type});
    const auto stats_before = KeyStatistics(*b);
    const auto stats_after = KeyStatistics(a);
    // Compare the statistics both have (a retyped column keeps null_rate and distinct).
    for (const auto& [name, value_after] : stats_after) {
      for (const auto& [other, value_before] : stats_before) {
        if (other != name || value_before == value_after) continue;
        const bool is_time = a.type == ColumnType::kTimestamp && b->type == ColumnType::kTimestamp;
        diff.changes.push_back({a.name, name, value_before, value_after, is_time});
      }
    }
  }
  return diff;
}

std::string ProfileDiff::ToText() const {
  std::string out;
  if (rows_before != rows_after) {
    StatisticChange rows{"", "rows", static_cast<double>(rows_before),
                         static_cast<double>(rows_after), false};
    out += fmt::format("rows: {} -> {} ({})\n", rows_before, rows_after,
                       Percent(rows.relative_change()));
  }
  for (const ColumnSchema& c : added_columns) {
    out += fmt::format("+ column {}: {}\n", c.name, ColumnTypeName(c.type));
  }
  for (const ColumnSchema& c : removed_columns) {
    out += fmt::format("- column {}: {}\n", c.name, ColumnTypeName(c.type));
  }
  for (const ColumnTypeChange& c : type_changes) {
    out += fmt::format("~ column {}: {} -> {}\n", c.column, ColumnTypeName(c.before),
                       ColumnTypeName(c.after));
  }
  for (const StatisticChange& c : changes) {
    out += fmt::format("{}.{}: {} -> {} ({})\n", c.column, c.statistic, Value(c, c.before),
                       Value(c, c.after), Change(c));
  }
  if (out.empty()) out = "no changes\n";
  return out;
}

std::string ProfileDiff::ToJson() const {
  using Json = nlohmann::ordered_json;
  const auto column_list = [](const std::vector<ColumnSchema>& columns) {
    Json list = Json::array();
    for (const ColumnSchema& c : columns) {
      list.push_back({{"name", c.name}, {"type", std::string(ColumnTypeName(c.type))}});
    }
    return list;
  };
  Json j;
  j["rows"] = {{"before", rows_before}, {"after", rows_after}};
  j["added_columns"] = column_list(added_columns);
  j["removed_columns"] = column_list(removed_columns);
  Json types = Json::array();
  for (const ColumnTypeChange& c : type_changes) {
    types.push_back({{"column", c.column},
                     {"before", std::string(ColumnTypeName(c.before))},
                     {"after", std::string(ColumnTypeName(c.after))}});
  }
  j["type_changes"] = std::move(types);
  Json changes_json = Json::array();
  for (const StatisticChange& c : changes) {
    changes_json.push_back(
        {{"column", c.column}, {"statistic", c.statistic}, {"before", c.before}, {"after", c.after}});
  }
  j["changes"] = std::move(changes_json);
  return j.dump();
}

}  // namespace ferry::table
