#include "store/postgres_metadata_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

constexpr size_t kMaxCachedStatements = 256;

// The key of the transaction-scoped advisory lock every write transaction takes
// ("ferry" in ASCII). Other advisory keys of ferry (leadership) differ from it.
constexpr int64_t kWriteLockKey = 0x6665727279;

// Type OIDs of the built-in types (pg_type.h; fixed since PostgreSQL 7).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// Maps a failed result (or a connection without one) to a status, by SQLSTATE class.
absl::Status PostgresError(PGconn* conn, const PGresult* result, std::string_view context) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string detail = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  detail = TrimPostgresMessage(std::move(detail));
  std::string message = core::Cat("metadata store: ", context, ": ", detail);
  const std::string_view code = state != nullptr ? state : "";
  if (code.empty()) {
    // No SQLSTATE: the connection itself failed.
    return absl::UnavailableError(message);
  }
  if (code == "23505") return absl::AlreadyExistsError(message);
  if (code == "25006") return absl::PermissionDeniedError(message);  // read-only transaction
  if (code == "3D000") return absl::NotFoundError(message);          // no such database
  if (code == "25P02") {
    return absl::InternalError(core::Cat(message, " (a statement ran after a failed one)"));
  }
  const std::string_view cls = code.substr(0, 2);
  if (cls == "23") return absl::FailedPreconditionError(message);  // other constraints
  if (cls == "08" || cls == "57" || cls == "40" || cls == "55") {
    // Connection, operator intervention (shutdown, statement timeout), rollbacks
    // (serialization, deadlock) and lock timeouts: try again later.
    return absl::UnavailableError(message);
  }
  if (cls == "28" || code == "42501") return absl::PermissionDeniedError(message);
  if (cls == "53") return absl::ResourceExhaustedError(message);
  if (cls == "XX" && (code == "XX001" || code == "XX002")) return absl::DataLossError(message);
  if (cls == "42" || cls == "22" || cls == "0A") return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

// Rewrites `?` placeholders to `$1, $2, ...`, leaving quoted strings, quoted
// identifiers and comments alone. Returns the number of placeholders in `count`.
std::string NumberPlaceholders(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  count = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t end = sql.find(c, i + 1);  // a doubled quote is two adjacent literals
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++count);
    } else {
      out += c;
    }
  }
  return out;
}

char TypeCode(const Value& value) {
  switch (value.variant().index()) {
    case 1:
      return 'i';
    case 2:
      return 'd';
    case 3:
      return 't';
    default:
      return 'n';
  }
}

Oid TypeOid(char code) {
  switch (code) {
    case 'i':
      return kInt8Oid;
    case 'd':
      return kFloat8Oid;
    case 't':
      return kTextOid;
    default:
      return 0;  // NULL: let the server infer the type from where it goes
  }
}

// A double as PostgreSQL's float8 input reads it back exactly.
std::string DoubleText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // shortest text that round-trips
}

absl::StatusOr<Value> ColumnValue(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) return Value();
  const char* text = PQgetvalue(result, row, column);
  const std::string_view view(text, static_cast<size_t>(PQgetlength(result, row, column)));
  switch (PQftype(result, column)) {
    case kBoolOid:
      return Value(static_cast<int64_t>(view == "t" ? 1 : 0));
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
    case kNumericOid: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), v);
      if (ec == std::errc() && end == view.data() + view.size()) return Value(v);
      if (PQftype(result, column) != kNumericOid) {
        return absl::InternalError(
            core::Cat("metadata store: integer column reads \"", view, "\""));
      }
      [[fallthrough]];  // a NUMERIC with a fraction (AVG) or out of int64's range
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double v = 0;
      auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), v);
      if (ec != std::errc() || end != view.data() + view.size()) {
        return absl::InternalError(core::Cat("metadata store: number column reads \"", view, "\""));
      }
      return Value(v);
    }
    default:
      return Value(std::string(view));
  }
}

bool IsCollationBytewise(std::string_view collation) {
  return collation == "C" || collation == "POSIX" || collation == "C.UTF-8" ||
         collation == "C.utf8";
}

}  // namespace

std::string TrimPostgresMessage(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string DescribePostgresUrl(std::string_view url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "postgresql://(unparsable)";
  }
  std::string user, host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "user") user = o->val;
    if (key == "host" || (key == "hostaddr" && host.empty())) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  return core::Cat("postgresql://", user.empty() ? "" : user + "@", host, port.empty() ? "" : ":",
                   port, "/", dbname);
}

// One libpq connection with its prepared statements. Used by one thread at a time.
class PostgresConnection final : public Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresConnection>> Open(
      const std::string& url, const std::string& description,
      const PostgresMetadataStore::Options& options) {
    const std::string timeout = std::to_string(options.connect_timeout_s);
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {url.c_str(), timeout.c_str(), "ferry", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    auto connection = std::unique_ptr<PostgresConnection>(new PostgresConnection(conn));
    if (conn == nullptr) return absl::ResourceExhaustedError("metadata store: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string detail = PQerrorMessage(conn);
      detail = TrimPostgresMessage(std::move(detail));
      const std::string message =
          core::Cat("metadata store: cannot connect to ", description, ": ", detail);
      if (detail.find("does not exist") != std::string::npos) return absl::NotFoundError(message);
      if (detail.find("authentication") != std::string::npos ||
          detail.find("password") != std::string::npos) {
        return absl::PermissionDeniedError(message);
      }
      return absl::UnavailableError(message);
    }
    RETURN_IF_ERROR(connection->ExecuteScript(core::Cat(
        "SET client_encoding = 'UTF8'; SET statement_timeout = ", options.statement_timeout_ms,
        "; SET client_min_messages = warning")));
    return connection;
  }

  ~PostgresConnection() override { PQfinish(conn_); }

  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  bool failed() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }

  Dialect dialect() const override { return Dialect::kPostgresql; }

  absl::StatusOr<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    ASSIGN_OR_RETURN(ResultPtr result, Run(sql, params));
    const char* tuples = PQcmdTuples(result.get());
    int64_t changed = 0;
    if (tuples != nullptr && *tuples != '\0') {
      std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), changed);
    }
    return changed;
  }

  absl::StatusOr<std::vector<Row>> Query(std::string_view sql,
                                         std::span<const Value> params) override {
    ASSIGN_OR_RETURN(ResultPtr result, Run(sql, params));
    const int rows = PQntuples(result.get());
    const int columns = PQnfields(result.get());
    std::vector<Row> out;
    out.reserve(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        ASSIGN_OR_RETURN(Value v, ColumnValue(result.get(), r, c));
        values.push_back(std::move(v));
      }
      out.emplace_back(std::move(values));
    }
    return out;
  }

  absl::Status ExecuteScript(std::string_view sql) override {
    ResultPtr result(PQexec(conn_, std::string(sql).c_str()));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return PostgresError(conn_, result.get(), Shorten(sql));
    }
    return absl::OkStatus();
  }

 private:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}

  static std::string Shorten(std::string_view sql) {
    constexpr size_t kMax = 200;
    return core::Cat("\"", sql.substr(0, kMax), sql.size() > kMax ? "...\"" : "\"");
  }

  // Prepares `sql` for these parameter types once per connection, then runs it.
  absl::StatusOr<ResultPtr> Run(std::string_view sql, std::span<const Value> params) {
    std::string key(sql);
    key += '\x1f';
    for (const Value& p : params) key += TypeCode(p);
    auto it = statements_.find(key);
    if (it == statements_.end()) {
      int count = 0;
      const std::string numbered = NumberPlaceholders(sql, count);
      if (count != static_cast<int>(params.size())) {
        return absl::InvalidArgumentError(core::Cat("metadata store: \"", sql, "\" takes ", count,
                                                    " parameters, got ", params.size()));
      }
      if (statements_.size() >= kMaxCachedStatements) {
        RETURN_IF_ERROR(ExecuteScript("DEALLOCATE ALL"));
        statements_.clear();
      }
      std::vector<Oid> types;
      types.reserve(params.size());
      for (const Value& p : params) types.push_back(TypeOid(TypeCode(p)));
      std::string name = core::Cat("f", ++prepared_);
      ResultPtr prepared(PQprepare(conn_, name.c_str(), numbered.c_str(), count,
                                   types.empty() ? nullptr : types.data()));
      if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        return PostgresError(conn_, prepared.get(), core::Cat("prepare ", Shorten(sql)));
      }
      it = statements_.emplace(std::move(key), std::move(name)).first;
    }
    // Text parameters point into `params`; numbers are formatted into `texts`.
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value::Variant& v = params[i].variant();
      if (const auto* n = std::get_if<int64_t>(&v)) {
        texts[i] = std::to_string(*n);
        values[i] = texts[i].c_str();
      } else if (const auto* d = std::get_if<double>(&v)) {
        texts[i] = DoubleText(*d);
        values[i] = texts[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (s->find('\0') != std::string::npos) {
          return absl::InvalidArgumentError("metadata store: text with a NUL byte");
        }
        values[i] = s->c_str();
      }
    }
    ResultPtr result(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                    values.empty() ? nullptr : values.data(), nullptr, nullptr,
                                    /*resultFormat=*/0));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return PostgresError(conn_, result.get(), Shorten(sql));
    }
    return result;
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string> statements_;  // sql + types -> name
  int64_t prepared_ = 0;
};

PostgresMetadataStore::PostgresMetadataStore(std::string url, std::string description,
                                             Options options)
    : url_(std::move(url)), description_(std::move(description)), options_(options) {}

PostgresMetadataStore::~PostgresMetadataStore() = default;

absl::StatusOr<std::unique_ptr<PostgresMetadataStore>> PostgresMetadataStore::Open(
    std::string_view url, const Options& options) {
  if (!IsPostgresUrl(url)) {
    return absl::InvalidArgumentError(
        core::Cat("metadata store: \"", DescribePostgresUrl(url), "\" is not a postgresql:// URL"));
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(url).c_str(), &error);
  if (parsed == nullptr) {
    std::string detail = error != nullptr ? error : "unparsable";
    PQfreemem(error);
    detail = TrimPostgresMessage(std::move(detail));
    return absl::InvalidArgumentError(core::Cat("metadata store: bad PostgreSQL URL: ", detail));
  }
  PQconninfoFree(parsed);
  auto store = std::unique_ptr<PostgresMetadataStore>(
      new PostgresMetadataStore(std::string(url), DescribePostgresUrl(url), options));
  // Connect now, so a wrong URL fails here, and check the collation once.
  // PostgreSQL 15 added ICU as a database's collation provider ('i'); to_jsonb reads the
  // column where it exists and gives NULL on older servers.
  std::string collation;
  std::optional<std::string> provider;
  RETURN_IF_ERROR(store->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT datcollate, to_jsonb(d) ->> 'datlocprovider',"
                                         " to_jsonb(d) ->> 'daticulocale' FROM pg_database d"
                                         " WHERE datname = current_database()"));
    if (!rows.empty()) {
      collation = rows.front().Text(0);
      provider = rows.front().OptionalText(1);
      if (provider == "i") collation = rows.front().OptionalText(2).value_or("icu");
    }
    return absl::OkStatus();
  }));
  if (provider == "i" || !IsCollationBytewise(collation)) {
    return absl::FailedPreconditionError(core::Cat(
        "metadata store: database of ", store->description_, " sorts text by collation \"",
        collation, "\"; ferry needs bytewise order: CREATE DATABASE ... TEMPLATE template0",
        " LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'"));
  }
  return store;
}

absl::StatusOr<std::unique_ptr<PostgresConnection>> PostgresMetadataStore::Take() {
  {
    std::lock_guard<std::mutex> lock(idle_mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return PostgresConnection::Open(url_, description_, options_);
}

void PostgresMetadataStore::Return(std::unique_ptr<PostgresConnection> connection) {
  if (connection->broken() || connection->in_transaction()) return;  // closed, not reused
  std::lock_guard<std::mutex> lock(idle_mutex_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
}

absl::Status PostgresMetadataStore::Run(bool write, const TransactionFn& fn) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresConnection> connection, Take());
  if (connection->broken()) {
    // An idle connection the server closed meanwhile (restart, idle timeout): one new try.
    ASSIGN_OR_RETURN(connection, PostgresConnection::Open(url_, description_, options_));
  }
  const std::string begin_sql =
      write ? core::Cat("BEGIN; SELECT pg_advisory_xact_lock(", kWriteLockKey, ")")
            : std::string("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  absl::Status begin = connection->ExecuteScript(begin_sql);
  if (!begin.ok() && connection->broken()) {
    // The pooled connection died between uses: retry once on a fresh one.
    ASSIGN_OR_RETURN(connection, PostgresConnection::Open(url_, description_, options_));
    begin = connection->ExecuteScript(begin_sql);
  }
  if (!begin.ok()) {
    if (connection->in_transaction()) connection->ExecuteScript("ROLLBACK").IgnoreError();
    return begin;
  }
  absl::Status status = fn(*connection);
  if (status.ok() && connection->failed()) {
    // fn went on after a failed statement (ignoring its error): PostgreSQL would answer
    // the COMMIT with a silent rollback, so say that nothing was stored.
    status = absl::InternalError(
        "metadata store: a statement of this transaction failed; nothing was committed");
  }
  if (status.ok()) status = connection->ExecuteScript("COMMIT");
  if (connection->in_transaction()) connection->ExecuteScript("ROLLBACK").IgnoreError();
  Return(std::move(connection));
  return status;
}

absl::Status PostgresMetadataStore::WriteTransaction(const TransactionFn& fn) {
  return Run(true, fn);
}

absl::Status PostgresMetadataStore::Read(const TransactionFn& fn) { return Run(false, fn); }

absl::Status PostgresMetadataStore::CheckIntegrity() {
  std::string problems;
  RETURN_IF_ERROR(Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto has, tx.Query("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'"));
    if (has.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto indexes,
                     tx.Query("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid ="
                              " i.indexrelid JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n"
                              " ON n.oid = c.relnamespace WHERE a.amname = 'btree' AND"
                              " n.nspname = current_schema() ORDER BY c.relname"));
    for (const Row& index : indexes) {
      absl::Status checked =
          tx.Query(
                "SELECT bt_index_check(c.oid) FROM pg_class c JOIN pg_namespace n ON"
                " n.oid = c.relnamespace WHERE c.relname = ? AND n.nspname = current_schema()",
                {index.Text(0)})
              .status();
      if (checked.code() == absl::StatusCode::kPermissionDenied) {
        break;  // amcheck is there but this role may not run it: nothing checked, nothing wrong
      }
      if (!checked.ok()) {
        problems += core::Cat(problems.empty() ? "" : "; ", index.Text(0), ": ", checked.message());
        break;  // the transaction is aborted after a failure
      }
    }
    return absl::OkStatus();
  }));
  if (!problems.empty()) {
    return absl::DataLossError(
        core::Cat("metadata store ", description_, " is damaged: ", problems));
  }
  return absl::OkStatus();
}

}  // namespace ferry::store
