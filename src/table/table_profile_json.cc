// TableProfile::ToJson: the profile as JSON (docs/table-profile.md). Everything a
// reader needs to rebuild the profile exactly sits in each column's "sketches" object and
// the identity/count members; the rest (mean, stddev, quantiles, histogram, ...) is
// derived from them, for people and tools that only want the figures.

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "table/base64.h"
#include "table/hash.h"
#include "table/table_profile.h"
#include "table/table_profile_json_internal.h"

namespace ferry::table {

using Json = nlohmann::ordered_json;

namespace profile_json_internal {

std::string Hex64(uint64_t v) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, v);
  return buffer;
}

}  // namespace profile_json_internal

namespace {

using profile_json_internal::Hex64;

constexpr double kQuantiles[] = {0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99};
constexpr const char* kQuantileNames[] = {"p01", "p05", "p10", "p25", "p50",
                                          "p75", "p90", "p95", "p99"};

// JSON has no inf/nan: they are written as strings.
Json Number(double v) {
  if (std::isfinite(v)) return v;
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

Json Items(const TopValues& top) {
  Json items = Json::array();
  for (const TopValues::Item& item : top.Items()) {
    Json j = {{"value", item.value}, {"count", item.count}};
    if (item.truncated) j["truncated"] = true;
    items.push_back(std::move(j));
  }
  return items;
}

Json DistinctSketchJson(const DistinctSketch& d) {
  if (d.exact()) {
    std::string bytes;
    for (uint64_t h : d.ExactHashes()) {
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((h >> (8 * i)) & 0xFF));
    }
    return {{"exact_hashes", Base64Encode(bytes)}};
  }
  const auto& r = d.registers();
  return {{"hll_precision", DistinctSketch::kPrecision},
          {"hll_registers",
           Base64Encode(std::string_view(reinterpret_cast<const char*>(r.data()), r.size()))}};
}

Json KllJson(const KllSketch& sketch) {
  KllSketch flushed;
  if (!sketch.flushed()) {
    flushed = sketch;
    flushed.Flush();
  }
  const KllSketch& k = sketch.flushed() ? sketch : flushed;
  Json levels = Json::array();
  for (const auto& level : k.levels()) levels.push_back(level);
  Json j = {{"k", k.k()}, {"n", k.n()}};
  if (!k.empty()) {
    j["min"] = k.min();
    j["max"] = k.max();
  }
  j["rng"] = Hex64(k.rng_state());
  j["levels"] = std::move(levels);
  return j;
}

Json DerivedNumeric(const ColumnProfile& c) {
  const NumericStats& s = *c.numeric;
  Json j = Json::object();
  const bool exact_int = c.type == ColumnType::kInt64 || c.type == ColumnType::kTimestamp;
  const uint64_t values = s.quantiles.n();
  if (values > 0) {
    j["min"] = exact_int ? Json(s.int_min) : Json(s.min);
    j["max"] = exact_int ? Json(s.int_max) : Json(s.max);
    if (c.type == ColumnType::kTimestamp) {
      j["min_time"] = core::FormatTimestamp(s.int_min);
      j["max_time"] = core::FormatTimestamp(s.int_max);
    }
    j["mean"] = Number(s.moments.mean);
    j["stddev"] = Number(s.moments.SampleStddev());
    const KllSketch::SortedView view = s.quantiles.View();
    Json q = Json::object();
    for (size_t i = 0; i < std::size(kQuantiles); ++i) q[kQuantileNames[i]] = view.Quantile(kQuantiles[i]);
    j["quantiles"] = std::move(q);
    const Histogram h = c.MakeHistogram();
    j["histogram"] = {{"edges", h.edges}, {"counts", h.counts}};
  }
  if (s.non_finite > 0) j["non_finite"] = s.non_finite;
  return j;
}

Json ColumnJson(const ColumnProfile& c) {
  Json j = {{"name", c.name}, {"type", std::string(ColumnTypeName(c.type))}};
  if (c.type == ColumnType::kTimestamp) {
    j["time_encoding"] = std::string(TimeEncodingName(c.time_encoding));
  }
  j["count"] = c.count;
  j["null_count"] = c.null_count;
  j["null_rate"] = c.null_rate();
  j["distinct"] = std::llround(c.distinct.Estimate());
  j["distinct_exact"] = c.distinct.exact();
  if (c.numeric) j.update(DerivedNumeric(c));
  if (c.type == ColumnType::kBool) {
    j["true_count"] = c.true_count;
    j["false_count"] = c.false_count;
  }
  if (c.type == ColumnType::kString && c.count > 0) {
    j["length"] = {{"min", c.length.min},
                   {"max", c.length.max},
                   {"mean", static_cast<double>(c.length.total) / static_cast<double>(c.count)}};
  }
  if (c.top_values) {
    j["top_values"] = Items(*c.top_values);
    j["top_values_max_error"] = c.top_values->max_error();
  }

  Json sketches = Json::object();
  sketches["distinct"] = DistinctSketchJson(c.distinct);
  if (c.top_values) {
    sketches["top_values"] = {{"max_error", c.top_values->max_error()},
                              {"items", Items(*c.top_values)}};
  }
  sketches["length"] = {{"min", c.length.min}, {"max", c.length.max}, {"total", c.length.total}};
  if (c.numeric) {
    const NumericStats& s = *c.numeric;
    sketches["numeric"] = {{"min", Number(s.min)},         {"max", Number(s.max)},
                           {"int_min", s.int_min},         {"int_max", s.int_max},
                           {"non_finite", s.non_finite},   {"n", s.moments.n},
                           {"mean", Number(s.moments.mean)}, {"m2", Number(s.moments.m2)}};
    sketches["kll"] = KllJson(s.quantiles);
  }
  j["sketches"] = std::move(sketches);
  return j;
}

Json SampleJson(const RowSample& sample) {
  Json rows = Json::array();
  for (const RowSample::Row& row : sample.rows()) {
    Json cells = Json::array();
    for (size_t i = 0; i < row.size(); ++i) {
      const auto cell = row.cell(i);
      cells.push_back(cell ? Json(std::string(*cell)) : Json(nullptr));
    }
    rows.push_back(std::move(cells));
  }
  const RowSample::State state = sample.state();
  return {{"capacity", sample.capacity()},
          {"seen", sample.seen()},
          {"rng", Hex64(state.rng_state)},
          {"next", Hex64(state.next)},
          {"w", state.w},
          {"rows", std::move(rows)}};
}

}  // namespace

std::string TableProfile::ToJson() const {
  Json j;
  j["format_version"] = kFormatVersion;
  j["hash_version"] = kHashVersion;
  j["format"] = std::string(FormatName(format));
  j["row_count"] = row_count;
  j["bad_row_count"] = bad_row_count;
  Json bad = Json::array();
  for (const BadRow& b : bad_rows) bad.push_back({{"line", b.line}, {"reason", b.reason}});
  j["bad_rows"] = std::move(bad);
  Json cols = Json::array();
  for (const ColumnProfile& c : columns) cols.push_back(ColumnJson(c));
  j["columns"] = std::move(cols);
  j["sample"] = SampleJson(sample);
  // Invalid UTF-8 cannot reach a profile (the readers reject it), but replace rather
  // than throw if it ever did.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace ferry::table
