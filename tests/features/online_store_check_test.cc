#include "features/online_store_check.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "features/materialization_log.h"
#include "features/online_value.h"
#include "online_test_support.h"
#include "testing/customer_features.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;

class OnlineStoreCheckTest : public OnlineTestBase {
 protected:
  void SetUp() override {
    OnlineTestBase::SetUp();
    // The shared customer_stats view (avg_amount float64, txn_count int64), 200 keys.
    std::string csv = "customer_id,event_timestamp,avg_amount,txn_count\n";
    for (int i = 0; i < 500; ++i) {
      csv += "c" + std::to_string(i % 200) + ",2026-01-0" + std::to_string(1 + i % 5) +
             "T00:00:00Z," + std::to_string(i) + ".5," + std::to_string(i) + "\n";
    }
    AddCsv("customer_daily", csv);
    Apply(testing::kCustomerFeatureDefinitions);
  }

  void MaterializeAll() {
    MaterializeOptions options;
    options.end = At("2026-02-01T00:00:00Z");
    MustRun(options);
  }

  OnlineStoreCheck Check() {
    absl::StatusOr<OnlineStoreCheck> check = CheckOnlineStore(*workspace_);
    EXPECT_TRUE(check.ok()) << check.status();
    return check.ok() ? *check : OnlineStoreCheck{};
  }

  // Writes `value` under `customer`'s key of view customer_stats, as materialization would.
  void WriteRaw(const std::string& customer, const std::string& value) {
    std::string key;
    AppendOnlineKeyPrefix(key, "customer_stats");
    AppendKeyPart(key, customer);
    const OnlineEntry entry{key, value};
    ASSERT_TRUE(Online().WriteLatest({"customer_stats", 0}, {&entry, 1}).ok());
    ASSERT_TRUE(Online().Sync().ok());
  }

  // The layout tag the view's record names.
  uint64_t RecordedTag() {
    absl::StatusOr<std::optional<std::string>> record =
        Online().GetRecord(ViewRecordName("customer_stats"));
    EXPECT_TRUE(record.ok() && record->has_value());
    return LayoutTag(nlohmann::json::parse(**record)["layout_sha256"].get<std::string>());
  }

  // A value header (format, tag, event time, created time) and then `tail`.
  static std::string Value(uint64_t tag, std::string_view tail) {
    std::string value(kOnlineValueHeaderBytes, '\0');
    value[0] = static_cast<char>(kOnlineValueFormat);
    std::memcpy(value.data() + 1, &tag, 8);
    const int64_t later = At("2027-01-01T00:00:00Z");
    std::memcpy(value.data() + 9, &later, 8);
    std::memcpy(value.data() + 17, &kNoCreatedTime, 8);
    return value.append(tail);
  }
};

TEST_F(OnlineStoreCheckTest, NothingMaterializedIsNotChecked) {
  const OnlineStoreCheck check = Check();
  EXPECT_EQ(check.store, "rocksdb");
  EXPECT_FALSE(check.checked);
  EXPECT_TRUE(check.problems.empty());
}

TEST_F(OnlineStoreCheckTest, AMaterializedStoreChecksEveryValueCleanBesideItsWriter) {
  MaterializeAll();
  // The writer keeps the store open, as a server does: the check reads beside it.
  const OnlineStoreCheck check = Check();
  EXPECT_TRUE(check.checked);
  EXPECT_EQ(check.views, 1);
  EXPECT_EQ(check.values_checked, 200);
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
}

TEST_F(OnlineStoreCheckTest, ADamagedTableFileIsNamed) {
  MaterializeAll();
  CloseOnline();
  Online();  // reopening writes the log's values into a table file
  CloseOnline();
  fs::path table;
  for (const auto& entry : fs::directory_iterator(OnlineStorePath(*workspace_))) {
    if (entry.path().extension() == ".sst" &&
        (table.empty() || entry.file_size() > fs::file_size(table))) {
      table = entry.path();
    }
  }
  ASSERT_FALSE(table.empty());
  {
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(fs::file_size(table) / 4));
    file.put('\x5a').put('\xa5').put('\x5a');
  }
  const OnlineStoreCheck check = Check();
  ASSERT_FALSE(check.problems.empty());
  EXPECT_NE(check.problems.front().find(table.filename().string()), std::string::npos)
      << check.problems.front();
}

TEST_F(OnlineStoreCheckTest, ValuesThatDoNotDecodeAreProblemsAndObsoleteOnesAreNot) {
  MaterializeAll();
  const uint64_t tag = RecordedTag();
  WriteRaw("cut", Value(tag, std::string("\x01", 1)));  // a float64 needs 8 bytes
  WriteRaw("junk", "not a value at all, but long enough");
  WriteRaw("old", Value(tag ^ 1, "anything: another layout's bytes"));
  const OnlineStoreCheck check = Check();
  EXPECT_EQ(check.values_checked, 203);
  ASSERT_EQ(check.problems.size(), 2u);
  EXPECT_NE(check.problems[0].find("cut"), std::string::npos) << check.problems[0];
  EXPECT_NE(check.problems[0].find("does not hold the features"), std::string::npos);
  EXPECT_NE(check.problems[1].find("junk"), std::string::npos) << check.problems[1];
  EXPECT_NE(check.problems[1].find("not a value of a known format"), std::string::npos);
}

TEST_F(OnlineStoreCheckTest, ALoggedMaterializationWithoutItsLayoutRecordIsAProblem) {
  MaterializeAll();
  // The log names a view this store has no record of.
  ASSERT_TRUE(AppendMaterialization(workspace_->metadata(),
                                    {"ghost", 0, Online().id(), "00", "events@1", std::nullopt,
                                     At("2026-01-02T00:00:00Z"), 0, 0, 0, 0, 0})
                  .ok());
  const OnlineStoreCheck check = Check();
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_NE(check.problems[0].find("\"ghost\""), std::string::npos) << check.problems[0];
}

}  // namespace
}  // namespace ferry::features
