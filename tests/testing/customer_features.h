#pragma once

// Feature definitions several suites share: the entity customer (join key customer_id,
// a string), the view customer_stats over the dataset customer_daily (avg_amount
// float64, txn_count int64) and the service fraud (customer_stats:*), with rows of
// customer_daily for them to read.

namespace ferry::testing {

inline constexpr char kCustomerDailyCsv[] =
    "customer_id,event_timestamp,avg_amount,txn_count\n"
    "c1,2026-01-01T00:00:00Z,10.5,3\n"
    "c2,2026-01-02T00:00:00Z,7.25,1\n";

inline constexpr char kCustomerFeatureDefinitions[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customer_daily
    timestamp_field: event_timestamp
    features:
      - {name: avg_amount, type: float64}
      - {name: txn_count, type: int64}
feature_services:
  - name: fraud
    features: ["customer_stats:*"]
)";

}  // namespace ferry::testing
