#include "store/metadata_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/status.h"
#include "store/sqlite_metadata_store.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;

class SqliteMetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteMetadataStore::Open(dir_ / "metadata.db");
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
  std::unique_ptr<SqliteMetadataStore> store_;
};

TEST_F(SqliteMetadataStoreTest, TypedValuesRoundTrip) {
  ASSERT_TRUE(store_
                  ->Write([](Transaction& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.Execute("INSERT INTO items VALUES (?, ?, ?, ?)",
                                               {int64_t{1} << 40, "alpha", 0.25, nullptr})
                                        .status());
                    return tx.Execute("INSERT INTO items VALUES (?, ?, ?, ?)",
                                      {2, std::string("beta\0x", 6), 3, "n"})
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto rows,
                                     tx.Query("SELECT id, name, score, note FROM items ORDER BY id"));
                    EXPECT_EQ(rows.size(), 2u);
                    EXPECT_EQ(rows[0].Int(0), 2);
                    EXPECT_EQ(rows[0].Text(1), std::string("beta\0x", 6));
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

TEST_F(SqliteMetadataStoreTest, FailedCallbackRollsBackEverything) {
  absl::Status status = store_->Write([](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {2, "b"}).status());
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(), 0);
}

TEST_F(SqliteMetadataStoreTest, ConstraintViolationsMapToCodesAndRollBack) {
  ASSERT_TRUE(store_
                  ->Write([](Transaction& tx) {
                    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"})
                        .status();
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

TEST_F(SqliteMetadataStoreTest, BadSqlAndWrongParameterCountAreInvalidArgument) {
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

TEST_F(SqliteMetadataStoreTest, ReadTransactionCannotWrite) {
  absl::Status status = store_->Read([](Transaction& tx) {
    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"}).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_EQ(Count(), 0);
}

TEST_F(SqliteMetadataStoreTest, ReadersSeeOneSnapshotWhileWritersCommit) {
  ASSERT_TRUE(store_
                  ->Write([](Transaction& tx) {
                    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {1, "a"})
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(auto before, tx.Query("SELECT count(*) FROM items"));
                    // A writer on another thread commits while this snapshot is open.
                    std::thread writer([&] {
                      EXPECT_TRUE(store_
                                      ->Write([](Transaction& w) {
                                        return w.Execute(
                                                    "INSERT INTO items (id, name) VALUES (?, ?)",
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

TEST_F(SqliteMetadataStoreTest, ConcurrentWritersLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int id = t * kPerThread + i;
        EXPECT_TRUE(store_
                        ->Write([&](Transaction& tx) {
                          return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)",
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

TEST_F(SqliteMetadataStoreTest, SecondProcessStyleHandleSeesCommittedData) {
  auto other = SqliteMetadataStore::Open(dir_ / "metadata.db");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)
                  ->Write([](Transaction& tx) {
                    return tx.Execute("INSERT INTO items (id, name) VALUES (?, ?)", {7, "x"})
                        .status();
                  })
                  .ok());
  EXPECT_EQ(Count(), 1);
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
