// Offline and online agree: for random data, after materializing everything up to T, the
// online value of every key equals what the point-in-time join (historical retrieval)
// gives that key at event_timestamp T, with now = T for the ttl.

#include <gtest/gtest.h>

#include <map>

#include "features/historical_retrieval.h"
#include "online_test_support.h"
#include "table/csv_writer.h"
#include "table/random.h"

namespace ferry::features {
namespace {

using table::ColumnType;

constexpr char kDefinitions[] = R"(
entities:
  - name: merchant
    join_keys: [{name: merchant_id, type: int64}]
feature_views:
  - name: merchant_stats
    entities: [merchant]
    source: activity
    timestamp_field: event_timestamp
    created_timestamp_field: created
    ttl: 3d
    features:
      - {name: score, type: float64}
      - {name: tier, type: string}
      - {name: orders, type: int64}
)";

std::string Time(int64_t micros) {
  std::string s;
  table::AppendIsoTimestamp(s, micros);
  return s;
}

// One expected-or-observed value: null, or the three features as text.
using Observed = std::optional<std::string>;

class OfflineOnlineAgreementTest : public OnlineTestBase {};

TEST_F(OfflineOnlineAgreementTest, OnlineValuesEqualThePointInTimeJoinAtTheEnd) {
  const int64_t t = At("2026-01-20T00:00:00Z");
  const int64_t day = int64_t{86'400} * 1'000'000;
  table::SplitMix64 rng(20260120);
  constexpr int kKeys = 400;
  // Rows from 10 days before T to 2 days after, on a coarse grid so that event times and
  // created times tie often; some values and created times are null.
  std::string csv = "event_timestamp,created,merchant_id,score,tier,orders\n";
  for (int i = 0; i < 6000; ++i) {
    const int64_t key = static_cast<int64_t>(rng.NextBelow(kKeys)) - 50;  // negatives too
    const int64_t ts = t - 10 * day + static_cast<int64_t>(rng.NextBelow(48)) * (day / 4);
    const bool no_created = rng.NextBelow(5) == 0;
    const int64_t created = ts + static_cast<int64_t>(rng.NextBelow(3)) * 3'600'000'000;
    csv += Time(ts) + "," + (no_created ? "" : Time(created)) + "," + std::to_string(key) + ",";
    csv += rng.NextBelow(10) == 0 ? "" : std::to_string(rng.NextBelow(100000)) + ".25";
    csv += ",";
    csv += rng.NextBelow(10) == 0 ? "" : "tier" + std::to_string(rng.NextBelow(7));
    csv += "," + std::to_string(rng.NextBelow(1000)) + "\n";
  }
  AddCsv("activity", csv);
  Apply(kDefinitions);

  // Online: materialize up to T, look up every key (and some never seen) with now = T.
  MaterializeOptions options;
  options.end = t;
  MustRun(options);
  clock_->Set(t);
  std::vector<int64_t> keys;
  for (int64_t k = -60; k < kKeys - 40; ++k) keys.push_back(k);
  OnlineResult online = Lookup({"merchant_stats:score", "merchant_stats:tier",
                                "merchant_stats:orders"},
                               IntKeys("merchant_id", keys));
  ASSERT_EQ(online.rows, keys.size());

  // Offline: the same keys at event_timestamp T.
  std::string entities = "merchant_id,event_timestamp\n";
  for (int64_t k : keys) entities += std::to_string(k) + "," + Time(t) + "\n";
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "entities.csv", entities).ok());
  HistoricalOptions historical;
  historical.entities = (temp_ / "entities.csv").string();
  historical.selection = registry_->Select({"merchant_stats:*"}).value();
  historical.output = "training";
  absl::StatusOr<HistoricalResult> offline = RetrieveHistorical(*workspace_, *datasets_, historical);
  ASSERT_TRUE(offline.ok()) << offline.status();
  std::map<int64_t, std::vector<Observed>> joined;
  ASSERT_TRUE(datasets_
                  ->ReadBatches(offline->added.version, {"merchant_id", "score", "tier", "orders"},
                                1024,
                                [&](table::RecordBatch batch) -> absl::Status {
                                  const auto& c = batch.columns;
                                  for (int64_t r = 0; r < batch.num_rows; ++r) {
                                    std::vector<Observed>& row = joined[c[0].int64_values[r]];
                                    row.push_back(c[1].IsNull(r) ? Observed()
                                                  : c[1].type == ColumnType::kFloat64
                                                      ? Observed(std::to_string(c[1].float64_values[r]))
                                                      : Observed(std::to_string(double(c[1].int64_values[r]))));
                                    row.push_back(c[2].IsNull(r) ? Observed() : Observed(std::string(c[2].StringAt(r))));
                                    row.push_back(c[3].IsNull(r) ? Observed() : Observed(std::to_string(c[3].int64_values[r])));
                                  }
                                  return absl::OkStatus();
                                })
                  .ok());
  ASSERT_EQ(joined.size(), keys.size());

  int present = 0, expired = 0, missing = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<Observed> row;
    const auto& c = online.columns;
    for (size_t f = 0; f < 3; ++f) {
      if (c[f].statuses[i] != FeatureStatus::kPresent) {
        row.push_back(std::nullopt);
        continue;
      }
      row.push_back(f == 0   ? std::to_string(c[0].Float64(i))
                    : f == 1 ? std::string(c[1].String(i))
                             : std::to_string(c[2].Int64(i)));
    }
    EXPECT_EQ(row, joined[keys[i]]) << "merchant_id " << keys[i];
    present += c[2].statuses[i] == FeatureStatus::kPresent;
    expired += c[2].statuses[i] == FeatureStatus::kOutsideMaxAge;
    missing += c[2].statuses[i] == FeatureStatus::kNotFound;
  }
  // The data exercises every case.
  EXPECT_GT(present, 100);
  EXPECT_GT(expired, 0);
  EXPECT_GT(missing, 0);
}

}  // namespace
}  // namespace ferry::features
