#pragma once

// TransactionGenerator: deterministic synthetic card transactions as CSV.
//
// Columns: event_timestamp (RFC 3339, UTC), transaction_id, customer_id,
// merchant_id, category, channel, country, amount, is_fraud. Rows are in time
// order. The same options (seed included) give byte-identical output on the same
// build. About 6% of customers and 3% of merchants are "risky"; the fraud rate is
// around 1-3% and rises with amount far above the customer's usual spend, night
// hours, online payments abroad and risky merchants.
//
// Thread-safety: a generator is used by one thread.

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::demo {

struct TransactionOptions {
  uint64_t rows = 100'000;
  uint64_t customers = 10'000;
  uint64_t merchants = 1'000;
  uint64_t seed = 42;
  int64_t start_micros = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  int64_t days = 28;
  // Shifts behaviour after this fraction of the time range (0 = never): amounts grow
  // and online share rises, so later data drifts from earlier data.
  double drift_at = 0.0;
};

struct GeneratedFile {
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t fraud_rows = 0;
};

// Writes the CSV (header + rows) to `path` atomically (temporary file, fsync,
// rename). InvalidArgument for zero customers/merchants/days or more than 10^10
// rows; the filesystem's error otherwise.
absl::StatusOr<GeneratedFile> WriteTransactionsCsv(const std::filesystem::path& path,
                                                   const TransactionOptions& options);

}  // namespace ferry::demo
