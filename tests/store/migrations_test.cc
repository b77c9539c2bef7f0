#include "store/migrations.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/status.h"
#include "store/postgres_metadata_store.h"
#include "store/sqlite_metadata_store.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;

constexpr Migration kV1[] = {
    {1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT);"},
};
constexpr Migration kV2[] = {
    {1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT);"},
    {2, "create b and index", "CREATE TABLE b (id BIGINT PRIMARY KEY); CREATE INDEX a_v ON a (v);"},
};

// On both engines: SQLite and a new database on the test PostgreSQL server.
class MigrationsTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == Dialect::kPostgresql) {
      store_ =
          std::move(PostgresMetadataStore::Open(testing::SharedPostgres().NewDatabase())).value();
    } else {
      store_ = std::move(SqliteMetadataStore::Open(dir_ / "m.db")).value();
    }
  }
  void TearDown() override { store_.reset(); }
  std::string SchemaDump() {
    std::string dump;
    EXPECT_TRUE(store_
                    ->Read([&](Transaction& tx) -> absl::Status {
                      ASSIGN_OR_RETURN(
                          auto rows,
                          tx.Query(GetParam() == Dialect::kSqlite
                                       ? "SELECT name FROM sqlite_master ORDER BY name"
                                       : "SELECT tablename FROM pg_tables WHERE schemaname ="
                                         " current_schema() UNION SELECT indexname FROM pg_indexes"
                                         " WHERE schemaname = current_schema() ORDER BY 1"));
                      for (const Row& r : rows) dump += r.Text(0) + ";";
                      ASSIGN_OR_RETURN(auto applied,
                                       tx.Query("SELECT component, version, applied_at FROM"
                                                " schema_migrations ORDER BY component, version"));
                      for (const Row& r : applied) {
                        dump += r.Text(0) + "/" + std::to_string(r.Int(1)) + "@" +
                                std::to_string(r.Int(2)) + ";";
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    return dump;
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  MetadataStorePtr store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, MigrationsTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgresql),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgresql";
                         });

TEST_P(MigrationsTest, RunningTwiceChangesNothing) {
  auto first = ApplyMigrations(*store_, "t", kV2, 100);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 2);
  std::string before = SchemaDump();
  auto second = ApplyMigrations(*store_, "t", kV2, 200);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(SchemaDump(), before);
  EXPECT_EQ(*AppliedVersion(*store_, "t"), 2);
}

TEST_P(MigrationsTest, AppliesOnlyNewOnesAndComponentsAreIndependent) {
  ASSERT_EQ(*ApplyMigrations(*store_, "t", kV1, 1), 1);
  EXPECT_EQ(*ApplyMigrations(*store_, "t", kV2, 2), 1);
  constexpr Migration kOther[] = {{1, "c", "CREATE TABLE c (id BIGINT);"}};
  EXPECT_EQ(*ApplyMigrations(*store_, "other", kOther, 3), 1);
  EXPECT_EQ(*AppliedVersion(*store_, "t"), 2);
  EXPECT_EQ(*AppliedVersion(*store_, "other"), 1);
  EXPECT_EQ(*AppliedVersion(*store_, "none"), 0);
}

TEST_P(MigrationsTest, FailingMigrationIsNotRecordedAndLeavesNoTrace) {
  constexpr Migration kBroken[] = {
      {1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT);"},
      {2, "half broken", "CREATE TABLE z (id BIGINT); CREATE TABLE a (id BIGINT);"},
  };
  auto result = ApplyMigrations(*store_, "t", kBroken, 1);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(*AppliedVersion(*store_, "t"), 1);
  // Table z from the failed migration's first statement was rolled back with it.
  EXPECT_EQ(SchemaDump().find("z;"), std::string::npos) << SchemaDump();
}

TEST_P(MigrationsTest, ChangedMigrationIsRefused) {
  ASSERT_TRUE(ApplyMigrations(*store_, "t", kV1, 1).ok());
  constexpr Migration kEdited[] = {{1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY);"}};
  auto result = ApplyMigrations(*store_, "t", kEdited, 2);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(result.status().message()).find("t/1"), std::string::npos);
}

TEST_P(MigrationsTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(ApplyMigrations(*store_, "t", kV2, 1).ok());
  auto result = ApplyMigrations(*store_, "t", kV1, 2);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(result.status().message()).find("newer ferry"), std::string::npos);
}

TEST_P(MigrationsTest, MisnumberedListIsInvalidArgument) {
  constexpr Migration kGap[] = {{1, "a", "SELECT 1;"}, {3, "c", "SELECT 1;"}};
  EXPECT_EQ(ApplyMigrations(*store_, "t", kGap, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::store
