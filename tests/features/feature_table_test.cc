#include "features/feature_table.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "features/feature_registry.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::features {
namespace {

class FeatureTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    // The registry's migrations create feature_tables.
    ASSERT_TRUE(FeatureRegistry::Open(*workspace_, *datasets_).ok());
    ASSERT_TRUE(core::WriteFileAtomically(temp_ / "f.csv",
                                          "k,ts,v\n"
                                          "b,2026-01-02T00:00:00Z,2\n"
                                          "a,2026-01-03T00:00:00Z,3\n"
                                          ",2026-01-01T00:00:00Z,9\n"
                                          "a,,8\n"
                                          "a,2026-01-01T00:00:00Z,1\n"
                                          "b,2026-01-01T00:00:00Z,0\n")
                    .ok());
    version_ = datasets_->Add("f", temp_ / "f.csv", {})->version;
    layout_.join_keys = {{"k", table::ColumnType::kString}};
    layout_.timestamp_field = "ts";
    layout_.features = {{"v", table::ColumnType::kFloat64}};  // widened from int64
  }

  std::vector<RowGroup> ReadAll(const core::Digest& manifest) {
    auto reader = FeatureTableReader::Open(workspace_->objects(), manifest);
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::vector<RowGroup> groups;
    while (true) {
      auto next = reader->Next();
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || !*next) break;
      groups.push_back(std::move(**next));
    }
    return groups;
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  dataset::VersionRecord version_;
  FeatureTableLayout layout_;
};

TEST_F(FeatureTableTest, SortsByKeyThenTimeAndDropsRowsWithoutEither) {
  FeatureTables tables(*workspace_, *datasets_, 2);
  auto info = tables.Ensure(version_, layout_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->built);
  EXPECT_EQ(info->rows, 4);
  EXPECT_EQ(info->dropped_rows, 2);
  EXPECT_EQ(info->group_count, 2);
  std::vector<std::pair<std::string, double>> rows;  // (key, value) in table order
  std::vector<std::string> runs;                    // the key of each run
  uint64_t previous_hash = 0;
  for (const RowGroup& group : ReadAll(info->manifest)) {
    for (size_t run = 0; run < group.runs(); ++run) {
      runs.emplace_back(group.run_keys.StringAt(run));
      EXPECT_LE(previous_hash, static_cast<uint64_t>(group.run_hashes[run]));
      previous_hash = static_cast<uint64_t>(group.run_hashes[run]);
      for (size_t r = group.run_starts[run]; r < group.run_starts[run + 1]; ++r) {
        rows.emplace_back(runs.back(), group.features[0].float64_values[r]);
        EXPECT_EQ(group.created.IsNull(r), true);
      }
    }
  }
  ASSERT_EQ(rows.size(), 4u);
  // Each key's rows are together, in time order.
  EXPECT_EQ(rows[0].first, rows[1].first);
  EXPECT_LT(rows[0].second, rows[1].second);
  EXPECT_EQ(rows[2].first, rows[3].first);
  EXPECT_LT(rows[2].second, rows[3].second);
  EXPECT_EQ(runs.size(), 2u);  // groups of two rows: one key each
}

TEST_F(FeatureTableTest, IsBuiltOncePerVersionAndLayout) {
  FeatureTables tables(*workspace_, *datasets_);
  auto first = tables.Ensure(version_, layout_);
  ASSERT_TRUE(first.ok());
  auto again = tables.Ensure(version_, layout_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->built);
  EXPECT_EQ(again->manifest, first->manifest);
  layout_.features[0].type = table::ColumnType::kInt64;
  EXPECT_NE(layout_.Hash(), first->layout_hash);
  auto other = tables.Ensure(version_, layout_);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->built);
}

TEST_F(FeatureTableTest, GarbageCollectionKeepsTables) {
  FeatureTables tables(*workspace_, *datasets_);
  auto info = tables.Ensure(version_, layout_);
  ASSERT_TRUE(info.ok());
  auto gc = datasets_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->objects_removed, 0);
  EXPECT_EQ(ReadAll(info->manifest).size(), 1u);
}

TEST_F(FeatureTableTest, MissingColumnsAreErrors) {
  layout_.features = {{"nope", table::ColumnType::kFloat64}};
  FeatureTables tables(*workspace_, *datasets_);
  auto info = tables.Ensure(version_, layout_);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << info.status();
}

TEST(EncodeKeyTest, OrdersLikeTheValuesAndEscapesZeroBytes) {
  table::ColumnArray ints;
  ints.type = table::ColumnType::kInt64;
  ints.valid = {1, 1, 1, 0};
  ints.int64_values = {-5, 3, INT64_MIN, 0};
  std::vector<std::string> encoded(4);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(EncodeKey({&ints}, i, encoded[i]));
  EXPECT_FALSE(EncodeKey({&ints}, 3, encoded[3]));
  EXPECT_LT(encoded[2], encoded[0]);
  EXPECT_LT(encoded[0], encoded[1]);
  table::ColumnArray text;
  text.type = table::ColumnType::kString;
  text.valid = {1, 1};
  text.bytes = std::string("a\0b", 3) + "a";
  text.offsets = {0, 3, 4};
  std::string with_zero, plain;
  EXPECT_TRUE(EncodeKey({&text}, 0, with_zero));
  EXPECT_TRUE(EncodeKey({&text}, 1, plain));
  EXPECT_EQ(with_zero, std::string("a\0\xff" "b\0\x01", 6));
  EXPECT_NE(HashKey(with_zero), HashKey(plain));
}

}  // namespace
}  // namespace ferry::features
