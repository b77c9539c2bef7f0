// The point-in-time join against a brute-force reference on random data: few keys
// and few distinct times, so ties, ttl edges, nulls and row-group boundaries are
// common.

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "core/file.h"
#include "features/historical_retrieval.h"
#include "table/csv_writer.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::features {
namespace {

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kBase = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

struct FeatureRow {
  std::string customer;  // empty: null
  int64_t merchant = 0;
  std::optional<int64_t> ts;
  std::optional<int64_t> created;
  std::optional<int64_t> value;
};

struct EntityRow {
  std::string customer;
  int64_t merchant = 0;
  int64_t ts = 0;
};

std::string Timestamp(int64_t micros) {
  std::string out;
  table::AppendIsoTimestamp(out, micros);
  return out;
}

// The reference: every candidate considered, the winner by (ts, created, source row).
std::optional<int64_t> Expected(const std::vector<FeatureRow>& rows, const EntityRow& e,
                                int64_t ttl_micros) {
  const FeatureRow* best = nullptr;
  for (const FeatureRow& r : rows) {
    if (r.customer.empty() || !r.ts || r.customer != e.customer || r.merchant != e.merchant) continue;
    if (*r.ts > e.ts) continue;
    if (best == nullptr || *r.ts > *best->ts ||
        (*r.ts == *best->ts && r.created.value_or(INT64_MIN) >= best->created.value_or(INT64_MIN))) {
      best = &r;
    }
  }
  if (best == nullptr) return std::nullopt;
  if (ttl_micros > 0 && *best->ts < e.ts - ttl_micros) return std::nullopt;
  return best->value;
}

class PointInTimeJoinTest : public ::testing::TestWithParam<int> {};

TEST_P(PointInTimeJoinTest, MatchesBruteForce) {
  const int seed = GetParam();
  std::mt19937_64 rng(seed);
  const auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  testing::TempDir temp;
  auto workspace = std::move(testing::InitWorkspace(temp / "ws", core::SystemClock::Shared())).value();
  auto datasets = std::move(dataset::DatasetStore::Open(*workspace)).value();
  auto registry = std::move(FeatureRegistry::Open(*workspace, *datasets)).value();

  std::vector<FeatureRow> rows(2000 + pick(2000));
  std::ostringstream csv;
  csv << "customer_id,merchant_id,event_timestamp,created,value\n";
  for (FeatureRow& r : rows) {
    r.customer = pick(40) == 0 ? "" : "c" + std::to_string(pick(25));
    r.merchant = pick(3) - 1;
    if (pick(50) != 0) r.ts = kBase + pick(48) * kHour;
    if (pick(3) != 0) r.created = kBase + pick(4) * kHour;
    if (pick(10) != 0) r.value = static_cast<int64_t>(rng() % 1000);
    csv << r.customer << "," << r.merchant << "," << (r.ts ? Timestamp(*r.ts) : "") << ","
        << (r.created ? Timestamp(*r.created) : "") << ","
        << (r.value ? std::to_string(*r.value) : "") << "\n";
  }
  // The first row has every field, so the profile types every column.
  rows[0] = {"c0", 0, kBase, kBase, 1};
  std::string text = csv.str();
  const size_t first_row = text.find('\n') + 1;
  text.replace(first_row, text.find('\n', first_row) - first_row,
               "c0,0," + Timestamp(kBase) + "," + Timestamp(kBase) + ",1");
  ASSERT_TRUE(core::WriteFileAtomically(temp / "f.csv", text).ok());
  ASSERT_TRUE(datasets->Add("pairs", temp / "f.csv", {}).ok());

  const int64_t ttl_hours = seed % 2 == 0 ? 0 : 1 + pick(12);
  const std::string yaml =
      "entities:\n"
      "  - {name: customer, join_keys: [{name: customer_id, type: string}]}\n"
      "  - {name: merchant, join_keys: [{name: merchant_id, type: int64}]}\n"
      "feature_views:\n"
      "  - name: pair\n"
      "    entities: [customer, merchant]\n"
      "    source: pairs\n"
      "    timestamp_field: event_timestamp\n"
      "    created_timestamp_field: created\n"
      "    ttl: " + std::to_string(ttl_hours) + "h\n"
      "    features: [{name: value, type: int64}]\n";
  auto defs = ParseFeatureDefinitions(yaml, "f.yaml");
  ASSERT_TRUE(defs.ok()) << defs.status();
  ASSERT_TRUE(registry->Apply(*defs, {}).ok());

  std::vector<EntityRow> entities(1000 + pick(1000));
  std::ostringstream ecsv;
  ecsv << "customer_id,merchant_id,event_timestamp\n";
  for (EntityRow& e : entities) {
    e.customer = "c" + std::to_string(pick(30));
    e.merchant = pick(3) - 1;
    e.ts = kBase + pick(60) * kHour - pick(2);  // sometimes a microsecond before the hour
    ecsv << e.customer << "," << e.merchant << "," << Timestamp(e.ts) << "\n";
  }
  ASSERT_TRUE(core::WriteFileAtomically(temp / "e.csv", ecsv.str()).ok());

  HistoricalOptions options;
  options.entities = (temp / "e.csv").string();
  options.output = "training";
  options.selection = *registry->Select({"pair:value"});
  options.group_rows = 1 + static_cast<size_t>(pick(700));  // many row-group boundaries
  options.threads = 2;
  auto result = RetrieveHistorical(*workspace, *datasets, options);
  ASSERT_TRUE(result.ok()) << result.status();

  std::vector<std::optional<int64_t>> got;
  ASSERT_TRUE(datasets
                  ->ReadBatches(result->added.version, {"value"}, 4096,
                                [&](table::RecordBatch batch) {
                                  const table::ColumnArray& c = batch.columns[0];
                                  for (size_t i = 0; i < c.size(); ++i) {
                                    got.push_back(c.IsNull(i) ? std::nullopt
                                                              : std::optional(c.int64_values[i]));
                                  }
                                  return absl::OkStatus();
                                })
                  .ok());
  ASSERT_EQ(got.size(), entities.size());
  int64_t matched = 0;
  for (size_t i = 0; i < entities.size(); ++i) {
    const auto want = Expected(rows, entities[i], ttl_hours * kHour);
    EXPECT_EQ(got[i], want) << "entity row " << i + 1 << " (" << entities[i].customer << ","
                            << entities[i].merchant << "," << Timestamp(entities[i].ts) << ")";
    matched += want.has_value();
  }
  EXPECT_GT(matched, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PointInTimeJoinTest, ::testing::Range(1, 9));

}  // namespace
}  // namespace ferry::features
