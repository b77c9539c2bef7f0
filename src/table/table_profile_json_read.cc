// TableProfile::FromJson: rebuilds a profile, sketches included, from ToJson's output
// (docs/table-profile.md). Derived members are ignored; everything read is checked, and
// the first problem is reported with its path, e.g.
// "profile JSON: columns[2].sketches.kll: retained items weigh 10 but n is 12".

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "table/base64.h"
#include "table/hash.h"
#include "table/table_profile.h"

namespace ferry::table {
namespace {

using Json = nlohmann::ordered_json;

absl::Status Error(const std::string& path, std::string_view problem) {
  return absl::InvalidArgumentError(core::Cat("profile JSON: ", path, ": ", problem));
}

absl::StatusOr<const Json*> Member(const Json& object, const char* key, const std::string& path) {
  if (!object.is_object()) return Error(path, "expected an object");
  const auto it = object.find(key);
  if (it == object.end()) return Error(core::Cat(path, ".", key), "missing");
  return &*it;
}

absl::StatusOr<int64_t> Int(const Json& j, const std::string& path) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(path, "integer out of range");
    }
    return static_cast<int64_t>(v);
  }
  if (!j.is_number_integer()) return Error(path, "expected an integer");
  return j.get<int64_t>();
}

absl::StatusOr<int64_t> NonNegative(const Json& j, const std::string& path) {
  ASSIGN_OR_RETURN(const int64_t v, Int(j, path));
  if (v < 0) return Error(path, "expected a non-negative integer");
  return v;
}

absl::StatusOr<double> Double(const Json& j, const std::string& path) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  return Error(path, "expected a number");
}

absl::StatusOr<std::string> String(const Json& j, const std::string& path) {
  if (!j.is_string()) return Error(path, "expected a string");
  return j.get<std::string>();
}

absl::StatusOr<uint64_t> Hex(const Json& j, const std::string& path) {
  ASSIGN_OR_RETURN(const std::string s, String(j, path));
  if (s.size() != 16) return Error(path, "expected 16 hex digits");
  uint64_t v = 0;
  for (char c : s) {
    const int d = core::HexDigitValue(c);
    if (d < 0) return Error(path, "expected 16 hex digits");
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

// Reads member `key` of `object` with `read`.
template <typename Read>
auto Get(const Json& object, const char* key, const std::string& path, Read read)
    -> decltype(read(object, path)) {
  ASSIGN_OR_RETURN(const Json* member, Member(object, key, path));
  return read(*member, core::Cat(path, ".", key));
}

absl::StatusOr<DistinctSketch> ReadDistinct(const Json& j, const std::string& path) {
  if (j.contains("exact_hashes")) {
    ASSIGN_OR_RETURN(const std::string text, Get(j, "exact_hashes", path, String));
    const auto bytes = Base64Decode(text);
    if (!bytes || bytes->size() % 8 != 0) return Error(path + ".exact_hashes", "bad base64");
    std::vector<uint64_t> hashes(bytes->size() / 8);
    for (size_t i = 0; i < hashes.size(); ++i) {
      for (int b = 7; b >= 0; --b) {
        hashes[i] = (hashes[i] << 8) | static_cast<uint8_t>((*bytes)[i * 8 + static_cast<size_t>(b)]);
      }
    }
    auto sketch = DistinctSketch::FromExactHashes(hashes);
    if (!sketch.ok()) return Error(path, core::View(sketch.status().message()));
    return sketch;
  }
  ASSIGN_OR_RETURN(const int64_t precision, Get(j, "hll_precision", path, Int));
  if (precision != DistinctSketch::kPrecision) return Error(path + ".hll_precision", "unsupported");
  ASSIGN_OR_RETURN(const std::string text, Get(j, "hll_registers", path, String));
  const auto bytes = Base64Decode(text);
  if (!bytes) return Error(path + ".hll_registers", "bad base64");
  auto sketch = DistinctSketch::FromRegisters(std::vector<uint8_t>(bytes->begin(), bytes->end()));
  if (!sketch.ok()) return Error(path, core::View(sketch.status().message()));
  return sketch;
}

absl::StatusOr<TopValues> ReadTopValues(const Json& j, const std::string& path) {
  ASSIGN_OR_RETURN(const int64_t max_error, Get(j, "max_error", path, NonNegative));
  ASSIGN_OR_RETURN(const Json* items, Member(j, "items", path));
  if (!items->is_array()) return Error(path + ".items", "expected an array");
  std::vector<TopValues::Item> parsed;
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string at = core::Cat(path, ".items[", i, "]");
    TopValues::Item item;
    ASSIGN_OR_RETURN(item.value, Get((*items)[i], "value", at, String));
    ASSIGN_OR_RETURN(item.count, Get((*items)[i], "count", at, Int));
    item.truncated = (*items)[i].value("truncated", false);
    parsed.push_back(std::move(item));
  }
  auto top = TopValues::FromItems(parsed, max_error);
  if (!top.ok()) return Error(path, core::View(top.status().message()));
  return top;
}

absl::StatusOr<KllSketch> ReadKll(const Json& j, const std::string& path) {
  ASSIGN_OR_RETURN(const int64_t k, Get(j, "k", path, Int));
  ASSIGN_OR_RETURN(const int64_t n, Get(j, "n", path, NonNegative));
  ASSIGN_OR_RETURN(const uint64_t rng, Get(j, "rng", path, Hex));
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = min;
  if (n > 0) {
    ASSIGN_OR_RETURN(min, Get(j, "min", path, Double));
    ASSIGN_OR_RETURN(max, Get(j, "max", path, Double));
  }
  ASSIGN_OR_RETURN(const Json* levels_json, Member(j, "levels", path));
  if (!levels_json->is_array()) return Error(path + ".levels", "expected an array");
  std::vector<std::vector<double>> levels;
  for (size_t h = 0; h < levels_json->size(); ++h) {
    const Json& level = (*levels_json)[h];
    if (!level.is_array()) return Error(core::Cat(path, ".levels[", h, "]"), "expected an array");
    std::vector<double> values;
    values.reserve(level.size());
    for (size_t i = 0; i < level.size(); ++i) {
      if (!level[i].is_number()) return Error(core::Cat(path, ".levels[", h, "][", i, "]"), "expected a number");
      values.push_back(level[i].get<double>());
    }
    levels.push_back(std::move(values));
  }
  if (k > KllSketch::kMaxK || k < KllSketch::kMinK) return Error(path + ".k", "out of range");
  auto sketch = KllSketch::FromParts(static_cast<int>(k), static_cast<uint64_t>(n), min, max,
                                     std::move(levels), rng);
  if (!sketch.ok()) return Error(path, core::View(sketch.status().message()));
  return sketch;
}

absl::StatusOr<NumericStats> ReadNumeric(const Json& sketches, const std::string& path) {
  NumericStats s;
  const std::string at = path + ".numeric";
  ASSIGN_OR_RETURN(const Json* j, Member(sketches, "numeric", path));
  ASSIGN_OR_RETURN(s.min, Get(*j, "min", at, Double));
  ASSIGN_OR_RETURN(s.max, Get(*j, "max", at, Double));
  ASSIGN_OR_RETURN(s.int_min, Get(*j, "int_min", at, Int));
  ASSIGN_OR_RETURN(s.int_max, Get(*j, "int_max", at, Int));
  ASSIGN_OR_RETURN(s.non_finite, Get(*j, "non_finite", at, NonNegative));
  ASSIGN_OR_RETURN(s.moments.n, Get(*j, "n", at, NonNegative));
  ASSIGN_OR_RETURN(s.moments.mean, Get(*j, "mean", at, Double));
  ASSIGN_OR_RETURN(s.moments.m2, Get(*j, "m2", at, Double));
  ASSIGN_OR_RETURN(const Json* kll, Member(sketches, "kll", path));
  ASSIGN_OR_RETURN(s.quantiles, ReadKll(*kll, path + ".kll"));
  if (static_cast<uint64_t>(s.moments.n) != s.quantiles.n()) {
    return Error(at + ".n", "differs from the quantile sketch's n");
  }
  return s;
}

absl::StatusOr<ColumnProfile> ReadColumn(const Json& j, const std::string& path) {
  ColumnProfile c;
  ASSIGN_OR_RETURN(c.name, Get(j, "name", path, String));
  ASSIGN_OR_RETURN(const std::string type, Get(j, "type", path, String));
  const auto parsed_type = ParseColumnType(type);
  if (!parsed_type) return Error(path + ".type", core::Cat("unknown type \"", type, "\""));
  c.type = *parsed_type;
  if (c.type == ColumnType::kTimestamp) {
    ASSIGN_OR_RETURN(const std::string encoding, Get(j, "time_encoding", path, String));
    const auto parsed = ParseTimeEncoding(encoding);
    if (!parsed || *parsed == TimeEncoding::kNone) {
      return Error(path + ".time_encoding", core::Cat("unknown encoding \"", encoding, "\""));
    }
    c.time_encoding = *parsed;
  }
  ASSIGN_OR_RETURN(c.count, Get(j, "count", path, NonNegative));
  ASSIGN_OR_RETURN(c.null_count, Get(j, "null_count", path, NonNegative));
  if (c.type == ColumnType::kBool) {
    ASSIGN_OR_RETURN(c.true_count, Get(j, "true_count", path, NonNegative));
    ASSIGN_OR_RETURN(c.false_count, Get(j, "false_count", path, NonNegative));
  }
  const std::string at = path + ".sketches";
  ASSIGN_OR_RETURN(const Json* sketches, Member(j, "sketches", path));
  ASSIGN_OR_RETURN(const Json* distinct, Member(*sketches, "distinct", at));
  ASSIGN_OR_RETURN(c.distinct, ReadDistinct(*distinct, at + ".distinct"));
  if (sketches->contains("top_values")) {
    ASSIGN_OR_RETURN(c.top_values, ReadTopValues((*sketches)["top_values"], at + ".top_values"));
  }
  ASSIGN_OR_RETURN(const Json* length, Member(*sketches, "length", at));
  ASSIGN_OR_RETURN(c.length.min, Get(*length, "min", at + ".length", NonNegative));
  ASSIGN_OR_RETURN(c.length.max, Get(*length, "max", at + ".length", NonNegative));
  ASSIGN_OR_RETURN(c.length.total, Get(*length, "total", at + ".length", NonNegative));
  const bool numeric = c.type == ColumnType::kInt64 || c.type == ColumnType::kFloat64 ||
                       c.type == ColumnType::kTimestamp;
  if (numeric) {
    ASSIGN_OR_RETURN(c.numeric, ReadNumeric(*sketches, at));
  }
  return c;
}

absl::StatusOr<RowSample> ReadSample(const Json& j, const std::string& path) {
  ASSIGN_OR_RETURN(const int64_t capacity, Get(j, "capacity", path, NonNegative));
  ASSIGN_OR_RETURN(const int64_t seen, Get(j, "seen", path, NonNegative));
  RowSample::State state;
  ASSIGN_OR_RETURN(state.rng_state, Get(j, "rng", path, Hex));
  ASSIGN_OR_RETURN(state.next, Get(j, "next", path, Hex));
  ASSIGN_OR_RETURN(state.w, Get(j, "w", path, Double));
  ASSIGN_OR_RETURN(const Json* rows_json, Member(j, "rows", path));
  if (!rows_json->is_array() || rows_json->size() > static_cast<uint64_t>(capacity)) {
    return Error(path + ".rows", "expected an array of at most `capacity` rows");
  }
  std::vector<RowSample::Row> rows;
  for (size_t r = 0; r < rows_json->size(); ++r) {
    const Json& row = (*rows_json)[r];
    if (!row.is_array()) return Error(core::Cat(path, ".rows[", r, "]"), "expected an array");
    std::vector<std::optional<std::string_view>> cells;
    for (size_t i = 0; i < row.size(); ++i) {
      if (row[i].is_null()) {
        cells.emplace_back();
      } else if (row[i].is_string()) {
        cells.emplace_back(row[i].get_ref<const std::string&>());
      } else {
        return Error(core::Cat(path, ".rows[", r, "][", i, "]"), "expected a string or null");
      }
    }
    rows.emplace_back(cells);
  }
  return RowSample::FromParts(static_cast<size_t>(capacity), static_cast<uint64_t>(seen),
                              std::move(rows), state);
}

}  // namespace

absl::StatusOr<TableProfile> TableProfile::FromJson(std::string_view text) {
  const Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("profile JSON: not valid JSON");
  const std::string root = "$";
  ASSIGN_OR_RETURN(const int64_t version, Get(j, "format_version", root, Int));
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(core::Cat("profile JSON: format_version ", version,
                                                   " is not ", kFormatVersion));
  }
  ASSIGN_OR_RETURN(const int64_t hash_version, Get(j, "hash_version", root, Int));
  if (hash_version != kHashVersion) {
    return absl::FailedPreconditionError(core::Cat("profile JSON: hash_version ", hash_version,
                                                   " is not ", kHashVersion));
  }
  TableProfile p;
  ASSIGN_OR_RETURN(const std::string format, Get(j, "format", root, String));
  const auto parsed_format = ParseFormatName(format);
  if (!parsed_format) return Error("$.format", core::Cat("unknown format \"", format, "\""));
  p.format = *parsed_format;
  ASSIGN_OR_RETURN(p.row_count, Get(j, "row_count", root, NonNegative));
  ASSIGN_OR_RETURN(p.bad_row_count, Get(j, "bad_row_count", root, NonNegative));
  ASSIGN_OR_RETURN(const Json* bad, Member(j, "bad_rows", root));
  if (!bad->is_array()) return Error("$.bad_rows", "expected an array");
  for (size_t i = 0; i < bad->size(); ++i) {
    const std::string at = core::Cat("$.bad_rows[", i, "]");
    BadRow b;
    ASSIGN_OR_RETURN(b.line, Get((*bad)[i], "line", at, Int));
    ASSIGN_OR_RETURN(b.reason, Get((*bad)[i], "reason", at, String));
    p.bad_rows.push_back(std::move(b));
  }
  ASSIGN_OR_RETURN(const Json* columns, Member(j, "columns", root));
  if (!columns->is_array()) return Error("$.columns", "expected an array");
  for (size_t i = 0; i < columns->size(); ++i) {
    ASSIGN_OR_RETURN(ColumnProfile c, ReadColumn((*columns)[i], core::Cat("$.columns[", i, "]")));
    p.columns.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(const Json* sample, Member(j, "sample", root));
  ASSIGN_OR_RETURN(p.sample, ReadSample(*sample, "$.sample"));
  return p;
}

}  // namespace ferry::table
