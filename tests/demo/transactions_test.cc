#include "demo/transactions.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/file.h"
#include "core/sha256.h"
#include "testing/temp_dir.h"

namespace ferry::demo {
namespace {

namespace fs = std::filesystem;

class TransactionsTest : public ::testing::Test {
 protected:
  std::string Generate(const TransactionOptions& options, const std::string& name) {
    auto file = WriteTransactionsCsv(dir_ / name, options);
    EXPECT_TRUE(file.ok()) << file.status();
    return *core::ReadFileToString(dir_ / name, 1 << 30);
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(TransactionsTest, SameSeedGivesIdenticalBytesOtherSeedDiffers) {
  TransactionOptions options;
  options.rows = 5'000;
  std::string a = Generate(options, "a.csv");
  std::string b = Generate(options, "b.csv");
  EXPECT_EQ(core::Sha256::Of(a), core::Sha256::Of(b));
  options.seed = 7;
  EXPECT_NE(core::Sha256::Of(Generate(options, "c.csv")), core::Sha256::Of(a));
}

TEST_F(TransactionsTest, HasHeaderOneLinePerRowInTimeOrderAndPlausibleFraudRate) {
  TransactionOptions options;
  options.rows = 20'000;
  auto file = WriteTransactionsCsv(dir_ / "t.csv", options);
  ASSERT_TRUE(file.ok());
  std::string text = *core::ReadFileToString(dir_ / "t.csv", 1 << 30);
  EXPECT_EQ(file->bytes, text.size());
  EXPECT_EQ(text.rfind("event_timestamp,transaction_id,customer_id,", 0), 0u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 20'001);
  // Timestamps (the first column, RFC 3339) never go back.
  std::string previous;
  size_t pos = text.find('\n') + 1;
  while (pos < text.size()) {
    std::string ts = text.substr(pos, 20);
    EXPECT_GE(ts, previous);
    previous = ts;
    pos = text.find('\n', pos) + 1;
  }
  double rate = static_cast<double>(file->fraud_rows) / file->rows;
  EXPECT_GT(rate, 0.005);
  EXPECT_LT(rate, 0.08);
}

TEST_F(TransactionsTest, DriftRaisesAmountsInTheLaterPart) {
  TransactionOptions options;
  options.rows = 20'000;
  options.drift_at = 0.5;
  std::string text = Generate(options, "d.csv");
  double early = 0, late = 0;
  int early_n = 0, late_n = 0;
  size_t pos = text.find('\n') + 1;
  int row = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    size_t last = line.rfind(',');
    size_t before = line.rfind(',', last - 1);
    double amount = std::stod(line.substr(before + 1, last - before - 1));
    if (row < 9'000) {
      early += amount;
      ++early_n;
    } else if (row > 11'000) {
      late += amount;
      ++late_n;
    }
    ++row;
    pos = end + 1;
  }
  EXPECT_GT(late / late_n, 1.3 * (early / early_n));
}

TEST_F(TransactionsTest, RejectsBadOptionsAndWritesNothing) {
  TransactionOptions options;
  options.customers = 0;
  EXPECT_EQ(WriteTransactionsCsv(dir_ / "x.csv", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = {};
  options.drift_at = 2;
  EXPECT_EQ(WriteTransactionsCsv(dir_ / "x.csv", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "x.csv"));
  EXPECT_EQ(WriteTransactionsCsv(dir_ / "missing/x.csv", TransactionOptions{}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry::demo
