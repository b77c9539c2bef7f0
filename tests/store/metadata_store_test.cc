#include "store/metadata_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <thread>

#include "core/status.h"
#include "core/strings.h"
#include "store/postgres_metadata_store.h"
#include "store/sqlite_metadata_store.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;

// Every test runs on both engines: the embedded SQLite file and a PostgreSQL server
// (a new database per test on the process's shared test server).
class MetadataStoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == Dialect::kPostgresql) url_ = testing::SharedPostgres().NewDatabase();
    auto store = Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ASSERT_TRUE(store_
                    ->Write([](Transaction& tx) {
                      return tx.ExecuteScript(
                          "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                          " score DOUBLE PRECISION, note TEXT);");
                    })
                    .ok());
  }
  void TearDown() override { store_.reset(); }

  // Another handle on the same store, as a second process would open it.
  absl::StatusOr<MetadataStorePtr> Open() {
    if (GetParam() == Dialect::kPostgresql) return PostgresMetadataStore::Open(url_);
    return SqliteMetadataStore::Open(dir_ / "metadata.db");
  }

  int64_t Count() {
    int64_t n = -1;
    EXPECT_TRUE(store_
                    ->Read([&](Transaction& tx) -> absl::Status {
                      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT count(*) FROM items"));
                      n = rows.at(0).Int(0);
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::string url_;
  MetadataStorePtr store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, MetadataStoreTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgresql),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgresql";
                         });

TEST_P(MetadataStoreTest, TypedValuesRoundTrip) {
  ASSERT_TRUE(store_
                  ->Write([](Transaction& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.Execute("INSERT INTO items VALUES (?, ?, ?, ?)",
                                               {int64_t{1} << 40, "alpha", 0.25, nullptr})
                                        .status());
                    return tx.Execute("INSERT INTO items VALUES (?, ?, ?, ?)", {2, "beta", 3, "n"})
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        auto rows, tx.Query("SELECT id, name, score, note FROM items ORDER BY id"));
                    EXPECT_EQ(rows.size(), 2u);
                    EXPECT_EQ(rows[0].Int(0), 2);
                    EXPECT_EQ(rows[0].Text(1), "beta");
                    EXPECT_EQ(rows[0].Double(2), 3.0);
                    EXPECT_EQ(rows[0].OptionalText(3), "n");
                    EXPECT_EQ(rows[1].Int(0), int64_t{1} << 40);
                    EXPECT_EQ(rows[1].Double(2), 0.25);
                    EXPECT_TRUE(rows[1].IsNull(3));
                    EXPECT_EQ(rows[1].OptionalText(3), std::nullopt);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(MetadataStoreTest, FailedCallbackRollsBackEverything) {
  absl::Status status = store_->Write([](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {2, "b"}).status());
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(), 0);
}

TEST_P(MetadataStoreTest, ConstraintViolationsMapToCodesAndRollBack) {
  ASSERT_TRUE(
      store_
          ->Write([](Transaction& tx) {
            return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status();
          })
          .ok());
  absl::Status dup = store_->Write([](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {2, "b"}).status());
    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {3, "a"}).status();
  });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  absl::Status null_name = store_->Write([](Transaction& tx) {
    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {4, nullptr}).status();
  });
  EXPECT_EQ(null_name.code(), absl::StatusCode::kFailedPrecondition) << null_name;
  EXPECT_EQ(Count(), 1);
}

TEST_P(MetadataStoreTest, BadSqlAndWrongParameterCountAreInvalidArgument) {
  struct Case {
    std::string sql;
    std::vector<Value> params;
  };
  const Case cases[] = {
      {"SELEC 1", {}},
      {"SELECT * FROM missing_table", {}},
      {"SELECT ? + ?", {Value(1)}},
      {"SELECT 1; SELECT 2", {}},
  };
  for (const Case& c : cases) {
    absl::Status status = store_->Read([&](Transaction& tx) {
      return tx.Query(c.sql, std::span<const Value>(c.params)).status();
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.sql << ": " << status;
  }
}

TEST_P(MetadataStoreTest, ReadTransactionCannotWrite) {
  absl::Status status = store_->Read([](Transaction& tx) {
    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_EQ(Count(), 0);
}

TEST_P(MetadataStoreTest, ReadersSeeOneSnapshotWhileWritersCommit) {
  ASSERT_TRUE(
      store_
          ->Write([](Transaction& tx) {
            return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status();
          })
          .ok());
  ASSERT_TRUE(store_
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto before, tx.Query("SELECT count(*) FROM items"));
                    // A writer on another thread commits while this snapshot is open.
                    std::thread writer([&] {
                      EXPECT_TRUE(store_
                                      ->Write([](Transaction& w) {
                                        return w
                                            .Execute("INSERT INTO items (id, name) VALUES (?, ?)",
                                                     {2, "b"})
                                            .status();
                                      })
                                      .ok());
                    });
                    writer.join();
                    ASSIGN_OR_RETURN(auto after, tx.Query("SELECT count(*) FROM items"));
                    EXPECT_EQ(before[0].Int(0), after[0].Int(0));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Count(), 2);
}

TEST_P(MetadataStoreTest, ConcurrentWritersLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int id = t * kPerThread + i;
        EXPECT_TRUE(store_
                        ->Write([&](Transaction& tx) {
                          return tx
                              .Execute("INSERT INTO items (id, name) VALUES (?, ?)",
                                       {id, "n" + std::to_string(id)})
                              .status();
                        })
                        .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count(), kThreads * kPerThread);
}

TEST_P(MetadataStoreTest, SecondProcessStyleHandleSeesCommittedData) {
  auto other = Open();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      (*other)
          ->Write([](Transaction& tx) {
            return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {7, "x"}).status();
          })
          .ok());
  EXPECT_EQ(Count(), 1);
}

TEST_P(MetadataStoreTest, NumbersKeepTheirTypesAndValues) {
  const double third = 1.0 / 3.0;
  ASSERT_TRUE(store_
                  ->Write([&](Transaction& tx) -> absl::Status {
                    int64_t id = 1;
                    for (double v : {third, -0.5, 1e308, -1e-300, 0.0}) {
                      RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name, score) VALUES"
                                                 " (?, ?, ?)",
                                                 {id, "n" + std::to_string(id), v})
                                          .status());
                      ++id;
                    }
                    return tx
                        .Execute("INSERT INTO items (id, name) VALUES (?, ?)",
                                 {std::numeric_limits<int64_t>::max(), "max"})
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT score FROM items WHERE id <= 5"
                                                         " ORDER BY id"));
                    EXPECT_EQ(rows.size(), 5u);
                    EXPECT_EQ(rows[0].Double(0), third);  // exactly, not to 15 digits
                    EXPECT_EQ(rows[1].Double(0), -0.5);
                    EXPECT_EQ(rows[2].Double(0), 1e308);
                    EXPECT_EQ(rows[3].Double(0), -1e-300);
                    // Aggregates and comparisons come back as integers on both engines.
                    ASSIGN_OR_RETURN(auto sums, tx.Query("SELECT SUM(id), COUNT(*), MAX(id),"
                                                         " (1 < 2), AVG(id) FROM items"
                                                         " WHERE id <= 5"));
                    EXPECT_EQ(sums[0].Int(0), 15);
                    EXPECT_EQ(sums[0].Int(1), 5);
                    EXPECT_EQ(sums[0].Int(2), 5);
                    EXPECT_EQ(sums[0].Int(3), 1);
                    EXPECT_EQ(sums[0].Double(4), 3.0);
                    ASSIGN_OR_RETURN(auto max,
                                     tx.Query("SELECT id FROM items WHERE name = ?", {"max"}));
                    EXPECT_EQ(max.at(0).Int(0), std::numeric_limits<int64_t>::max());
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(MetadataStoreTest, PlaceholdersInsideQuotesAndCommentsAreText) {
  ASSERT_TRUE(store_
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT '?' || ? -- is it? no\n", {"x"}));
                    EXPECT_EQ(rows.at(0).Text(0), "?x");
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(MetadataStoreTest, ReadDecideWriteInsideOneWriteIsSerialised) {
  // Ids chosen as MAX(id)+1 inside the transaction, as callers do: writers on several
  // handles (processes) at once must never pick the same one.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<MetadataStorePtr> handles;
  for (int t = 0; t < kThreads; ++t) {
    auto handle = Open();
    ASSERT_TRUE(handle.ok()) << handle.status();
    handles.push_back(std::move(*handle));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status status = handles[t]->Write([&](Transaction& tx) -> absl::Status {
          ASSIGN_OR_RETURN(auto next, tx.Query("SELECT COALESCE(MAX(id), 0) + 1 FROM items"));
          const int64_t id = next.at(0).Int(0);
          return tx
              .Execute("INSERT INTO items (id, name) VALUES (?, ?)", {id, "n" + std::to_string(id)})
              .status();
        });
        EXPECT_TRUE(status.ok()) << status;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count(), kThreads * kPerThread);
}

TEST_P(MetadataStoreTest, IgnoredFailureInsideAWrite) {
  // SQLite goes on after a failed statement; PostgreSQL's transaction is then void, and
  // the store says so rather than reporting a commit that did not happen.
  absl::Status status = store_->Write([](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status());
    tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "b"}).IgnoreError();
    return absl::OkStatus();
  });
  if (GetParam() == Dialect::kSqlite) {
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(Count(), 1);
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
    EXPECT_EQ(Count(), 0);
  }
}

TEST_P(MetadataStoreTest, TextWithNulByte) {
  // SQLite keeps the byte; PostgreSQL's text cannot hold it, and says so.
  absl::Status status = store_->Write([](Transaction& tx) {
    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, std::string("a\0b", 3)})
        .status();
  });
  if (GetParam() == Dialect::kSqlite) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(Count(), 0);
  }
}

TEST(PostgresMetadataStoreOpenTest, BadUrlsUnreachableServersAndMissingDatabasesAreClear) {
  testing::PostgresServer& server = testing::SharedPostgres();
  auto not_url = PostgresMetadataStore::Open("mysql://x/y");
  EXPECT_EQ(not_url.status().code(), absl::StatusCode::kInvalidArgument) << not_url.status();
  auto unparsable = PostgresMetadataStore::Open("postgresql://a:b:c@/?nonsense=1");
  EXPECT_EQ(unparsable.status().code(), absl::StatusCode::kInvalidArgument) << unparsable.status();
  const auto start = std::chrono::steady_clock::now();
  auto down = PostgresMetadataStore::Open(
      core::Cat("postgresql://ferry@127.0.0.1:", testing::FreeLoopbackPort(), "/x"));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
  auto missing = PostgresMetadataStore::Open(server.Url("no_such_database"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("no_such_database"));
}

TEST(PostgresMetadataStoreOpenTest, PasswordIsNeverShown) {
  EXPECT_EQ(DescribePostgresUrl("postgresql://me:secret@db.internal:6543/ferry?sslmode=require"),
            "postgresql://me@db.internal:6543/ferry");
  auto store = PostgresMetadataStore::Open(
      core::Cat("postgresql://me:secret@127.0.0.1:", testing::FreeLoopbackPort(), "/ferry"));
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::Not(::testing::HasSubstr("secret")));
}

TEST(PostgresMetadataStoreOpenTest, NonBytewiseCollationIsRefused) {
  testing::PostgresServer& server = testing::SharedPostgres();
  // A language's order: from ICU (Debian's server is built with it), else glibc.
  if (!server.Exec("postgres",
                   "CREATE DATABASE collated TEMPLATE template0"
                   " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'") &&
      !server.Exec("postgres",
                   "CREATE DATABASE collated TEMPLATE template0"
                   " LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'")) {
    GTEST_SKIP() << "this server can create no database with a language's collation";
  }
  auto store = PostgresMetadataStore::Open(server.Url("collated"));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("LC_COLLATE 'C'"));
}

TEST(PostgresMetadataStoreOpenTest, ServerRestartIsSurvivedByTheNextTransaction) {
  testing::TempDir temp;
  testing::PostgresServer server(temp.path() / "pg");
  ASSERT_TRUE(server.Start()) << server.error();
  const std::string url = server.NewDatabase();
  auto store = PostgresMetadataStore::Open(url);
  ASSERT_TRUE(store.ok()) << store.status();
  auto write = [&](int id) {
    return (*store)->Write([id](Transaction& tx) -> absl::Status {
      if (id == 1) RETURN_IF_ERROR(tx.ExecuteScript("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
      return tx.Execute("INSERT INTO t (id) VALUES (?)", {id}).status();
    });
  };
  ASSERT_TRUE(write(1).ok());
  server.Stop();
  absl::Status while_down = write(2);
  EXPECT_EQ(while_down.code(), absl::StatusCode::kUnavailable) << while_down;
  ASSERT_TRUE(server.Start()) << server.error();
  // The pooled connection is dead; the store notices and connects again.
  EXPECT_TRUE(write(3).ok());
  int64_t count = 0;
  ASSERT_TRUE((*store)
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM t"));
                    count = rows.at(0).Int(0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(count, 2);  // 1 and 3; 2 was refused, not half-written
}

TEST(SqliteMetadataStoreOpenTest, NotADatabaseIsDataLoss) {
  testing::TempDir temp;
  const fs::path& dir = temp.path();
  {
    std::FILE* f = std::fopen((dir / "metadata.db").c_str(), "wb");
    std::string garbage(8192, 'z');
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  auto store = SqliteMetadataStore::Open(dir / "metadata.db");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  auto missing = SqliteMetadataStore::Open(dir / "no" / "metadata.db");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
}

}  // namespace
}  // namespace ferry::store
