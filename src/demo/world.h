#pragma once

// World: the synthetic card-payments world of `ferry demo` and `ferry demo generate`.
// Customers with habits (usual spend, online share, home country), merchants with a
// category and a risk, and their transactions over simulated days, each with a
// ground-truth fraud label that depends non-trivially on the transaction, the customer's
// habits and the merchant. From `drift_day` on the world changes: spending shifts (larger
// amounts, more online payments) and fraud takes a new form that a model trained on the
// days before has not seen, so its quality drops; a model retrained on data that includes
// some changed days recovers.
//
// The world moves forward one day at a time: NextDay() returns the day's transactions in
// time order and the daily aggregates stamped at the end of that day (the next day's
// 00:00:00Z): one row per customer (rolling behaviour over the days so far) and one per
// merchant. The aggregates of day d use only transactions of days <= d, so a point-in-time
// join of a transaction on day d+1 with them never sees its own day.
// The same options give the same days, byte for byte, on the same build.
//
// Datasets (CSV, header first, timestamps RFC 3339 UTC to the second):
//   transactions:    kTransactionsHeader; the request-time features are amount, hour,
//                    online and foreign; is_fraud is the label.
//   customer_daily:  kCustomerDailyHeader (event_timestamp, customer_id, aggregates)
//   merchant_daily:  kMerchantDailyHeader (event_timestamp, merchant_id, aggregates)
// FeatureDefinitionsYaml() declares the entities (customer, merchant), one feature view
// per daily dataset and the feature service `fraud_features` a fraud model consumes.
//
// Thread-safety: a World is used by one thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::demo {

struct WorldOptions {
  uint64_t customers = 20'000;
  uint64_t merchants = 1'000;
  uint64_t seed = 42;
  int64_t start_micros = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z: day 0 begins
  // Mean transactions per customer and day (before the change).
  double transactions_per_customer_day = 0.4;
  // The first day of the changed world (0-based); negative: the world never changes.
  int64_t drift_day = -1;
};

struct Transaction {
  int64_t event_micros = 0;  // whole seconds
  uint64_t id = 0;           // TransactionId() names it
  uint32_t customer = 0;     // index; CustomerId() names it
  uint32_t merchant = 0;     // index; MerchantId() names it
  double amount = 0;         // rounded to cents
  int32_t hour = 0;          // 0..23, the hour of event_micros in UTC
  bool online = false;
  bool foreign = false;      // paid in a country other than the customer's home
  std::string_view category;
  bool fraud = false;        // the ground truth
};

struct WorldDay {
  int64_t day = 0;           // 0-based
  int64_t start_micros = 0;  // 00:00:00Z of the day
  std::vector<Transaction> transactions;  // in time order
  // CSV rows (no header), stamped at the day's end.
  std::string customer_daily_rows;
  std::string merchant_daily_rows;
};

extern const std::string_view kTransactionsHeader;   // ends with '\n'
extern const std::string_view kCustomerDailyHeader;  // ends with '\n'
extern const std::string_view kMerchantDailyHeader;  // ends with '\n'

class World {
 public:
  // InvalidArgument for zero customers or merchants, more than 10^7 customers or 10^6
  // merchants, or a rate outside (0, 100].
  static absl::StatusOr<World> Create(const WorldOptions& options);

  // The next day (0 first).
  WorldDay NextDay();

  const WorldOptions& options() const { return options_; }
  static std::string CustomerId(uint32_t customer);  // "c0000042"
  static std::string MerchantId(uint32_t merchant);  // "m00042"
  static std::string TransactionId(uint64_t id);     // "t0000000042"

 private:
  explicit World(const WorldOptions& options);
  // (members: the customers, the merchants, rolling state, the random engine)
  WorldOptions options_;
};

// Appends `transactions` as CSV rows (no header) in kTransactionsHeader's columns.
void AppendTransactionsCsv(const std::vector<Transaction>& transactions, std::string& out);

// The feature definitions (`ferry features apply`) over the datasets `customer_daily` and
// `merchant_daily`: entities, views and the service `fraud_features`.
std::string_view FeatureDefinitionsYaml();

// `ferry demo generate`: writes transactions.csv, customer_daily.csv and merchant_daily.csv
// for `days` days into `folder` (created if needed), each atomically.
struct GeneratedWorld {
  uint64_t transactions = 0;
  uint64_t fraud = 0;
  uint64_t customer_rows = 0;
  uint64_t merchant_rows = 0;
  uint64_t bytes = 0;
};
absl::StatusOr<GeneratedWorld> WriteWorld(const std::filesystem::path& folder,
                                          const WorldOptions& options, int64_t days);

}  // namespace ferry::demo
