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
// 00:00:00Z): one row per customer with a payment in the 30 days up to then (a customer
// without one has no row, so its features come back missing) and one per merchant alike.
// The windows are full from day 0 on: the world lives 30 days before it that it does not
// report, as a warehouse has history before the data it exports.
// The aggregates of day d use only transactions of days <= d, so a point-in-time join of a
// transaction on day d+1 with them never sees its own day.
// The same options give the same days, byte for byte, on the same build.
//
// Datasets (CSV, header first, timestamps RFC 3339 UTC to the second; the columns, the
// fraud model and the change are written up in docs/demo-world.md):
//   transactions:    kTransactionsHeader; the request-time features are amount, hour,
//                    online and foreign (0/1); is_fraud (0/1) is the label.
//   customer_daily:  kCustomerDailyHeader: event_timestamp, customer_id, amount_avg_30d,
//                    txn_count_7d, online_share_30d, foreign_share_30d
//   merchant_daily:  kMerchantDailyHeader: event_timestamp, merchant_id,
//                    merchant_txn_count_7d, merchant_fraud_rate_30d,
//                    merchant_online_share_30d
// FeatureDefinitionsYaml() declares the entities (customer, merchant), one feature view
// per daily dataset and the feature service `fraud_features` a fraud model consumes.
//
// Thread-safety: a World is used by one thread.

#include <array>
#include <cstdint>
#include <filesystem>
#include <random>
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
  // merchants, a rate outside (0, 100], or a start that is not 00:00:00Z of a day since
  // 1970.
  static absl::StatusOr<World> Create(const WorldOptions& options);

  // The next day (0 first).
  WorldDay NextDay();

  const WorldOptions& options() const { return options_; }
  static std::string CustomerId(uint32_t customer);  // "c0000042"
  static std::string MerchantId(uint32_t merchant);  // "m00042"
  static std::string TransactionId(uint64_t id);     // "t0000000042"

 private:
  struct Customer {
    double usual_amount = 0;  // typical spend before the change, times a category's factor
    double activity = 0;      // multiplies the rate of transactions
    double online = 0;        // propensity to pay online
    double travel = 0;        // propensity to pay in shops abroad
    uint8_t home = 0;         // country index
    bool risky = false;
  };
  struct Merchant {
    uint8_t category = 0;
    uint8_t country = 0;
    double risk = 0;  // 0..1
  };
  // What the rolling windows remember of a transaction.
  struct Tally {
    uint32_t customer = 0;
    uint32_t merchant = 0;
    int64_t cents = 0;
    bool online = false;
    bool foreign = false;
    bool fraud = false;
  };
  struct CustomerWindow {
    int64_t cents_30d = 0;
    int32_t count_30d = 0;
    int32_t count_7d = 0;
    int32_t online_30d = 0;
    int32_t foreign_30d = 0;
  };
  struct MerchantWindow {
    int32_t count_30d = 0;
    int32_t count_7d = 0;
    int32_t fraud_30d = 0;
    int32_t online_30d = 0;
  };
  static constexpr int kWindowDays = 30;

  explicit World(const WorldOptions& options);
  double Unit();    // uniform in [0, 1)
  double Normal();  // standard normal
  uint64_t Poisson(double mean);
  uint32_t PickMerchant(int category, int country);
  void AddSpending(uint32_t customer, int64_t day_start, bool changed,
                   std::vector<Transaction>& out);
  void AddCardTesting(int64_t day_start, std::vector<Transaction>& out);
  void UpdateWindows(int64_t day, const std::vector<Transaction>& transactions);
  void AppendDailyRows(WorldDay& day) const;

  WorldOptions options_;
  std::mt19937_64 rng_;
  std::vector<Customer> customers_;
  std::vector<Merchant> merchants_;
  std::vector<std::vector<uint32_t>> merchants_by_category_;
  std::vector<std::vector<uint32_t>> merchants_by_cell_;  // [category * countries + country]
  std::vector<CustomerWindow> customer_windows_;
  std::vector<MerchantWindow> merchant_windows_;
  std::array<std::vector<Tally>, kWindowDays> history_;  // the last days', by day % 30
  int64_t next_day_ = 0;
  int64_t window_day_ = 0;  // days the windows have seen, the unreported ones first
  uint64_t next_transaction_id_ = 0;
};

// Appends `transactions` as CSV rows (no header) in kTransactionsHeader's columns.
void AppendTransactionsCsv(const std::vector<Transaction>& transactions, std::string& out);

// The feature definitions (`ferry features apply`) over the datasets `customer_daily` and
// `merchant_daily`: entities, views and the service `fraud_features`.
std::string_view FeatureDefinitionsYaml();

// `ferry demo generate`: writes transactions.csv, customer_daily.csv and merchant_daily.csv
// for `days` days into `folder` (created if needed), each atomically (a file is either the
// old one or complete). InvalidArgument for `days` outside [1, 3660] or what
// World::Create rejects, before anything is written; the filesystem's error otherwise.
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
