#include "features/online_features.h"

#include <gtest/gtest.h>

#include "features/online_push.h"
#include "online_test_support.h"

namespace ferry::features {
namespace {

using table::ColumnType;

const std::string kDefinitions = std::string(kCustomerAndMerchant) + R"(
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customers
    timestamp_field: event_timestamp
    ttl: 1d
    features:
      - {name: amount, type: float64}
      - {name: label, type: string}
      - {name: visits, type: int64}
      - {name: flagged, type: bool}
      - {name: last_seen, type: timestamp}
  - name: merchant_stats
    entities: [merchant]
    source: merchants
    timestamp_field: event_timestamp
    features:
      - {name: risk, type: float64}
      - {name: label, type: string}
  - name: pair_stats
    entities: [customer, merchant]
    source: pairs
    timestamp_field: event_timestamp
    features:
      - {name: n, type: int64}
  - name: merchant_archive
    entities: [merchant]
    source: merchants
    timestamp_field: event_timestamp
    online: false
    features:
      - {name: risk, type: float64}
)";

// Now is 2026-02-01T00:00:00Z and customer_stats' ttl is a day: c1 is fresh, c2 exactly
// a day old (still within), c3 a second older, c4 fresh with a null amount.
constexpr char kCustomers[] =
    "event_timestamp,customer_id,amount,label,visits,flagged,last_seen\n"
    "2026-01-31T12:00:00Z,c1,12.5,gold,3,true,2026-01-30T08:00:00Z\n"
    "2026-01-31T00:00:00Z,c2,7.25,silver,1,false,2026-01-29T08:00:00Z\n"
    "2026-01-30T23:59:59Z,c3,1.0,bronze,9,false,2026-01-29T08:00:00Z\n"
    "2026-01-31T06:00:00Z,c4,,\"a \"\"quoted\"\" label\",4,true,2026-01-30T09:30:00.5Z\n";
constexpr char kMerchants[] =
    "event_timestamp,merchant_id,risk,label\n"
    "2026-01-10T00:00:00Z,-7,0.5,shop\n"
    "2026-01-11T00:00:00Z,42,0.9,kiosk\n";
constexpr char kPairs[] =
    "event_timestamp,customer_id,merchant_id,n\n"
    "2026-01-20T00:00:00Z,c1,42,5\n";

// Passes everything to `store`, counting the Read calls and the keys they asked for.
class CountingStore final : public OnlineStore {
 public:
  explicit CountingStore(OnlineStore& store) : store_(store) {}
  const std::string& id() const override { return store_.id(); }
  absl::StatusOr<WriteCounts> WriteLatest(const OnlineView& view,
                                          std::span<const OnlineEntry> entries) override {
    return store_.WriteLatest(view, entries);
  }
  absl::Status Sync() override { return store_.Sync(); }
  absl::Status Read(std::span<const std::string_view> keys, FoundFn found) const override {
    ++reads;
    keys_read += keys.size();
    return store_.Read(keys, found);
  }
  absl::StatusOr<std::optional<std::string>> GetRecord(std::string_view name) const override {
    return store_.GetRecord(name);
  }
  absl::Status PutRecord(std::string_view name, std::string_view value) override {
    return store_.PutRecord(name, value);
  }

  mutable int reads = 0;
  mutable size_t keys_read = 0;

 private:
  OnlineStore& store_;
};

class OnlineFeaturesTest : public OnlineTestBase {
 protected:
  void SetUp() override {
    OnlineTestBase::SetUp();
    AddCsv("customers", kCustomers);
    AddCsv("merchants", kMerchants);
    AddCsv("pairs", kPairs);
    Apply(kDefinitions);
    MaterializeOptions options;
    options.end = clock_->NowMicros();
    MustRun(options);
  }

  absl::StatusOr<OnlineQuery> Prepare(const std::vector<std::string>& refs,
                                      OnlineQueryOptions options = {}) {
    absl::StatusOr<FeatureSelection> selection = registry_->Select(refs);
    if (!selection.ok()) return selection.status();
    return OnlineQuery::Prepare(*selection, options);
  }
  absl::Status Get(const std::vector<std::string>& refs, std::vector<EntityKeyValues> keys) {
    absl::StatusOr<OnlineQuery> query = Prepare(refs);
    if (!query.ok()) return query.status();
    OnlineResult result;
    return OnlineFeatures(Online(), clock_).Get(*query, keys, result);
  }
};

TEST_F(OnlineFeaturesTest, StatusesFollowTheStoredRowsAndTheTtl) {
  OnlineResult r = Lookup({"customer_stats:amount", "customer_stats:label"},
                          StringKeys("customer_id", {"c1", "c2", "c3", "c4", "c9"}));
  ASSERT_EQ(r.rows, 5u);
  ASSERT_EQ(r.columns.size(), 2u);
  const OnlineColumn& amount = r.columns[0];
  EXPECT_EQ(amount.name, "amount");
  using S = FeatureStatus;
  EXPECT_EQ(amount.statuses, (std::vector<S>{S::kPresent, S::kPresent, S::kOutsideMaxAge,
                                             S::kNullValue, S::kNotFound}));
  EXPECT_EQ(amount.Float64(0), 12.5);
  EXPECT_EQ(amount.Float64(1), 7.25);
  EXPECT_EQ(amount.event_timestamps[2], At("2026-01-30T23:59:59Z"));  // reported, value withheld
  EXPECT_EQ(amount.event_timestamps[4], 0);
  EXPECT_EQ(r.columns[1].statuses[3], S::kPresent);
  EXPECT_EQ(r.columns[1].String(3), "a \"quoted\" label");
  EXPECT_EQ(r.columns[1].String(0), "gold");

  clock_->Advance(std::chrono::microseconds(1));  // c2 is now just over a day old
  r = Lookup({"customer_stats:amount"}, StringKeys("customer_id", {"c1", "c2"}));
  EXPECT_EQ(r.columns[0].statuses, (std::vector<S>{S::kPresent, S::kOutsideMaxAge}));
}

TEST_F(OnlineFeaturesTest, EveryTypeComesBackAsStored) {
  OnlineResult r = Lookup({"customer_stats:*"}, StringKeys("customer_id", {"c1"}));
  ASSERT_EQ(r.columns.size(), 5u);
  EXPECT_EQ(r.columns[0].Float64(0), 12.5);
  EXPECT_EQ(r.columns[1].String(0), "gold");
  EXPECT_EQ(r.columns[2].Int64(0), 3);
  EXPECT_TRUE(r.columns[3].Bool(0));
  EXPECT_EQ(r.columns[4].type, ColumnType::kTimestamp);
  EXPECT_EQ(r.columns[4].Int64(0), At("2026-01-30T08:00:00Z"));
}

TEST_F(OnlineFeaturesTest, ViewsOfDifferentEntitiesJoinOnTheirOwnKeys) {
  absl::StatusOr<OnlineQuery> query =
      Prepare({"pair_stats:n", "merchant_stats:risk", "customer_stats:visits"},
              {.full_feature_names = true});
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->feature_names(),
            (std::vector<std::string>{"pair_stats__n", "merchant_stats__risk",
                                      "customer_stats__visits"}));
  ASSERT_EQ(query->join_keys().size(), 2u);
  EXPECT_EQ(query->join_keys()[0].name, "customer_id");
  const std::vector<EntityKeyValues> keys = {IntKeys("merchant_id", {42, -7, 42}),
                                             StringKeys("customer_id", {"c1", "c1", "c2"})};
  OnlineResult r;
  ASSERT_TRUE(OnlineFeatures(Online(), clock_).Get(*query, keys, r).ok());
  using S = FeatureStatus;
  EXPECT_EQ(r.columns[0].statuses, (std::vector<S>{S::kPresent, S::kNotFound, S::kNotFound}));
  EXPECT_EQ(r.columns[0].Int64(0), 5);
  EXPECT_EQ(r.columns[1].Float64(0), 0.9);
  EXPECT_EQ(r.columns[1].Float64(1), 0.5);  // a negative int64 key
  EXPECT_EQ(r.columns[2].Int64(2), 1);
}

TEST_F(OnlineFeaturesTest, EveryViewAndKeyOfALookupIsOneStoreRead) {
  // One round trip per lookup when the store is remote (Redis pipelines one call's keys).
  absl::StatusOr<OnlineQuery> query =
      Prepare({"pair_stats:n", "merchant_stats:risk", "customer_stats:visits"},
              {.full_feature_names = true});
  ASSERT_TRUE(query.ok()) << query.status();
  const std::vector<EntityKeyValues> keys = {IntKeys("merchant_id", {42, -7}),
                                             StringKeys("customer_id", {"c1", "c2"})};
  CountingStore counting(Online());
  OnlineResult r;
  ASSERT_TRUE(OnlineFeatures(counting, clock_).Get(*query, keys, r).ok());
  EXPECT_EQ(counting.reads, 1);
  EXPECT_EQ(counting.keys_read, 6u);
  EXPECT_EQ(r.columns[0].Int64(0), 5);
  EXPECT_EQ(r.columns[1].Float64(1), 0.5);
  EXPECT_EQ(r.columns[2].Int64(1), 1);
}

TEST_F(OnlineFeaturesTest, ResultsAreReusedAcrossCalls) {
  absl::StatusOr<OnlineQuery> query = Prepare({"customer_stats:label"});
  ASSERT_TRUE(query.ok());
  OnlineResult r;
  const OnlineFeatures online(Online(), clock_);
  const std::vector<EntityKeyValues> many = {StringKeys("customer_id", {"c1", "c2", "c4"})};
  ASSERT_TRUE(online.Get(*query, many, r).ok());
  const std::vector<EntityKeyValues> one = {StringKeys("customer_id", {"c9"})};
  ASSERT_TRUE(online.Get(*query, one, r).ok());
  EXPECT_EQ(r.rows, 1u);
  EXPECT_EQ(r.columns[0].statuses, std::vector<FeatureStatus>{FeatureStatus::kNotFound});
  EXPECT_TRUE(r.columns[0].string_bytes.empty());
}

TEST_F(OnlineFeaturesTest, BadEntitiesAreRefusedNamingTheKey) {
  const std::vector<std::string> refs = {"customer_stats:amount"};
  struct Case {
    std::vector<EntityKeyValues> keys;
    std::string message;
  };
  const Case cases[] = {
      {{}, "missing join key \"customer_id\""},
      {{IntKeys("customer_id", {1})},
       "join key \"customer_id\" is string but its values are integers"},
      {{StringKeys("customer_id", {"c1"}), StringKeys("merchant_id", {"m"})},
       "\"merchant_id\" is not a join key"},
      {{StringKeys("customer_id", {"c1"}), StringKeys("customer_id", {"c2"})}, "given twice"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const absl::Status status = Get(refs, cases[i].keys);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << i << ": " << status;
    EXPECT_NE(status.message().find(cases[i].message), absl::string_view::npos)
        << i << ": " << status;
  }
  const absl::Status lengths = Get(
      {"pair_stats:n"}, {StringKeys("customer_id", {"c1", "c2"}), IntKeys("merchant_id", {42})});
  EXPECT_TRUE(absl::IsInvalidArgument(lengths));
  EXPECT_NE(lengths.message().find("differ in length"), absl::string_view::npos) << lengths;
}

TEST_F(OnlineFeaturesTest, QueriesThatCannotBeAnsweredAreRefusedWhenPrepared) {
  absl::StatusOr<OnlineQuery> collision = Prepare({"customer_stats:label", "merchant_stats:label"});
  EXPECT_TRUE(absl::IsInvalidArgument(collision.status()));
  EXPECT_NE(collision.status().message().find("full_feature_names"), absl::string_view::npos);
  EXPECT_TRUE(
      Prepare({"customer_stats:label", "merchant_stats:label"}, {.full_feature_names = true}).ok());
  absl::StatusOr<OnlineQuery> offline = Prepare({"merchant_archive:risk"});
  EXPECT_TRUE(absl::IsInvalidArgument(offline.status()));
  EXPECT_NE(offline.status().message().find("online: false"), absl::string_view::npos);
}

TEST_F(OnlineFeaturesTest, PushedRowsAreServedAndNeverReplaceNewerValues) {
  const nlohmann::json rows = nlohmann::json::parse(R"([
    {"customer_id": "c1", "event_timestamp": "2026-01-31T18:00:00Z", "amount": 99.5,
     "label": "pushed", "visits": 7, "flagged": false, "last_seen": "2026-01-31T17:00:00Z"},
    {"customer_id": "c7", "event_timestamp": "2026-01-31T20:00:00Z", "amount": 1},
    {"customer_id": "c7", "event_timestamp": "2026-01-31T21:00:00Z", "amount": 2},
    {"customer_id": "c2", "event_timestamp": "2026-01-30T00:00:00Z", "amount": 0.5}
  ])");
  absl::StatusOr<PushReport> report = PushToOnline(*registry_, Online(), "customer_stats", rows);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows, 4);
  EXPECT_EQ(report->written, 2);  // c1 newer than materialized, c7's latest
  EXPECT_EQ(report->kept, 2);     // c7's older row, c2 older than stored
  OnlineResult r = Lookup({"customer_stats:amount", "customer_stats:label"},
                          StringKeys("customer_id", {"c1", "c7", "c2"}));
  using S = FeatureStatus;
  EXPECT_EQ(r.columns[0].Float64(0), 99.5);
  EXPECT_EQ(r.columns[1].String(0), "pushed");
  EXPECT_EQ(r.columns[0].Float64(1), 2);
  EXPECT_EQ(r.columns[1].statuses[1], S::kNullValue);  // not given: null
  EXPECT_EQ(r.columns[0].Float64(2), 7.25);            // the materialized, newer value
  EXPECT_EQ(r.columns[0].event_timestamps[1], At("2026-01-31T21:00:00Z"));
}

TEST_F(OnlineFeaturesTest, BadPushesAreRefusedAndWriteNothing) {
  struct Case {
    const char* view;
    const char* rows;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"nothing", R"([])", absl::StatusCode::kNotFound, "nothing"},
      {"merchant_archive", R"([])", absl::StatusCode::kFailedPrecondition, "online: false"},
      {"customer_stats", R"({"a": 1})", absl::StatusCode::kInvalidArgument, "array"},
      {"customer_stats", R"([{"event_timestamp": "2026-01-31T00:00:00Z"}])",
       absl::StatusCode::kInvalidArgument, "rows[0]: join key \"customer_id\" missing"},
      {"customer_stats", R"([{"customer_id": "c9", "event_timestamp": "2026-01-31T00:00:00Z"},
                             {"customer_id": "c9"}])",
       absl::StatusCode::kInvalidArgument, "rows[1]: \"event_timestamp\" (the event time) missing"},
      {"customer_stats",
       R"([{"customer_id": "c9", "event_timestamp": "2026-01-31T00:00:00Z", "amount": "x"}])",
       absl::StatusCode::kInvalidArgument, "feature \"amount\" is float64, got \"x\""},
      {"customer_stats",
       R"([{"customer_id": "c9", "event_timestamp": "2026-01-31T00:00:00Z", "colour": 1}])",
       absl::StatusCode::kInvalidArgument, "unknown field \"colour\""},
      {"merchant_stats", R"([{"merchant_id": "m1", "event_timestamp": 0}])",
       absl::StatusCode::kInvalidArgument, "join key \"merchant_id\" is int64"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PushReport> report =
        PushToOnline(*registry_, Online(), c.view, nlohmann::json::parse(c.rows));
    ASSERT_FALSE(report.ok()) << c.rows;
    EXPECT_EQ(report.status().code(), c.code) << report.status();
    EXPECT_NE(report.status().message().find(c.message), std::string::npos) << report.status();
  }
  nlohmann::json many = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxPushRows; ++i) many.push_back(nlohmann::json::object());
  EXPECT_EQ(PushToOnline(*registry_, Online(), "customer_stats", many).status().code(),
            absl::StatusCode::kResourceExhausted);
  // c9 was in a refused push: nothing of it was written.
  OnlineResult r = Lookup({"customer_stats:amount"}, StringKeys("customer_id", {"c9"}));
  EXPECT_EQ(r.columns[0].statuses[0], FeatureStatus::kNotFound);
}

}  // namespace
}  // namespace ferry::features
