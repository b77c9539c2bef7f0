#pragma once

// SqliteMetadataStore: the embedded MetadataStore, one SQLite file in WAL mode.
//
// Durability: synchronous=FULL, so a committed transaction survives power loss;
// WAL keeps readers off the writer's back. Writers take the write lock up front
// (BEGIN IMMEDIATE) so two writers never deadlock upgrading a read lock; a writer
// of another process is waited for up to `busy_timeout_ms`.
//
// Thread-safety: safe from any number of threads. One write connection, guarded by
// `write_mutex_`; read connections come from a small pool, one per concurrent
// reader, each used by one thread at a time. Prepared statements are cached per
// connection.

#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "store/metadata_store.h"

namespace ferry::store {

class SqliteConnection;

class SqliteMetadataStore final : public MetadataStore {
 public:
  struct Options {
    int busy_timeout_ms = 5'000;
    size_t max_idle_readers = 8;
  };

  // Opens (creating if missing) the database at `path`. Errors: NotFound if the
  // folder does not exist, PermissionDenied if it is not writable, DataLoss if the
  // file is not a SQLite database or is corrupt.
  static absl::StatusOr<std::unique_ptr<SqliteMetadataStore>> Open(
      const std::filesystem::path& path, const Options& options);
  static absl::StatusOr<std::unique_ptr<SqliteMetadataStore>> Open(
      const std::filesystem::path& path) {
    return Open(path, Options{});
  }
  ~SqliteMetadataStore() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  absl::Status Read(const TransactionFn& fn) override;
  absl::Status CheckIntegrity() override;

 protected:
  absl::Status WriteTransaction(const TransactionFn& fn) override;

 private:
  SqliteMetadataStore(std::filesystem::path path, Options options,
                      std::unique_ptr<SqliteConnection> writer);
  absl::StatusOr<std::unique_ptr<SqliteConnection>> TakeReader();
  void ReturnReader(std::unique_ptr<SqliteConnection> reader);

  const std::filesystem::path path_;
  const Options options_;

  std::mutex write_mutex_;
  std::unique_ptr<SqliteConnection> writer_;  // guarded by write_mutex_

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;  // guarded by readers_mutex_
};

}  // namespace ferry::store
