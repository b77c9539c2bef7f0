#include "features/materialization.h"

#include <gtest/gtest.h>

#include "features/materialization_log.h"
#include "features/view_status.h"
#include "online_test_support.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;

constexpr char kDefinitions[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
feature_views:
  - name: customer_stats
    entities: [customer]
    source: events
    timestamp_field: event_timestamp
    created_timestamp_field: created
    features:
      - {name: amount, type: float64}
      - {name: label, type: string}
  - name: customer_offline
    entities: [customer]
    source: events
    timestamp_field: event_timestamp
    online: false
    features:
      - {name: amount, type: float64}
)";

// c1: three days; c2: a tie on event time broken by created time; c3: only on Jan 3; c4:
// only on Jan 1; c5: a tie on both times, broken by the row that comes last.
constexpr char kEvents[] =
    "event_timestamp,created,customer_id,amount,label\n"
    "2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,c1,1.0,a\n"
    "2026-01-02T00:00:00Z,2026-01-02T00:00:00Z,c1,2.0,b\n"
    "2026-01-03T00:00:00Z,2026-01-03T00:00:00Z,c1,3.0,\n"
    "2026-01-02T00:00:00Z,2026-01-05T00:00:00Z,c2,22.0,late\n"
    "2026-01-02T00:00:00Z,2026-01-02T00:00:00Z,c2,20.0,early\n"
    "2026-01-03T00:00:00Z,2026-01-03T00:00:00Z,c3,30.0,c\n"
    "2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,c4,40.0,d\n"
    "2026-01-02T00:00:00Z,2026-01-02T00:00:00Z,c5,50.0,first\n"
    "2026-01-02T00:00:00Z,2026-01-02T00:00:00Z,c5,51.0,second\n";

class MaterializationTest : public OnlineTestBase {
 protected:
  void SetUp() override {
    OnlineTestBase::SetUp();
    AddCsv("events", kEvents);
    Apply(kDefinitions);
  }

  // amount of each key (NaN when not PRESENT).
  std::vector<double> Amounts(const std::vector<std::string>& keys) {
    OnlineResult r = Lookup({"customer_stats:amount"}, StringKeys("customer_id", keys));
    std::vector<double> out;
    for (size_t i = 0; i < r.rows; ++i) {
      out.push_back(r.columns[0].statuses[i] == FeatureStatus::kPresent ? r.columns[0].Float64(i)
                                                                         : -1);
    }
    return out;
  }

  static MaterializeOptions Window(std::optional<int64_t> start, int64_t end) {
    MaterializeOptions o;
    o.start = start;
    o.end = end;
    return o;
  }
  static MaterializeOptions Incremental(int64_t end) {
    MaterializeOptions o;
    o.incremental = true;
    o.end = end;
    return o;
  }
};

TEST_F(MaterializationTest, WindowBoundsAreInclusive) {
  const int64_t jan2 = At("2026-01-02T00:00:00Z");
  std::vector<ViewMaterialization> runs = MustRun(Window(jan2, jan2));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].rows_in_window, 5);
  EXPECT_EQ(runs[0].keys_written, 3);  // c1, c2, c5
  EXPECT_EQ(Amounts({"c1", "c2", "c3", "c4", "c5"}),
            (std::vector<double>{2.0, 22.0, -1, -1, 51.0}));
}

TEST_F(MaterializationTest, OnlyTheLatestRowOfEachKeyIsWritten) {
  std::vector<ViewMaterialization> runs = MustRun(Window(std::nullopt, At("2026-01-10")));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].rows_read, 9);
  EXPECT_EQ(runs[0].keys_written, 5);
  EXPECT_EQ(Amounts({"c1", "c2", "c3", "c4", "c5"}),
            (std::vector<double>{3.0, 22.0, 30.0, 40.0, 51.0}));
  OnlineResult r = Lookup({"customer_stats:label"}, StringKeys("customer_id", {"c1", "c2"}));
  EXPECT_EQ(r.columns[0].statuses[0], FeatureStatus::kNullValue);  // c1's latest row
  EXPECT_EQ(r.columns[0].String(1), "late");
  EXPECT_EQ(r.columns[0].event_timestamps[0], At("2026-01-03T00:00:00Z"));
}

TEST_F(MaterializationTest, ViewsWithOnlineFalseAreSkippedAndCannotBeNamed) {
  std::vector<ViewMaterialization> runs = MustRun(Window(std::nullopt, At("2026-01-10")));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].view, "customer_stats");
  MaterializeOptions named = Window(std::nullopt, At("2026-01-10"));
  named.views = {"customer_offline"};
  absl::StatusOr<std::vector<ViewMaterialization>> refused = Run(named);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("online: false"), absl::string_view::npos);
  named.views = {"nope"};
  EXPECT_TRUE(absl::IsNotFound(Run(named).status()));
}

TEST_F(MaterializationTest, AStartAfterTheEndIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(Run(Window(At("2026-01-03"), At("2026-01-02"))).status()));
}

TEST_F(MaterializationTest, IncrementalRunsPickUpWhereTheLastEnded) {
  const int64_t jan2 = At("2026-01-02T00:00:00Z");
  std::vector<ViewMaterialization> first = MustRun(Incremental(jan2));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].start, std::nullopt);  // no earlier run: from the beginning
  EXPECT_EQ(Amounts({"c1", "c3"}), (std::vector<double>{2.0, -1}));

  // A new version brings c6 on Jan 4; c1 on Jan 3 was already in the first version.
  AddCsv("events", std::string(kEvents) + "2026-01-04T00:00:00Z,2026-01-04T00:00:00Z,c6,60.0,e\n");
  std::vector<ViewMaterialization> second = MustRun(Incremental(At("2026-01-10")));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].start, jan2);
  EXPECT_EQ(second[0].source, "events@2");
  EXPECT_EQ(second[0].rows_in_window, 8);  // the rows at or after Jan 2
  EXPECT_EQ(Amounts({"c1", "c3", "c6"}), (std::vector<double>{3.0, 30.0, 60.0}));

  std::vector<ViewMaterialization> third = MustRun(Incremental(At("2026-01-10")));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_TRUE(third[0].up_to_date);
  EXPECT_EQ(third[0].keys_written, 0);

  absl::StatusOr<std::optional<MaterializationRecord>> last =
      LastMaterialization(workspace_->metadata(), "customer_stats");
  ASSERT_TRUE(last.ok() && *last);
  EXPECT_EQ((*last)->seq, 2);
  EXPECT_EQ((*last)->window_start, jan2);
  EXPECT_EQ((*last)->window_end, At("2026-01-10"));
  EXPECT_EQ((*last)->store_id, Online().id());
}

TEST_F(MaterializationTest, AnOlderWindowNeverOverwritesNewerValues) {
  MustRun(Window(std::nullopt, At("2026-01-10")));
  std::vector<ViewMaterialization> older = MustRun(Window(std::nullopt, At("2026-01-01")));
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].keys_written, 0);
  EXPECT_EQ(older[0].keys_kept, 2);  // c1 and c4 had rows by Jan 1
  EXPECT_EQ(Amounts({"c1", "c4"}), (std::vector<double>{3.0, 40.0}));
}

TEST_F(MaterializationTest, ADeletedOnlineStoreIsRebuiltFromTheOfflineData) {
  MustRun(Incremental(At("2026-01-10")));
  const std::vector<std::string> keys = {"c1", "c2", "c3", "c4", "c5"};
  const std::vector<double> before = Amounts(keys);
  CloseOnline();
  fs::remove_all(OnlineStorePath(*workspace_));
  EXPECT_EQ(Amounts(keys), (std::vector<double>(5, -1)));
  std::vector<ViewMaterialization> rebuilt = MustRun(Incremental(At("2026-01-10")));
  ASSERT_EQ(rebuilt.size(), 1u);
  EXPECT_EQ(rebuilt[0].start, std::nullopt);  // the new store has no runs: from the start
  EXPECT_EQ(Amounts(keys), before);
}

TEST_F(MaterializationTest, ChangedFeaturesHideOldValuesUntilRematerialized) {
  MustRun(Incremental(At("2026-01-10")));
  Apply(R"(
feature_views:
  - name: customer_stats
    entities: [customer]
    source: events
    timestamp_field: event_timestamp
    created_timestamp_field: created
    features:
      - {name: label, type: string}
      - {name: amount, type: float64}
)");
  EXPECT_EQ(Amounts({"c1"}), (std::vector<double>{-1}));  // stored under the old layout
  std::vector<ViewMaterialization> runs = MustRun(Incremental(At("2026-01-10")));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].up_to_date);
  EXPECT_EQ(runs[0].start, std::nullopt);  // a new layout starts from the beginning
  EXPECT_EQ(Amounts({"c1", "c4"}), (std::vector<double>{3.0, 40.0}));
}

TEST_F(MaterializationTest, ViewStatusReportsTheLastMaterialization) {
  absl::StatusOr<FeatureView> view = registry_->GetView("customer_stats");
  ASSERT_TRUE(view.ok());
  absl::StatusOr<ViewStatus> before = DescribeView(*workspace_, *datasets_, *view);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->last_materialization, std::nullopt);
  clock_->Set(At("2026-02-02T10:00:00Z"));
  MustRun(Window(std::nullopt, At("2026-01-10")));
  absl::StatusOr<ViewStatus> after = DescribeView(*workspace_, *datasets_, *view);
  ASSERT_TRUE(after.ok() && after->last_materialization);
  EXPECT_EQ(after->last_materialization->window_end, At("2026-01-10"));
  EXPECT_EQ(after->last_materialization->finished_at, At("2026-02-02T10:00:00Z"));
  EXPECT_EQ(after->last_materialization->keys_written, 5);
}

}  // namespace
}  // namespace ferry::features
