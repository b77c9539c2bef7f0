#pragma once

// PostgresMetadataStore: the MetadataStore on a PostgreSQL server (libpq), for
// several ferry servers sharing one workspace. Chosen by `metadata: postgresql://...`
// in the workspace config.
//
// Semantics kept equal to the embedded store, so callers cannot tell them apart:
// - Writers are serialised across every process on the database: a write
//   transaction first takes a transaction-scoped advisory lock (released by COMMIT or
//   ROLLBACK), so "read, decide, write" inside one Write() is as safe as with SQLite's
//   single writer (callers choose ids with MAX(n)+1, check-then-insert, ...).
// - A Read() runs in a READ ONLY, REPEATABLE READ transaction: one snapshot; writing
//   in it fails with PermissionDenied.
// - `?` placeholders are rewritten to `$n`; statements are prepared once per
//   connection; integers travel as int8, doubles as float8 (NaN and infinities too),
//   text as text. Result columns come back as the embedded store's types: integer
//   types, booleans and integral NUMERICs (SUM of integers) as integers, floating
//   types and other NUMERICs as doubles, everything else as text.
// - The database must compare text bytewise (LC_COLLATE "C"), as SQLite does, or
//   orderings would differ between the engines: Open refuses another collation and
//   says how to create the database.
//
// The connection string is libpq's (postgresql://USER@HOST:PORT/DB?OPTIONS); the
// password comes from PGPASSWORD or a pgpass file, never from ferry's config, and is
// never printed: errors name the server as Describe() shows it.
//
// Thread-safety: safe from any number of threads. Connections come from a pool, one
// per concurrent transaction; a connection found broken is dropped, not reused.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/metadata_store.h"

namespace ferry::store {

class PostgresConnection;

class PostgresMetadataStore final : public MetadataStore {
 public:
  struct Options {
    int connect_timeout_s = 5;
    // Bounds each statement, so a wedged server cannot hang a request forever.
    int statement_timeout_ms = 30'000;
    size_t max_idle_connections = 8;
  };

  // Connects to `url` (postgresql:// or postgres://). Errors: InvalidArgument for a
  // malformed URL, Unavailable when the server cannot be reached, PermissionDenied
  // when it refuses the login, NotFound when the database does not exist,
  // FailedPrecondition when the database's collation is not "C".
  static absl::StatusOr<std::unique_ptr<PostgresMetadataStore>> Open(std::string_view url,
                                                                     const Options& options);
  static absl::StatusOr<std::unique_ptr<PostgresMetadataStore>> Open(std::string_view url) {
    return Open(url, Options{});
  }
  ~PostgresMetadataStore() override;

  Dialect dialect() const override { return Dialect::kPostgresql; }
  absl::Status Read(const TransactionFn& fn) override;
  // Checks the B-tree indexes of ferry's tables with the amcheck extension when the
  // database has it; without it PostgreSQL's own checks (data checksums) are all there
  // is, and only reachability is verified.
  absl::Status CheckIntegrity() override;

  // The server as safe to print: postgresql://USER@HOST:PORT/DB, no password.
  const std::string& description() const { return description_; }

 protected:
  absl::Status WriteTransaction(const TransactionFn& fn) override;

 private:
  PostgresMetadataStore(std::string url, std::string description, Options options);
  absl::StatusOr<std::unique_ptr<PostgresConnection>> Take();
  void Return(std::unique_ptr<PostgresConnection> connection);
  absl::Status Run(bool write, const TransactionFn& fn);

  const std::string url_;
  const std::string description_;
  const Options options_;

  std::mutex idle_mutex_;
  std::vector<std::unique_ptr<PostgresConnection>> idle_;  // guarded by idle_mutex_
};

// True for the URL forms PostgresMetadataStore opens.
bool IsPostgresUrl(std::string_view url);

// `url` without its password, for messages and logs.
std::string DescribePostgresUrl(std::string_view url);

// A libpq message (PQerrorMessage, PQresultErrorMessage) without the line end libpq puts
// after it, ready to go inside a status message.
std::string TrimPostgresMessage(std::string message);

}  // namespace ferry::store
