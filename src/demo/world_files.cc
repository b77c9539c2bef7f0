// The World's datasets as CSV files, and the feature definitions over them.

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "demo/world.h"
#include "demo/world_internal.h"

namespace ferry::demo {

using world_internal::kMicrosPerDay;

const std::string_view kTransactionsHeader =
    "event_timestamp,transaction_id,customer_id,merchant_id,category,amount,hour,online,foreign,"
    "is_fraud\n";
const std::string_view kCustomerDailyHeader =
    "event_timestamp,customer_id,amount_avg_30d,txn_count_7d,online_share_30d,"
    "foreign_share_30d\n";
const std::string_view kMerchantDailyHeader =
    "event_timestamp,merchant_id,merchant_txn_count_7d,merchant_fraud_rate_30d,"
    "merchant_online_share_30d\n";

namespace world_internal {

std::string FormatSeconds(int64_t micros) {
  int64_t seconds = micros / 1'000'000;
  if (micros % 1'000'000 < 0) --seconds;
  std::string text = core::FormatTimestamp(seconds * 1'000'000);
  text.erase(19, 7);  // ".000000", keeping the "Z"
  return text;
}

}  // namespace world_internal

void AppendTransactionsCsv(const std::vector<Transaction>& transactions, std::string& out) {
  // The date changes once a day at most: format it then, and only the time per row.
  int64_t day_start = -1;  // never a day's start
  std::string date;        // "2026-01-01T"
  auto it = std::back_inserter(out);
  for (const Transaction& t : transactions) {
    int64_t start = t.event_micros - t.event_micros % kMicrosPerDay;
    if (t.event_micros % kMicrosPerDay < 0) start -= kMicrosPerDay;
    if (start != day_start) {
      day_start = start;
      date = world_internal::FormatSeconds(start).substr(0, 11);
    }
    const int64_t seconds = (t.event_micros - day_start) / 1'000'000;
    fmt::format_to(it,
                   "{}{:02d}:{:02d}:{:02d}Z,t{:010d},c{:07d},m{:05d},{},{:.2f},{},{:d},{:d},{:d}\n",
                   date, seconds / 3600, seconds / 60 % 60, seconds % 60, t.id, t.customer,
                   t.merchant, t.category, t.amount, t.hour, t.online, t.foreign, t.fraud);
  }
}

std::string_view FeatureDefinitionsYaml() {
  return R"(# The feature definitions of `ferry demo`: each payment as it happens (pushed to the
# online store by the payment stream; offline, the exported transactions), and the daily
# aggregates of the customers and merchants.
entities:
  - name: transaction
    join_keys: [{name: transaction_id, type: string}]
    description: a card payment
  - name: customer
    join_keys: [{name: customer_id, type: string}]
    description: a card holder
  - name: merchant
    join_keys: [{name: merchant_id, type: string}]
    description: a card acceptor
feature_views:
  - name: transaction
    entities: [transaction]
    source: transactions
    timestamp_field: event_timestamp
    features:
      - {name: amount, type: float64}
      - {name: hour, type: int64}
      - {name: online, type: int64}
      - {name: foreign, type: int64}
    description: the payment itself
  - name: customer_daily
    entities: [customer]
    source: customer_daily
    timestamp_field: event_timestamp
    ttl: 3d
    features:
      - {name: amount_avg_30d, type: float64}
      - {name: txn_count_7d, type: int64}
      - {name: online_share_30d, type: float64}
      - {name: foreign_share_30d, type: float64}
    description: the customer's payments over the 30 (or 7) days up to the end of a day
  - name: merchant_daily
    entities: [merchant]
    source: merchant_daily
    timestamp_field: event_timestamp
    ttl: 3d
    features:
      - {name: merchant_txn_count_7d, type: int64}
      - {name: merchant_fraud_rate_30d, type: float64}
      - {name: merchant_online_share_30d, type: float64}
    description: the merchant's payments over the 30 (or 7) days up to the end of a day
feature_services:
  - name: fraud_features
    features: ["transaction:*", "customer_daily:*", "merchant_daily:*"]
)";
}

namespace {

constexpr size_t kFlushBytes = 1 << 20;

// One CSV file being written: rows gather in `buffer` and go to the file a megabyte
// at a time.
struct CsvOutput {
  core::AtomicFile file;
  std::string buffer;
  uint64_t bytes = 0;

  absl::Status FlushIfFull(size_t threshold = kFlushBytes) {
    if (buffer.size() < threshold) return absl::OkStatus();
    bytes += buffer.size();
    RETURN_IF_ERROR(file.Append(buffer));
    buffer.clear();
    return absl::OkStatus();
  }
  absl::Status Commit() {
    RETURN_IF_ERROR(FlushIfFull(0));
    return file.Commit();
  }
};

absl::StatusOr<CsvOutput> OpenCsv(const std::filesystem::path& path, std::string_view header) {
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(path));
  CsvOutput output{std::move(file), {}, 0};
  output.buffer.reserve(kFlushBytes + (1 << 16));
  output.buffer.append(header);
  return output;
}

uint64_t Lines(std::string_view rows) {
  return static_cast<uint64_t>(std::count(rows.begin(), rows.end(), '\n'));
}

}  // namespace

absl::StatusOr<GeneratedWorld> WriteWorld(const std::filesystem::path& folder,
                                          const WorldOptions& options, int64_t days) {
  if (days <= 0 || days > 3660) return absl::InvalidArgumentError("days must be in [1, 3660]");
  ASSIGN_OR_RETURN(World world, World::Create(options));
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return core::ErrnoToStatus(error.value(), "create folder " + folder.string());
  ASSIGN_OR_RETURN(CsvOutput transactions,
                   OpenCsv(folder / "transactions.csv", kTransactionsHeader));
  ASSIGN_OR_RETURN(CsvOutput customers,
                   OpenCsv(folder / "customer_daily.csv", kCustomerDailyHeader));
  ASSIGN_OR_RETURN(CsvOutput merchants,
                   OpenCsv(folder / "merchant_daily.csv", kMerchantDailyHeader));
  GeneratedWorld result;
  for (int64_t d = 0; d < days; ++d) {
    WorldDay day = world.NextDay();
    AppendTransactionsCsv(day.transactions, transactions.buffer);
    result.transactions += day.transactions.size();
    for (const Transaction& t : day.transactions) result.fraud += t.fraud;
    result.customer_rows += Lines(day.customer_daily_rows);
    result.merchant_rows += Lines(day.merchant_daily_rows);
    customers.buffer += day.customer_daily_rows;
    merchants.buffer += day.merchant_daily_rows;
    RETURN_IF_ERROR(transactions.FlushIfFull());
    RETURN_IF_ERROR(customers.FlushIfFull());
    RETURN_IF_ERROR(merchants.FlushIfFull());
  }
  RETURN_IF_ERROR(transactions.Commit());
  RETURN_IF_ERROR(customers.Commit());
  RETURN_IF_ERROR(merchants.Commit());
  result.bytes = transactions.bytes + customers.bytes + merchants.bytes;
  return result;
}

}  // namespace ferry::demo
