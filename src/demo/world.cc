#include "demo/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numbers>
#include <span>

#include "demo/world_internal.h"

namespace ferry::demo {
namespace {

using world_internal::kCategoryNames;
using world_internal::kMicrosPerDay;
using world_internal::kMicrosPerHour;

enum Category : int {
  kGrocery,
  kRestaurant,
  kFuel,
  kPharmacy,
  kFashion,
  kElectronics,
  kTravel,
  kGaming,
  kDigital,
  kCategories
};
static_assert(kCategories == std::size(kCategoryNames));

// How customers spend: where (by channel), how much (relative to their usual spend),
// when (the daily cycle of hours, UTC), and how often abroad.
constexpr double kShopWeight[kCategories] = {30, 25, 12, 8, 10, 5, 3, 2, 0};
constexpr double kOnlineWeight[kCategories] = {8, 6, 0, 4, 20, 15, 12, 15, 20};
constexpr double kAmountFactor[kCategories] = {0.8, 0.7, 1.0, 0.6, 1.3, 2.0, 2.5, 0.8, 0.6};
constexpr double kHourWeight[24] = {0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 6,
                                    7,   6,   5,   5,   6,   7,   8, 7, 5, 3, 2, 1};
constexpr int kHomeCountries = 5;         // customers live in the first five countries
constexpr int kCountries = 8;             // merchants are anywhere
constexpr double kAmountSpread = 0.45;    // sigma of log(amount / usual)
constexpr double kBigPurchase = 0.015;    // share of purchases 3-12x the usual
constexpr double kOnlineAbroad = 0.2;     // share of online payments to foreign merchants
constexpr double kRiskyCustomers = 0.05;  // share of customers more often defrauded
constexpr double kRiskyMerchants = 0.04;

// The old form of fraud (stolen card details): the log-odds of a payment being
// fraudulent rise with the amount far above the customer's usual spend, at night, online
// at a foreign merchant, at risky merchants and for risky customers.
constexpr double kFraudBase = -6.6;
constexpr double kFraudAmount = 2.8;  // per log of amount / usual above 1
constexpr double kFraudNight = 1.8;   // 00:00-05:59
constexpr double kFraudNightOnline = 0.8;
constexpr double kFraudOnlineForeign = 2.3;
constexpr double kFraudMerchantRisk = 4.0;  // times the merchant's risk (0..1)
constexpr double kFraudRiskyCustomer = 1.5;

// The changed world: larger amounts, more online payments, the old form of fraud rarer,
// and card testing: bursts of small online payments at domestic gaming and digital
// merchants in daytime, on cards whose owners behave as usual.
constexpr double kChangedAmount = 1.6;
constexpr double kChangedOnline = 0.15;
constexpr double kChangedOldFraud = -0.9;
constexpr double kCardTestingAttacksPerTransaction = 0.007;
constexpr int kCardTestingMinBurst = 3;
constexpr int kCardTestingMaxBurst = 7;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int Sample(std::span<const double> weights, double unit) {
  double total = 0;
  for (double w : weights) total += w;
  double target = unit * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    target -= weights[i];
    if (target < 0 && weights[i] > 0) return static_cast<int>(i);
  }
  return static_cast<int>(weights.size() - 1);
}

}  // namespace

absl::StatusOr<World> World::Create(const WorldOptions& options) {
  if (options.customers == 0 || options.merchants == 0) {
    return absl::InvalidArgumentError("customers and merchants must be positive");
  }
  if (options.customers > 10'000'000 || options.merchants > 1'000'000) {
    return absl::InvalidArgumentError("at most 10^7 customers and 10^6 merchants");
  }
  if (!(options.transactions_per_customer_day > 0 &&
        options.transactions_per_customer_day <= 100)) {
    return absl::InvalidArgumentError("transactions per customer and day must be in (0, 100]");
  }
  if (options.start_micros < 0 || options.start_micros % kMicrosPerDay != 0) {
    return absl::InvalidArgumentError("the start must be 00:00:00Z of a day since 1970");
  }
  return World(options);
}

World::World(const WorldOptions& options) : options_(options), rng_(options.seed) {
  customers_.resize(options.customers);
  for (Customer& c : customers_) {
    c.usual_amount = std::exp(3.3 + 0.7 * Normal());
    c.activity = std::exp(-0.18 + 0.6 * Normal());
    c.risky = Unit() < kRiskyCustomers;
    c.online = 0.1 + 0.45 * Unit() + (c.risky ? 0.2 : 0.0);
    c.travel = (0.01 + 0.05 * Unit()) * (c.risky ? 3.0 : 1.0);
    c.home = static_cast<uint8_t>(rng_() % kHomeCountries);
  }
  merchants_.resize(options.merchants);
  merchants_by_category_.resize(kCategories);
  merchants_by_cell_.resize(kCategories * kCountries);
  // Categories in proportion to where customers spend, shops and online together.
  double weights[kCategories];
  for (int k = 0; k < kCategories; ++k) weights[k] = kShopWeight[k] + kOnlineWeight[k];
  for (uint32_t i = 0; i < merchants_.size(); ++i) {
    Merchant& m = merchants_[i];
    m.category = static_cast<uint8_t>(Sample(weights, Unit()));
    m.country = static_cast<uint8_t>(Unit() < 0.8
                                         ? rng_() % kHomeCountries
                                         : kHomeCountries + rng_() % (kCountries - kHomeCountries));
    m.risk = Unit() < kRiskyMerchants ? 0.6 + 0.4 * Unit() : 0.15 * Unit();
    merchants_by_category_[m.category].push_back(i);
    merchants_by_cell_[m.category * kCountries + m.country].push_back(i);
  }
  customer_windows_.resize(customers_.size());
  merchant_windows_.resize(merchants_.size());
  // The rolling windows start full, as a warehouse's would: the world runs its window's
  // worth of days before day 0 without reporting them (the same habits, no change).
  for (int64_t d = -kWindowDays; d < 0; ++d) {
    std::vector<Transaction> warmup;
    const int64_t start = options.start_micros + d * kMicrosPerDay;
    for (uint32_t c = 0; c < customers_.size(); ++c) {
      const uint64_t count =
          Poisson(options_.transactions_per_customer_day * customers_[c].activity);
      for (uint64_t i = 0; i < count; ++i) AddSpending(c, start, false, warmup);
    }
    UpdateWindows(window_day_++, warmup);
  }
}

double World::Unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

double World::Normal() {
  // Box-Muller; 1 - Unit() is in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - Unit()));
  return radius * std::cos(2.0 * std::numbers::pi * Unit());
}

uint64_t World::Poisson(double mean) {
  if (mean > 30) {
    return static_cast<uint64_t>(std::max(0.0, std::round(mean + std::sqrt(mean) * Normal())));
  }
  const double limit = std::exp(-mean);
  uint64_t count = 0;
  for (double product = Unit(); product > limit; product *= Unit()) ++count;
  return count;
}

uint32_t World::PickMerchant(int category, int country) {
  const std::vector<uint32_t>& cell = merchants_by_cell_[category * kCountries + country];
  if (!cell.empty()) return cell[rng_() % cell.size()];
  const std::vector<uint32_t>& same_category = merchants_by_category_[category];
  if (!same_category.empty()) return same_category[rng_() % same_category.size()];
  return static_cast<uint32_t>(rng_() % merchants_.size());
}

void World::AddSpending(uint32_t index, int64_t day_start, bool changed,
                        std::vector<Transaction>& out) {
  const Customer& customer = customers_[index];
  Transaction& t = out.emplace_back();
  t.customer = index;
  t.hour = Sample(kHourWeight, Unit());
  t.event_micros =
      day_start + t.hour * kMicrosPerHour + static_cast<int64_t>(rng_() % 3600) * 1'000'000;
  const double online =
      changed ? std::min(0.95, customer.online + kChangedOnline) : customer.online;
  t.online = Unit() < online;
  const int category = Sample(t.online ? kOnlineWeight : kShopWeight, Unit());
  const bool abroad = Unit() < (t.online ? kOnlineAbroad : customer.travel);
  int country = customer.home;
  if (abroad) {
    country = static_cast<int>(rng_() % (kCountries - 1));
    if (country >= customer.home) ++country;
  }
  t.merchant = PickMerchant(category, country);
  const Merchant& merchant = merchants_[t.merchant];
  t.foreign = merchant.country != customer.home;
  t.category = kCategoryNames[merchant.category];

  const double usual = customer.usual_amount * (changed ? kChangedAmount : 1.0);
  double amount = usual * kAmountFactor[category] * std::exp(kAmountSpread * Normal());
  if (Unit() < kBigPurchase) amount *= 3.0 + 9.0 * Unit();
  t.amount = std::max(0.1, std::round(amount * 100.0) / 100.0);

  const bool night = t.hour < 6;
  const double score = kFraudBase + (changed ? kChangedOldFraud : 0.0) +
                       kFraudAmount * std::log(std::max(1.0, t.amount / usual)) +
                       (night ? kFraudNight : 0.0) + (night && t.online ? kFraudNightOnline : 0.0) +
                       (t.online && t.foreign ? kFraudOnlineForeign : 0.0) +
                       kFraudMerchantRisk * merchant.risk +
                       (customer.risky ? kFraudRiskyCustomer : 0.0);
  t.fraud = Unit() < Sigmoid(score);
}

void World::AddCardTesting(int64_t day_start, std::vector<Transaction>& out) {
  const uint64_t attacks =
      Poisson(static_cast<double>(customers_.size()) * options_.transactions_per_customer_day *
              kCardTestingAttacksPerTransaction);
  for (uint64_t a = 0; a < attacks; ++a) {
    const auto index = static_cast<uint32_t>(rng_() % customers_.size());
    const Customer& customer = customers_[index];
    const uint32_t merchant = PickMerchant(Unit() < 0.5 ? kGaming : kDigital, customer.home);
    const int burst = kCardTestingMinBurst +
                      static_cast<int>(rng_() % (kCardTestingMaxBurst - kCardTestingMinBurst + 1));
    // Daytime: a burst starts between 06:00 and 17:59 and lasts well under an hour, so it
    // ends the same day.
    int64_t when = day_start + (6 + static_cast<int64_t>(rng_() % 12)) * kMicrosPerHour +
                   static_cast<int64_t>(rng_() % 3600) * 1'000'000;
    for (int i = 0; i < burst; ++i) {
      when += static_cast<int64_t>(30 + rng_() % 300) * 1'000'000;
      Transaction& t = out.emplace_back();
      t.event_micros = when;
      t.customer = index;
      t.merchant = merchant;
      t.amount = static_cast<double>(10 + rng_() % 190) / 100.0;
      t.hour = static_cast<int32_t>((when - day_start) / kMicrosPerHour);
      t.online = true;
      t.foreign = merchants_[merchant].country != customer.home;
      t.category = kCategoryNames[merchants_[merchant].category];
      t.fraud = true;
    }
  }
}

WorldDay World::NextDay() {
  WorldDay day;
  day.day = next_day_++;
  day.start_micros = options_.start_micros + day.day * kMicrosPerDay;
  const bool changed = options_.drift_day >= 0 && day.day >= options_.drift_day;
  day.transactions.reserve(static_cast<size_t>(1.2 * options_.transactions_per_customer_day *
                                               static_cast<double>(customers_.size())));
  for (uint32_t c = 0; c < customers_.size(); ++c) {
    const uint64_t count = Poisson(options_.transactions_per_customer_day * customers_[c].activity);
    for (uint64_t i = 0; i < count; ++i)
      AddSpending(c, day.start_micros, changed, day.transactions);
  }
  if (changed) AddCardTesting(day.start_micros, day.transactions);
  // Time order; ties in the order generated, so the result does not depend on the sort.
  for (size_t i = 0; i < day.transactions.size(); ++i) day.transactions[i].id = i;
  std::sort(day.transactions.begin(), day.transactions.end(),
            [](const Transaction& a, const Transaction& b) {
              return a.event_micros != b.event_micros ? a.event_micros < b.event_micros
                                                      : a.id < b.id;
            });
  for (Transaction& t : day.transactions) t.id = next_transaction_id_++;
  UpdateWindows(window_day_++, day.transactions);
  AppendDailyRows(day);
  return day;
}

void World::UpdateWindows(int64_t day, const std::vector<Transaction>& transactions) {
  // The window of day d holds days d-29..d (d-6..d for 7 days): day d-30 leaves the
  // 30-day sums (its slot is reused for day d), day d-7 leaves the 7-day sums.
  std::vector<Tally>& slot = history_[day % kWindowDays];
  for (const Tally& t : slot) {
    CustomerWindow& c = customer_windows_[t.customer];
    c.cents_30d -= t.cents;
    c.count_30d -= 1;
    c.online_30d -= t.online;
    c.foreign_30d -= t.foreign;
    MerchantWindow& m = merchant_windows_[t.merchant];
    m.count_30d -= 1;
    m.fraud_30d -= t.fraud;
    m.online_30d -= t.online;
  }
  if (day >= 7) {
    for (const Tally& t : history_[(day - 7) % kWindowDays]) {
      customer_windows_[t.customer].count_7d -= 1;
      merchant_windows_[t.merchant].count_7d -= 1;
    }
  }
  slot.clear();
  for (const Transaction& t : transactions) {
    const Tally& tally = slot.emplace_back(
        Tally{t.customer, t.merchant, std::llround(t.amount * 100), t.online, t.foreign, t.fraud});
    CustomerWindow& c = customer_windows_[tally.customer];
    c.cents_30d += tally.cents;
    c.count_30d += 1;
    c.count_7d += 1;
    c.online_30d += tally.online;
    c.foreign_30d += tally.foreign;
    MerchantWindow& m = merchant_windows_[tally.merchant];
    m.count_30d += 1;
    m.count_7d += 1;
    m.fraud_30d += tally.fraud;
    m.online_30d += tally.online;
  }
}

void World::AppendDailyRows(WorldDay& day) const {
  const std::string stamp = world_internal::FormatSeconds(day.start_micros + kMicrosPerDay);
  day.customer_daily_rows.reserve(customers_.size() * 56);
  auto out = std::back_inserter(day.customer_daily_rows);
  for (uint32_t i = 0; i < customer_windows_.size(); ++i) {
    const CustomerWindow& c = customer_windows_[i];
    if (c.count_30d == 0) continue;
    const double count = c.count_30d;
    fmt::format_to(out, "{},c{:07d},{:.2f},{},{:.4f},{:.4f}\n", stamp, i,
                   static_cast<double>(c.cents_30d) / 100.0 / count, c.count_7d,
                   c.online_30d / count, c.foreign_30d / count);
  }
  day.merchant_daily_rows.reserve(merchants_.size() * 48);
  auto merchant_out = std::back_inserter(day.merchant_daily_rows);
  for (uint32_t i = 0; i < merchant_windows_.size(); ++i) {
    const MerchantWindow& m = merchant_windows_[i];
    if (m.count_30d == 0) continue;
    const double count = m.count_30d;
    fmt::format_to(merchant_out, "{},m{:05d},{},{:.4f},{:.4f}\n", stamp, i, m.count_7d,
                   m.fraud_30d / count, m.online_30d / count);
  }
}

std::string World::CustomerId(uint32_t customer) { return fmt::format("c{:07d}", customer); }
std::string World::MerchantId(uint32_t merchant) { return fmt::format("m{:05d}", merchant); }
std::string World::TransactionId(uint64_t id) { return fmt::format("t{:010d}", id); }

}  // namespace ferry::demo
