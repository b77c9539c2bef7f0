#pragma once

// The feature routes on a workspace with two feature views (customer_stats with a 1-day
// ttl, merchant_stats), a service "fraud" and the online store materialized up to
// 2026-02-01: what the feature route tests start from.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "api/feature_routes.h"
#include "features/online_test_support.h"
#include "server/authorizer.h"

namespace ferry::api {

inline const std::string kDefinitions = std::string(features::kCustomerAndMerchant) + R"(
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customers
    timestamp_field: event_timestamp
    ttl: 1d
    features:
      - {name: amount, type: float64}
      - {name: label, type: string}
      - {name: flagged, type: bool}
  - name: merchant_stats
    entities: [merchant]
    source: merchants
    timestamp_field: event_timestamp
    features:
      - {name: risk, type: float64}
feature_services:
  - name: fraud
    features: [merchant_stats:risk, customer_stats:amount]
)";

inline constexpr char kCustomers[] =
    "event_timestamp,customer_id,amount,label,flagged\n"
    "2026-01-31T12:00:00Z,c1,12.5,gold,true\n"
    "2026-01-30T00:00:00Z,c2,7.25,\"a \"\"b\"\"\",false\n"
    "2026-01-31T06:30:00.25Z,c3,,x,true\n";
inline constexpr char kMerchants[] =
    "event_timestamp,merchant_id,risk\n"
    "2026-01-10T00:00:00Z,42,0.9\n";

class FeatureRoutesTest : public features::OnlineTestBase {
 protected:
  void SetUp() override {
    OnlineTestBase::SetUp();
    AddCsv("customers", kCustomers);
    AddCsv("merchants", kMerchants);
    Apply(kDefinitions);
    FeatureRoutesOptions options;
    options.max_entity_rows = 5;
    options.definitions_refresh = std::chrono::milliseconds(0);
    auto online =
        std::make_shared<features::SharedOnlineStore>(features::OnlineStorePath(*workspace_));
    ASSERT_TRUE(AddFeatureRoutes(router_, *workspace_, online, options).ok());
    ASSERT_EQ(Post("/api/v1/features/materialize", R"({"end": "2026-02-01"})").status, 200);
  }

  server::Response Post(const std::string& path, const std::string& body) {
    server::Request request = server::Request::Make(server::Method::kPost, path, body);
    return router_.Dispatch(request, authorizer_);
  }
  server::Response Get(const std::string& path) {
    server::Request request = server::Request::Make(server::Method::kGet, path);
    return router_.Dispatch(request, authorizer_);
  }

  server::Router router_;
  server::AllowAllAuthorizer authorizer_;
};

}  // namespace ferry::api
