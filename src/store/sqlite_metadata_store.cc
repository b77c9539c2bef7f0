#include "store/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {
namespace {

constexpr size_t kMaxCachedStatements = 256;

// Lets the statement cache be searched by string_view without building a string.
struct SqlHash {
  using is_transparent = void;
  size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
};

absl::Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message =
      core::Cat("metadata store: ", context, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(message);
      }
      return absl::FailedPreconditionError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(message);
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

// One sqlite3 handle with its statement cache. Used by one thread at a time.
class SqliteConnection final : public Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(
      const std::filesystem::path& path, bool read_only, int busy_timeout_ms) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY
                                                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto connection = std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
    if (rc != SQLITE_OK) return SqliteError(db, rc, core::Cat("open ", path.string()));
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    // LIKE is case-sensitive, as the SQL standard and PostgreSQL have it (SQLite's
    // default folds ASCII case), so a LIKE means the same on both engines.
    if (!read_only) {
      // WAL must be set by a writer; readers inherit it from the file.
      RETURN_IF_ERROR(connection->ExecuteScript(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
          " PRAGMA case_sensitive_like=ON;"));
    } else {
      RETURN_IF_ERROR(connection->ExecuteScript("PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON;"));
    }
    return connection;
  }

  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::StatusOr<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Fail(stmt, rc, sql);
    }
    sqlite3_reset(stmt);
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  absl::StatusOr<std::vector<Row>> Query(std::string_view sql,
                                         std::span<const Value> params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    std::vector<Row> rows;
    const int columns = sqlite3_column_count(stmt);
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Fail(stmt, rc, sql);
      std::vector<Value> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) values.push_back(ColumnValue(stmt, c));
      rows.emplace_back(std::move(values));
    }
    sqlite3_reset(stmt);
    return rows;
  }

  absl::Status ExecuteScript(std::string_view sql) override {
    std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return SqliteError(db_, rc, message);
    }
    return absl::OkStatus();
  }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  absl::StatusOr<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const Value> params) {
    sqlite3_stmt* stmt = nullptr;
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      stmt = it->second;
    } else {
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, core::Cat("prepare \"", sql, "\""));
      if (stmt == nullptr) return absl::InvalidArgumentError("metadata store: empty statement");
      if (tail != nullptr && tail != sql.data() + sql.size() &&
          std::string_view(tail, sql.data() + sql.size() - tail).find_first_not_of(" \t\r\n;") !=
              std::string_view::npos) {
        sqlite3_finalize(stmt);
        return absl::InvalidArgumentError(
            core::Cat("metadata store: one statement expected in \"", sql, "\""));
      }
      if (statements_.size() >= kMaxCachedStatements) ClearCache();
      statements_.emplace(std::string(sql), stmt);
    }
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size())) {
      return absl::InvalidArgumentError(core::Cat("metadata store: \"", sql, "\" takes ", expected,
                                                  " parameters, got ", params.size()));
    }
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return sqlite3_bind_null(stmt, index);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              return sqlite3_bind_int64(stmt, index, v);
            } else if constexpr (std::is_same_v<T, double>) {
              return sqlite3_bind_double(stmt, index, v);
            } else {
              return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC,
                                         SQLITE_UTF8);
            }
          },
          params[i].variant());
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
    }
    return stmt;
  }

  absl::Status Fail(sqlite3_stmt* stmt, int rc, std::string_view sql) {
    absl::Status status = SqliteError(db_, rc, core::Cat("\"", sql, "\""));
    sqlite3_reset(stmt);
    return status;
  }

  static Value ColumnValue(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER:
        return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
      case SQLITE_FLOAT:
        return Value(sqlite3_column_double(stmt, c));
      case SQLITE_NULL:
        return Value();
      default: {  // TEXT (and BLOB, which ferry's schema does not use)
        const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        int size = sqlite3_column_bytes(stmt, c);
        return Value(std::string(data != nullptr ? data : "", static_cast<size_t>(size)));
      }
    }
  }

  void ClearCache() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

SqliteMetadataStore::SqliteMetadataStore(std::filesystem::path path, Options options,
                                         std::unique_ptr<SqliteConnection> writer)
    : path_(std::move(path)), options_(options), writer_(std::move(writer)) {}

SqliteMetadataStore::~SqliteMetadataStore() = default;

absl::StatusOr<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(
    const std::filesystem::path& path, const Options& options) {
  std::error_code ec;
  std::filesystem::path dir = path.parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(core::Cat("metadata store: folder ", dir.string(), " does not exist"));
  }
  ASSIGN_OR_RETURN(auto writer, SqliteConnection::Open(path, /*read_only=*/false,
                                                       options.busy_timeout_ms));
  // Touch the schema so a file that is not a database fails here, not later.
  RETURN_IF_ERROR(writer->Query("SELECT count(*) FROM sqlite_master", {}).status());
  return std::unique_ptr<SqliteMetadataStore>(
      new SqliteMetadataStore(path, options, std::move(writer)));
}

absl::Status SqliteMetadataStore::WriteTransaction(const TransactionFn& fn) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  RETURN_IF_ERROR(writer_->ExecuteScript("BEGIN IMMEDIATE"));
  absl::Status status = fn(*writer_);
  if (status.ok()) {
    status = writer_->ExecuteScript("COMMIT");
    if (status.ok()) return status;
  }
  // A failed COMMIT leaves the transaction open; either way, roll it back.
  if (!sqlite3_get_autocommit(writer_->db())) {
    writer_->ExecuteScript("ROLLBACK").IgnoreError();
  }
  return status;
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteMetadataStore::TakeReader() {
  {
    std::lock_guard<std::mutex> lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return SqliteConnection::Open(path_, /*read_only=*/true, options_.busy_timeout_ms);
}

void SqliteMetadataStore::ReturnReader(std::unique_ptr<SqliteConnection> reader) {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(reader));
}

absl::Status SqliteMetadataStore::Read(const TransactionFn& fn) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> reader, TakeReader());
  RETURN_IF_ERROR(reader->ExecuteScript("BEGIN"));
  absl::Status status = fn(*reader);
  absl::Status end = reader->ExecuteScript(status.ok() ? "COMMIT" : "ROLLBACK");
  if (status.ok()) status = end;
  if (end.ok()) ReturnReader(std::move(reader));
  return status;
}

absl::Status SqliteMetadataStore::CheckIntegrity() {
  std::string problems;
  RETURN_IF_ERROR(Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("PRAGMA integrity_check(20)", {}));
    for (const Row& row : rows) {
      if (row.Text(0) != "ok") problems += (problems.empty() ? "" : "; ") + row.Text(0);
    }
    return absl::OkStatus();
  }));
  if (!problems.empty()) {
    return absl::DataLossError(core::Cat("metadata store ", path_.string(), " is damaged: ", problems));
  }
  return absl::OkStatus();
}

}  // namespace ferry::store
