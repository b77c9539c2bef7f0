#include "tracking/run_search.h"

#include <bit>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "table/base64.h"
#include "tracking/run_filter.h"

namespace ferry::tracking {
namespace {

using core::Cat;
using nlohmann::json;
using store::Row;
using store::Transaction;
using store::Value;

constexpr int kTokenFormat = 1;
constexpr size_t kRunColumnCount = 11;  // columns of kRunColumns

// A piece of SQL with its parameters, appended to in order.
struct Sql {
  std::string text;
  std::vector<Value> params;
  void Add(std::string_view more, std::initializer_list<Value> values = {}) {
    text += more;
    params.insert(params.end(), values.begin(), values.end());
  }
  void Append(const Sql& other) {
    text += other.text;
    params.insert(params.end(), other.params.begin(), other.params.end());
  }
};

std::string_view OperatorSql(Comparison op) {
  switch (op) {
    case Comparison::kEq:
      return "=";
    case Comparison::kNe:
      return "<>";
    case Comparison::kLt:
      return "<";
    case Comparison::kLe:
      return "<=";
    case Comparison::kGt:
      return ">";
    case Comparison::kGe:
      return ">=";
    case Comparison::kLike:
    case Comparison::kILike:
      return "LIKE";
  }
  return "=";
}

std::string_view TableOf(EntityKind kind) {
  switch (kind) {
    case EntityKind::kMetric:
      return "latest_metrics";
    case EntityKind::kParam:
      return "params";
    case EntityKind::kTag:
      return "tags";
    case EntityKind::kAttribute:
      return "runs";
  }
  return "runs";
}

Value LiteralValue(const Clause& clause) {
  return std::visit([](const auto& v) { return Value(v); }, clause.literal);
}

// "column op ?", with ILIKE as LOWER() on both sides (portable: SQLite has no ILIKE).
std::string Comparing(std::string_view column, Comparison op) {
  if (op == Comparison::kILike) return Cat("LOWER(", column, ") LIKE LOWER(?)");
  return Cat(column, " ", OperatorSql(op), " ?");
}

// " AND ..." for every clause; user text only ever as parameters.
Sql CompileFilter(const Filter& filter) {
  Sql sql;
  for (const Clause& c : filter.clauses) {
    if (c.entity.kind == EntityKind::kAttribute) {
      sql.Add(Cat(" AND ", Comparing(Cat("r.", AttributeColumn(c.entity.attribute)), c.op)),
              {LiteralValue(c)});
      continue;
    }
    const std::string_view nan_check = c.entity.kind == EntityKind::kMetric ? " AND f.is_nan = 0" : "";
    sql.Add(Cat(" AND EXISTS (SELECT 1 FROM ", TableOf(c.entity.kind),
                " f WHERE f.run_id = r.run_id AND f.key = ?", nan_check, " AND ",
                Comparing("f.value", c.op), ")"),
            {c.entity.key, LiteralValue(c)});
  }
  return sql;
}

// Whether a clause requires the order's key to be present (so no run lacking it can
// match, and the "missing" part of the order can be skipped).
bool FilterRequires(const Filter& filter, const Entity& entity) {
  for (const Clause& c : filter.clauses) {
    if (c.entity == entity) return true;
  }
  return false;
}

struct Cursor {
  int phase = 0;      // 0: runs that have the order's value; 1: runs that lack it
  bool has_position = false;
  Value value;        // phase 0: the last run's order value
  std::string run_id;  // the last run shown
};

std::string ToBase64Url(std::string text) {
  std::string out = table::Base64Encode(text);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> FromBase64Url(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text.push_back('=');
  return table::Base64Decode(text);
}

std::string EncodeToken(const std::string& query_hash, const Cursor& cursor) {
  json value = nullptr;
  if (const auto* d = std::get_if<double>(&cursor.value.variant())) {
    value = {{"d", std::to_string(std::bit_cast<int64_t>(*d))}};  // exact, infinities too
  } else if (const auto* i = std::get_if<int64_t>(&cursor.value.variant())) {
    value = {{"i", *i}};
  } else if (const auto* s = std::get_if<std::string>(&cursor.value.variant())) {
    value = {{"s", *s}};
  }
  json token = {{"f", kTokenFormat}, {"q", query_hash}, {"p", cursor.phase},
                {"id", cursor.run_id}, {"v", value}};
  return ToBase64Url(token.dump());
}

absl::StatusOr<Cursor> DecodeToken(const std::string& text, const std::string& query_hash) {
  const absl::Status bad = absl::InvalidArgumentError("page token is not one this search gave");
  std::optional<std::string> decoded = FromBase64Url(text);
  if (!decoded) return bad;
  json token = json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
  if (!token.is_object() || token.value("f", 0) != kTokenFormat) return bad;
  if (token.value("q", "") != query_hash) {
    return absl::InvalidArgumentError(
        "page token belongs to another search (filter, order or experiments differ)");
  }
  Cursor cursor;
  cursor.has_position = true;
  try {
    cursor.phase = token.at("p").get<int>();
    cursor.run_id = token.at("id").get<std::string>();
    const json& v = token.at("v");
    if (v.contains("d")) {
      cursor.value = std::bit_cast<double>(std::stoll(v.at("d").get<std::string>()));
    } else if (v.contains("i")) {
      cursor.value = v.at("i").get<int64_t>();
    } else if (v.contains("s")) {
      cursor.value = v.at("s").get<std::string>();
    }
  } catch (const std::exception&) {
    return bad;
  }
  if (cursor.phase != 0 && cursor.phase != 1) return bad;
  if (cursor.phase == 1 && cursor.run_id.empty()) cursor.has_position = false;
  return cursor;
}

// The SQL that lists runs in the order, phase by phase.
class PageQuery {
 public:
  PageQuery(const Order& order, Sql where) : order_(order), where_(std::move(where)) {
    const Entity& e = order.entity;
    if (e.kind == EntityKind::kAttribute) {
      sort_ = Cat("r.", AttributeColumn(e.attribute));
      id_ = "r.run_id";
    } else {
      sort_ = "o.value";
      id_ = "o.run_id";
    }
  }

  bool HasMissingPhase() const {
    return order_.entity.kind != EntityKind::kAttribute ||
           AttributeIsNullable(order_.entity.attribute);
  }

  // Runs that have the order's value, after `cursor` when it has a position.
  Sql Present(const Cursor* cursor, int64_t limit) const {
    const Entity& e = order_.entity;
    Sql sql;
    sql.Add(Cat("SELECT ", kRunColumns, ", ", sort_, " FROM "));
    if (e.kind == EntityKind::kAttribute) {
      sql.Add("runs r JOIN experiments e ON e.experiment_id = r.experiment_id WHERE 1 = 1");
      if (AttributeIsNullable(e.attribute)) sql.Add(Cat(" AND ", sort_, " IS NOT NULL"));
    } else {
      sql.Add(Cat(TableOf(e.kind), " o JOIN runs r ON r.run_id = o.run_id JOIN experiments e"
                  " ON e.experiment_id = r.experiment_id WHERE o.key = ?"),
              {e.key});
      if (e.kind == EntityKind::kMetric) sql.Add(" AND o.is_nan = 0");
    }
    sql.Append(where_);
    const std::string_view dir = order_.descending ? "DESC" : "ASC";
    if (cursor != nullptr) {
      const std::string_view cmp = order_.descending ? "<" : ">";
      sql.Add(Cat(" AND ", sort_, " ", cmp, "= ? AND (", sort_, " ", cmp, " ? OR ", id_, " ", cmp,
                  " ?)"),
              {cursor->value, cursor->value, cursor->run_id});
    }
    sql.Add(Cat(" ORDER BY ", sort_, " ", dir, ", ", id_, " ", dir, " LIMIT ?"), {limit});
    return sql;
  }

  // Runs that lack the order's value, by run id, after `after_id` when not empty.
  Sql Missing(const std::string& after_id, int64_t limit) const {
    const Entity& e = order_.entity;
    Sql sql;
    sql.Add(Cat("SELECT ", kRunColumns, ", NULL FROM runs r JOIN experiments e"
                " ON e.experiment_id = r.experiment_id WHERE "));
    if (e.kind == EntityKind::kAttribute) {
      sql.Add(Cat(sort_, " IS NULL"));
    } else {
      sql.Add(Cat("NOT EXISTS (SELECT 1 FROM ", TableOf(e.kind),
                  " o WHERE o.run_id = r.run_id AND o.key = ?",
                  e.kind == EntityKind::kMetric ? " AND o.is_nan = 0" : "", ")"),
              {e.key});
    }
    sql.Append(where_);
    if (!after_id.empty()) sql.Add(" AND r.run_id > ?", {after_id});
    sql.Add(" ORDER BY r.run_id LIMIT ?", {limit});
    return sql;
  }

 private:
  const Order& order_;
  Sql where_;
  std::string sort_;
  std::string id_;
};

absl::StatusOr<std::vector<Row>> RunQuery(Transaction& tx, const Sql& sql) {
  return tx.Query(sql.text, std::span<const Value>(sql.params));
}

// "?, ?, ?": the SQL parameter markers of an IN list of `count` values.
std::string InList(size_t count) {
  std::string markers;
  for (size_t i = 0; i < count; ++i) markers += i == 0 ? "?" : ", ?";
  return markers;
}

// Params, tags and latest metrics of the page's runs, and nothing else.
absl::Status LoadDetails(Transaction& tx, std::vector<tracking::Run>& runs) {
  if (runs.empty()) return absl::OkStatus();
  std::map<std::string, tracking::Run*> by_id;
  std::vector<Value> ids;
  for (tracking::Run& run : runs) {
    by_id[run.info.run_id] = &run;
    ids.push_back(run.info.run_id);
  }
  const std::string markers = InList(ids.size());
  ASSIGN_OR_RETURN(auto params, tx.Query(Cat("SELECT run_id, key, value FROM params WHERE run_id"
                                             " IN (", markers, ") ORDER BY run_id, key"),
                                         ids));
  for (const Row& r : params) by_id[r.Text(0)]->params.push_back({r.Text(1), r.Text(2)});
  ASSIGN_OR_RETURN(auto tags, tx.Query(Cat("SELECT run_id, key, value FROM tags WHERE run_id"
                                           " IN (", markers, ") ORDER BY run_id, key"),
                                       ids));
  for (const Row& r : tags) by_id[r.Text(0)]->tags.push_back({r.Text(1), r.Text(2)});
  ASSIGN_OR_RETURN(auto metrics, tx.Query(Cat("SELECT run_id, key, value, is_nan, step,"
                                              " timestamp FROM latest_metrics WHERE run_id IN (",
                                              markers, ") ORDER BY run_id, key"),
                                          ids));
  for (const Row& r : metrics) {
    by_id[r.Text(0)]->metrics.push_back(
        {r.Text(1), r.Int(3) != 0 ? std::nan("") : r.Double(2), r.Int(4), r.Int(5)});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SearchPage> SearchRuns(const TrackingStore& store, const SearchRequest& request) {
  if (request.max_results < 1 || request.max_results > SearchRequest::kMaxMaxResults) {
    return absl::InvalidArgumentError(Cat("max_results must be 1 to ",
                                          SearchRequest::kMaxMaxResults, ", got ",
                                          request.max_results));
  }
  ASSIGN_OR_RETURN(Filter filter, ParseFilter(request.filter));
  ASSIGN_OR_RETURN(Order order, ParseOrder(request.order_by));
  const int64_t limit = request.max_results;

  SearchPage page;
  RETURN_IF_ERROR(store.workspace().metadata().Read([&](Transaction& tx) -> absl::Status {
    Sql where;
    std::string experiment_ids;
    if (!request.experiments.empty()) {
      for (const std::string& name : request.experiments) {
        ASSIGN_OR_RETURN(auto row, tx.QueryOptional(
                                       "SELECT experiment_id FROM experiments WHERE name = ?",
                                       {name}));
        if (!row) {
          return absl::NotFoundError(
              Cat("no experiment named \"", name, "\"; see `ferry experiments list`"));
        }
        where.params.emplace_back(row->Int(0));
        experiment_ids += Cat(row->Int(0), ",");
      }
      where.text = Cat(" AND r.experiment_id IN (", InList(request.experiments.size()), ")");
    }
    where.Append(CompileFilter(filter));
    const std::string query_hash =
        core::Sha256::Of(Cat(experiment_ids, "\n", request.filter, "\n", request.order_by))
            .ToHex()
            .substr(0, 16);
    Cursor cursor;
    if (!request.page_token.empty()) {
      ASSIGN_OR_RETURN(cursor, DecodeToken(request.page_token, query_hash));
    }
    const PageQuery query(order, where);
    const bool missing_phase = query.HasMissingPhase() && !FilterRequires(filter, order.entity);
    std::vector<Row> rows;
    std::optional<Cursor> next;
    if (cursor.phase == 0) {
      ASSIGN_OR_RETURN(rows, RunQuery(tx, query.Present(cursor.has_position ? &cursor : nullptr,
                                                   limit + 1)));
      if (static_cast<int64_t>(rows.size()) > limit) {
        rows.erase(rows.begin() + limit, rows.end());
        const Row& last = rows.back();
        next = Cursor{0, true, last.at(kRunColumnCount), last.Text(0)};
      } else if (missing_phase) {
        const int64_t room = limit - static_cast<int64_t>(rows.size());
        ASSIGN_OR_RETURN(std::vector<Row> missing, RunQuery(tx, query.Missing("", room + 1)));
        if (static_cast<int64_t>(missing.size()) > room) {
          missing.erase(missing.begin() + room, missing.end());
          next = Cursor{1, room > 0, Value(), room > 0 ? missing.back().Text(0) : ""};
        }
        for (Row& r : missing) rows.push_back(std::move(r));
      }
    } else if (missing_phase) {
      ASSIGN_OR_RETURN(rows, RunQuery(tx, query.Missing(cursor.run_id, limit + 1)));
      if (static_cast<int64_t>(rows.size()) > limit) {
        rows.erase(rows.begin() + limit, rows.end());
        next = Cursor{1, true, Value(), rows.back().Text(0)};
      }
    }
    for (const Row& row : rows) {
      tracking::Run& run = page.runs.emplace_back();
      run.info = RunInfoFromRow(row);
    }
    if (next) page.next_page_token = EncodeToken(query_hash, *next);
    return LoadDetails(tx, page.runs);
  }));
  return page;
}

}  // namespace ferry::tracking
