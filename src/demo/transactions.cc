#include "demo/transactions.h"

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"

namespace ferry::demo {
namespace {

constexpr const char* kCategories[] = {"grocery", "restaurant", "fuel",   "electronics",
                                       "travel",  "fashion",    "gaming", "pharmacy"};
constexpr double kCategoryRisk[] = {0.0, 0.1, 0.0, 0.9, 0.7, 0.3, 0.8, 0.0};
constexpr const char* kCountries[] = {"DE", "FR", "NL", "ES", "IT", "US", "GB", "BR"};
constexpr size_t kFlushBytes = 1 << 20;

struct Customer {
  double usual_amount;  // median spend
  int home_country;
  double online_share;
  bool risky;
};

struct Merchant {
  int category;
  int country;
  bool risky;
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

absl::StatusOr<GeneratedFile> WriteTransactionsCsv(const std::filesystem::path& path,
                                                   const TransactionOptions& options) {
  if (options.customers == 0 || options.merchants == 0 || options.days <= 0) {
    return absl::InvalidArgumentError("customers, merchants and days must be positive");
  }
  if (options.rows > 10'000'000'000ull) {
    return absl::InvalidArgumentError("at most 10^10 rows");
  }
  if (options.drift_at < 0.0 || options.drift_at > 1.0) {
    return absl::InvalidArgumentError("drift_at must be within [0, 1]");
  }
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::lognormal_distribution<double> usual_amount(3.4, 0.8);

  std::vector<Customer> customers(options.customers);
  for (Customer& c : customers) {
    c.usual_amount = usual_amount(rng);
    c.home_country = static_cast<int>(rng() % 5);  // mostly EU homes
    c.online_share = 0.1 + 0.6 * unit(rng);
    c.risky = unit(rng) < 0.06;
  }
  std::vector<Merchant> merchants(options.merchants);
  for (Merchant& m : merchants) {
    m.category = static_cast<int>(rng() % std::size(kCategories));
    m.country = static_cast<int>(rng() % std::size(kCountries));
    m.risky = unit(rng) < 0.03;
  }

  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(path));
  std::string buffer;
  buffer.reserve(kFlushBytes + 4096);
  buffer +=
      "event_timestamp,transaction_id,customer_id,merchant_id,category,channel,country,amount,"
      "is_fraud\n";
  GeneratedFile result;
  const double span_micros = static_cast<double>(options.days) * 86'400e6;
  const double step = options.rows > 0 ? span_micros / static_cast<double>(options.rows) : 0.0;
  std::exponential_distribution<double> gap(1.0);
  double t = 0.0;
  std::lognormal_distribution<double> amount_noise(0.0, 0.6);
  for (uint64_t i = 0; i < options.rows; ++i) {
    t += step * gap(rng);
    if (t >= span_micros) t = span_micros - 1;
    const bool drifted = options.drift_at > 0.0 && t >= options.drift_at * span_micros;
    const int64_t ts = options.start_micros + static_cast<int64_t>(t);
    const uint64_t customer_id = rng() % options.customers;
    const Customer& c = customers[customer_id];
    const uint64_t merchant_id = rng() % options.merchants;
    const Merchant& m = merchants[merchant_id];

    const bool online = unit(rng) < (drifted ? std::min(0.95, c.online_share + 0.25) : c.online_share);
    const int country = online ? m.country : (unit(rng) < 0.9 ? c.home_country : m.country);
    double amount = c.usual_amount * amount_noise(rng) * (drifted ? 1.6 : 1.0);
    if (unit(rng) < 0.01) amount *= 8.0;  // occasional big purchase
    const int hour = static_cast<int>((ts / 3'600'000'000) % 24);
    const bool night = hour < 6;
    const bool abroad = country != c.home_country;

    double score = -6.2 + 1.6 * std::log1p(std::max(0.0, amount / c.usual_amount - 1.0)) +
                   (night ? 1.1 : 0.0) + (online && abroad ? 1.3 : 0.0) +
                   (m.risky ? 2.2 : 0.0) + (c.risky ? 1.5 : 0.0) + 1.2 * kCategoryRisk[m.category];
    const bool fraud = unit(rng) < Sigmoid(score);
    result.fraud_rows += fraud ? 1 : 0;

    const int64_t seconds = ts / 1'000'000;
    // Timestamps to the second keep the file compact; RFC 3339 in UTC.
    std::string when = core::FormatTimestamp(seconds * 1'000'000);
    when.erase(19, 7);  // drop ".000000", keep the trailing "Z"
    fmt::format_to(std::back_inserter(buffer), "{},t{:010d},c{:07d},m{:05d},{},{},{},{:.2f},{}\n",
                   when, i, customer_id, merchant_id, kCategories[m.category],
                   online ? "online" : "pos", kCountries[country], amount, fraud ? 1 : 0);
    if (buffer.size() >= kFlushBytes) {
      result.bytes += buffer.size();
      RETURN_IF_ERROR(file.Append(buffer));
      buffer.clear();
    }
  }
  result.bytes += buffer.size();
  RETURN_IF_ERROR(file.Append(buffer));
  RETURN_IF_ERROR(file.Commit());
  result.rows = options.rows;
  return result;
}

}  // namespace ferry::demo
