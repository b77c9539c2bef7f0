#include "demo/world.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/file.h"
#include "features/feature_definitions.h"
#include "table/table_profiler.h"
#include "testing/temp_dir.h"

namespace ferry::demo {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 86'400'000'000;

WorldOptions Small(uint64_t customers = 2'000, uint64_t merchants = 100) {
  WorldOptions options;
  options.customers = customers;
  options.merchants = merchants;
  return options;
}

std::vector<WorldDay> Days(const WorldOptions& options, int days) {
  absl::StatusOr<World> world = World::Create(options);
  EXPECT_TRUE(world.ok()) << world.status();
  std::vector<WorldDay> result;
  for (int d = 0; d < days; ++d) result.push_back(world->NextDay());
  return result;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(separator, begin);
    if (end == std::string_view::npos) end = text.size();
    parts.emplace_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

// The rows of CSV text without a header, each split into fields.
std::vector<std::vector<std::string>> Rows(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : Split(text, '\n')) {
    if (!line.empty()) rows.push_back(Split(line, ','));
  }
  return rows;
}

std::vector<std::string> Columns(std::string_view header) {
  return Split(header.substr(0, header.size() - 1), ',');
}

std::string AllBytes(const std::vector<WorldDay>& days) {
  std::string bytes;
  for (const WorldDay& day : days) {
    AppendTransactionsCsv(day.transactions, bytes);
    bytes += day.customer_daily_rows;
    bytes += day.merchant_daily_rows;
  }
  return bytes;
}

TEST(WorldTest, SameOptionsGiveIdenticalDaysAnotherSeedDiffers) {
  WorldOptions options = Small();
  options.drift_day = 2;
  const std::string first = AllBytes(Days(options, 4));
  EXPECT_EQ(AllBytes(Days(options, 4)), first);
  options.seed = 7;
  EXPECT_NE(AllBytes(Days(options, 4)), first);
}

TEST(WorldTest, RowsHaveTheHeadersColumnsAndIdsNameTheirEntities) {
  std::vector<WorldDay> days = Days(Small(), 2);
  std::string transactions;
  AppendTransactionsCsv(days[1].transactions, transactions);
  const std::pair<std::string_view, std::string_view> datasets[] = {
      {kTransactionsHeader, transactions},
      {kCustomerDailyHeader, days[1].customer_daily_rows},
      {kMerchantDailyHeader, days[1].merchant_daily_rows}};
  for (const auto& [header, rows] : datasets) {
    ASSERT_EQ(header.back(), '\n');
    const size_t columns = Columns(header).size();
    std::vector<std::vector<std::string>> parsed = Rows(rows);
    ASSERT_FALSE(parsed.empty()) << header;
    for (const auto& row : parsed) ASSERT_EQ(row.size(), columns) << header;
  }
  const Transaction& t = days[1].transactions.front();
  const std::vector<std::string> row = Rows(transactions).front();
  EXPECT_EQ(row[1], World::TransactionId(t.id));
  EXPECT_EQ(row[2], World::CustomerId(t.customer));
  EXPECT_EQ(row[3], World::MerchantId(t.merchant));
  EXPECT_EQ(World::CustomerId(42), "c0000042");
  EXPECT_EQ(World::MerchantId(42), "m00042");
  EXPECT_EQ(World::TransactionId(42), "t0000000042");
}

TEST(WorldTest, FeatureDefinitionsDeclareTheirSourcesColumnsWithTheirInferredTypes) {
  auto definitions = features::ParseFeatureDefinitions(FeatureDefinitionsYaml(), "world");
  ASSERT_TRUE(definitions.ok()) << definitions.status();
  ASSERT_EQ(definitions->views.size(), 3u);
  ASSERT_EQ(definitions->services.size(), 1u);
  EXPECT_EQ(definitions->services[0].name, "fraud_features");
  EXPECT_EQ(definitions->services[0].features,
            (std::vector<std::string>{"transaction:*", "customer_daily:*", "merchant_daily:*"}));
  std::vector<WorldDay> days = Days(Small(), 2);
  std::set<std::string> names;
  for (const features::FeatureView& view : definitions->views) {
    EXPECT_EQ(view.timestamp_field, "event_timestamp");
    std::string csv;
    size_t first_feature = 2;  // after the timestamp and the key
    if (view.name == "transaction") {
      EXPECT_EQ(view.source, "transactions");
      EXPECT_EQ(view.ttl_seconds, 0);
      csv = std::string(kTransactionsHeader);
      AppendTransactionsCsv(days[1].transactions, csv);
      first_feature = 5;  // amount, hour, online, foreign follow the ids and the category
    } else {
      const bool customer = view.name == "customer_daily";
      ASSERT_TRUE(customer || view.name == "merchant_daily") << view.name;
      EXPECT_EQ(view.source, view.name);
      EXPECT_GT(view.ttl_seconds, 0);
      csv = std::string(customer ? kCustomerDailyHeader : kMerchantDailyHeader);
      csv += customer ? days[1].customer_daily_rows : days[1].merchant_daily_rows;
    }
    const std::vector<std::string> columns = Columns(csv.substr(0, csv.find('\n') + 1));
    auto profile = table::ProfileBytes(table::Format::kCsv, csv);
    ASSERT_TRUE(profile.ok()) << profile.status();
    const table::Schema schema = profile->schema();
    EXPECT_EQ(schema.columns[0].type, table::ColumnType::kTimestamp);
    EXPECT_EQ(schema.columns[1].type, table::ColumnType::kString);
    // The view declares the source's feature columns, in order, with the types ferry infers.
    ASSERT_LE(first_feature + view.features.size(), columns.size()) << view.name;
    for (size_t i = 0; i < view.features.size(); ++i) {
      EXPECT_EQ(view.features[i].name, columns[first_feature + i]);
      EXPECT_EQ(schema.columns[first_feature + i].type, view.features[i].type)
          << columns[first_feature + i];
      EXPECT_TRUE(names.insert(view.features[i].name).second)
          << "repeated " << view.features[i].name;
    }
  }
}

TEST(WorldTest, TransactionsAreInTimeOrderWithinTheirDayWithConsecutiveIds) {
  std::vector<WorldDay> days = Days(Small(), 3);
  uint64_t next_id = 0;
  for (const WorldDay& day : days) {
    EXPECT_EQ(day.start_micros, WorldOptions{}.start_micros + day.day * kDay);
    int64_t previous = day.start_micros;
    for (const Transaction& t : day.transactions) {
      EXPECT_GE(t.event_micros, previous);
      EXPECT_LT(t.event_micros, day.start_micros + kDay);
      EXPECT_EQ(t.event_micros % 1'000'000, 0);
      EXPECT_EQ(t.hour, (t.event_micros - day.start_micros) / 3'600'000'000);
      EXPECT_EQ(t.id, next_id++);
      previous = t.event_micros;
    }
    // Every row of the day's aggregates is stamped at its end.
    const std::string stamps[] = {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
                                  "2026-01-04T00:00:00Z"};
    for (const auto& row : Rows(day.customer_daily_rows)) ASSERT_EQ(row[0], stamps[day.day]);
    for (const auto& row : Rows(day.merchant_daily_rows)) ASSERT_EQ(row[0], stamps[day.day]);
  }
  std::string csv;
  AppendTransactionsCsv(days[2].transactions, csv);
  EXPECT_EQ(csv.substr(0, 11), "2026-01-03T");
}

// Sums of one customer's or merchant's transactions in a window.
struct Sums {
  int64_t count = 0, count_7d = 0, online = 0, foreign = 0, fraud = 0;
  double amount = 0;
};

TEST(WorldTest, AggregatesOfADayUseExactlyTheTransactionsOfTheirWindowAndNoLaterOnes) {
  // The windows start full (30 unreported days before day 0): from day 29 on they hold
  // reported days only, and let days go after that.
  const int kDays = 37;
  std::vector<WorldDay> days = Days(Small(400, 40), kDays);
  // Day 0 already has about as many customers with a history as a day with a full window.
  const size_t first = Rows(days[0].customer_daily_rows).size();
  const size_t full = Rows(days[kDays - 1].customer_daily_rows).size();
  EXPECT_GT(first, full * 9 / 10) << first << " vs " << full;
  for (int d = 29; d < kDays; ++d) {
    std::map<std::string, Sums> customers, merchants;
    for (int past = std::max(0, d - 29); past <= d; ++past) {
      for (const Transaction& t : days[past].transactions) {
        for (Sums* s : {&customers[World::CustomerId(t.customer)],
                        &merchants[World::MerchantId(t.merchant)]}) {
          ++s->count;
          s->count_7d += past > d - 7;
          s->online += t.online;
          s->foreign += t.foreign;
          s->fraud += t.fraud;
          s->amount += t.amount;
        }
      }
    }
    const auto customer_rows = Rows(days[d].customer_daily_rows);
    ASSERT_EQ(customer_rows.size(), customers.size()) << "day " << d;
    for (const auto& row : customer_rows) {
      ASSERT_TRUE(customers.contains(row[1])) << row[1];
      const Sums& s = customers[row[1]];
      EXPECT_NEAR(std::stod(row[2]), s.amount / s.count, 0.006) << row[1] << " day " << d;
      EXPECT_EQ(std::stoll(row[3]), s.count_7d) << row[1] << " day " << d;
      EXPECT_NEAR(std::stod(row[4]), 1.0 * s.online / s.count, 6e-5);
      EXPECT_NEAR(std::stod(row[5]), 1.0 * s.foreign / s.count, 6e-5);
    }
    const auto merchant_rows = Rows(days[d].merchant_daily_rows);
    ASSERT_EQ(merchant_rows.size(), merchants.size()) << "day " << d;
    for (const auto& row : merchant_rows) {
      ASSERT_TRUE(merchants.contains(row[1])) << row[1];
      const Sums& s = merchants[row[1]];
      EXPECT_EQ(std::stoll(row[2]), s.count_7d) << row[1] << " day " << d;
      EXPECT_NEAR(std::stod(row[3]), 1.0 * s.fraud / s.count, 6e-5);
      EXPECT_NEAR(std::stod(row[4]), 1.0 * s.online / s.count, 6e-5);
    }
  }
}

struct DayStats {
  double fraud_rate = 0;
  double amount_mean = 0;
  double online_share = 0;
};

DayStats Stats(const std::vector<WorldDay>& days, int from, int to) {
  double fraud = 0, amount = 0, online = 0, count = 0;
  for (int d = from; d <= to; ++d) {
    for (const Transaction& t : days[d].transactions) {
      fraud += t.fraud;
      amount += t.amount;
      online += t.online;
      ++count;
    }
  }
  return {fraud / count, amount / count, online / count};
}

TEST(WorldTest, FraudRateIsPlausibleBeforeAndAfterTheChange) {
  WorldOptions options = Small(5'000, 300);
  options.drift_day = 3;
  std::vector<WorldDay> days = Days(options, 6);
  const DayStats before = Stats(days, 0, 2);
  const DayStats after = Stats(days, 3, 5);
  EXPECT_GT(before.fraud_rate, 0.015);
  EXPECT_LT(before.fraud_rate, 0.035);
  EXPECT_GT(after.fraud_rate, 0.03);
  EXPECT_LT(after.fraud_rate, 0.065);
}

TEST(WorldTest, SpendingShiftsFromTheDriftDayOnAndNotBefore) {
  WorldOptions options = Small(5'000, 300);
  options.drift_day = 3;
  std::vector<WorldDay> days = Days(options, 6);
  const DayStats early = Stats(days, 0, 1);
  const DayStats before = Stats(days, 2, 2);
  const DayStats after = Stats(days, 3, 5);
  EXPECT_NEAR(before.amount_mean / early.amount_mean, 1.0, 0.1);
  EXPECT_NEAR(before.online_share - early.online_share, 0.0, 0.03);
  EXPECT_GT(after.amount_mean / before.amount_mean, 1.3);
  EXPECT_GT(after.online_share - before.online_share, 0.1);

  options.drift_day = -1;
  days = Days(options, 6);
  EXPECT_NEAR(Stats(days, 3, 5).amount_mean / Stats(days, 0, 2).amount_mean, 1.0, 0.1);
  EXPECT_NEAR(Stats(days, 3, 5).online_share - Stats(days, 0, 2).online_share, 0.0, 0.03);
}

TEST(WorldTest, CreateRejectsOptionsOutOfRange) {
  std::vector<WorldOptions> cases(6, Small());
  cases[0].customers = 0;
  cases[1].merchants = 0;
  cases[2].customers = 10'000'001;
  cases[3].transactions_per_customer_day = 0;
  cases[4].transactions_per_customer_day = 101;
  cases[5].start_micros += 3'600'000'000;  // not midnight
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(World::Create(cases[i]).status().code(), absl::StatusCode::kInvalidArgument)
        << "case " << i;
  }
}

class WriteWorldTest : public ::testing::Test {
 protected:
  std::string Read(const std::string& name) {
    return *core::ReadFileToString(dir_ / name, 1 << 30);
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(WriteWorldTest, WritesThreeFilesWithHeadersAndReportsWhatItWrote) {
  const fs::path folder = dir_ / "new" / "world";
  WorldOptions options = Small();
  options.drift_day = 1;
  absl::StatusOr<GeneratedWorld> written = WriteWorld(folder, options, 3);
  ASSERT_TRUE(written.ok()) << written.status();
  std::vector<WorldDay> days = Days(options, 3);
  std::string transactions(kTransactionsHeader), customers(kCustomerDailyHeader),
      merchants(kMerchantDailyHeader);
  uint64_t fraud = 0;
  for (const WorldDay& day : days) {
    AppendTransactionsCsv(day.transactions, transactions);
    customers += day.customer_daily_rows;
    merchants += day.merchant_daily_rows;
    for (const Transaction& t : day.transactions) fraud += t.fraud;
  }
  EXPECT_EQ(*core::ReadFileToString(folder / "transactions.csv", 1 << 30), transactions);
  EXPECT_EQ(*core::ReadFileToString(folder / "customer_daily.csv", 1 << 30), customers);
  EXPECT_EQ(*core::ReadFileToString(folder / "merchant_daily.csv", 1 << 30), merchants);
  EXPECT_EQ(written->transactions, Rows(transactions).size() - 1);
  EXPECT_EQ(written->customer_rows, Rows(customers).size() - 1);
  EXPECT_EQ(written->merchant_rows, Rows(merchants).size() - 1);
  EXPECT_EQ(written->fraud, fraud);
  EXPECT_GT(fraud, 0u);
  EXPECT_EQ(written->bytes, transactions.size() + customers.size() + merchants.size());
}

TEST_F(WriteWorldTest, ReplacesOldFilesWholeAndLeavesNoTemporaryFiles) {
  ASSERT_TRUE(core::WriteFileAtomically(dir_ / "transactions.csv", "old\n").ok());
  ASSERT_TRUE(WriteWorld(dir_, Small(300, 20), 2).ok());
  EXPECT_EQ(Read("transactions.csv").rfind(kTransactionsHeader, 0), 0u);
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"customer_daily.csv", "merchant_daily.csv",
                                          "transactions.csv"}));
}

TEST_F(WriteWorldTest, RejectsBadOptionsBeforeWritingAnything) {
  WorldOptions no_customers = Small();
  no_customers.customers = 0;
  const std::pair<WorldOptions, int64_t> cases[] = {
      {no_customers, 3}, {Small(), 0}, {Small(), -1}, {Small(), 3661}};
  for (const auto& [options, days] : cases) {
    EXPECT_EQ(WriteWorld(dir_ / "out", options, days).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(WriteWorldTest, FolderThatIsAFileFails) {
  ASSERT_TRUE(core::WriteFileAtomically(dir_ / "file", "x").ok());
  absl::StatusOr<GeneratedWorld> written = WriteWorld(dir_ / "file", Small(300, 20), 1);
  EXPECT_FALSE(written.ok());
}

}  // namespace
}  // namespace ferry::demo
