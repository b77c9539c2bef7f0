#include "api/feature_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "feature_routes_test_support.h"

namespace ferry::api {
namespace {

using features::At;

TEST_F(FeatureRoutesTest, OnlineFeaturesHaveFeastsColumnMajorShape) {
  server::Response r = Post("/api/v1/features/online", R"({
    "features": ["customer_stats:amount", "customer_stats:label", "customer_stats:flagged"],
    "entities": {"customer_id": ["c1", "c2", "c3", "c9"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, server::kJsonContentType);
  EXPECT_EQ(r.body,
            R"({"metadata":{"feature_names":["customer_id","amount","label","flagged"]},)"
            R"("results":[)"
            R"({"values":["c1","c2","c3","c9"],"statuses":["PRESENT","PRESENT","PRESENT","PRESENT"],)"
            R"("event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z",)"
            R"("1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},)"
            R"({"values":[12.5,null,null,null],)"
            R"("statuses":["PRESENT","OUTSIDE_MAX_AGE","NULL_VALUE","NOT_FOUND"],)"
            R"("event_timestamps":["2026-01-31T12:00:00Z","2026-01-30T00:00:00Z",)"
            R"("2026-01-31T06:30:00.250000Z","1970-01-01T00:00:00Z"]},)"
            R"({"values":["gold",null,"x",null],)"
            R"("statuses":["PRESENT","OUTSIDE_MAX_AGE","PRESENT","NOT_FOUND"],)"
            R"("event_timestamps":["2026-01-31T12:00:00Z","2026-01-30T00:00:00Z",)"
            R"("2026-01-31T06:30:00.250000Z","1970-01-01T00:00:00Z"]},)"
            R"({"values":[true,null,true,null],)"
            R"("statuses":["PRESENT","OUTSIDE_MAX_AGE","PRESENT","NOT_FOUND"],)"
            R"("event_timestamps":["2026-01-31T12:00:00Z","2026-01-30T00:00:00Z",)"
            R"("2026-01-31T06:30:00.250000Z","1970-01-01T00:00:00Z"]}]})");
}

TEST_F(FeatureRoutesTest, ServicesAndFullFeatureNames) {
  clock_->Set(At("2026-01-31T00:00:00Z"));  // c2 is within its ttl now
  server::Response r = Post("/api/v1/features/online", R"({"feature_service": "fraud",
    "entities": {"merchant_id": [42], "customer_id": ["c2"]}, "full_feature_names": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const nlohmann::json j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["metadata"]["feature_names"],
            nlohmann::json({"merchant_id", "customer_id", "merchant_stats__risk",
                            "customer_stats__amount"}));
  EXPECT_EQ(j["results"][0]["values"], nlohmann::json({42}));
  EXPECT_EQ(j["results"][2]["values"], nlohmann::json({0.9}));
  EXPECT_EQ(j["results"][3]["values"], nlohmann::json({7.25}));
  EXPECT_EQ(j["results"][3]["statuses"], nlohmann::json({"PRESENT"}));
}

TEST_F(FeatureRoutesTest, BadRequestsGetClearErrors) {
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {"{", 400, "not valid JSON"},
      {"[]", 400, "JSON object"},
      {R"({"entities": {"customer_id": ["c1"]}})", 400, "either \"features\" or"},
      {R"({"features": ["customer_stats:amount"], "feature_service": "fraud",
           "entities": {"customer_id": ["c1"]}})", 400, "either \"features\" or"},
      {R"({"features": ["customer_stats:amount"]})", 400, "missing \"entities\""},
      {R"({"features": ["customer_stats:amount"], "entities": {"customer_id": "c1"}})", 400,
       "entities.customer_id must be a list"},
      {R"({"features": ["nope:amount"], "entities": {"customer_id": ["c1"]}})", 404,
       "no feature view named \"nope\""},
      {R"({"features": ["customer_stats:nope"], "entities": {"customer_id": ["c1"]}})", 404,
       "has no feature \"nope\""},
      {R"({"features": ["customer_stats"], "entities": {"customer_id": ["c1"]}})", 400, ""},
      {R"({"feature_service": "nope", "entities": {"customer_id": ["c1"]}})", 404, "nope"},
      {R"({"features": ["customer_stats:amount"], "entities": {}})", 400,
       "lacks join key \"customer_id\""},
      {R"({"features": ["customer_stats:amount"], "entities": {"customer_id": ["c1", 7]}})", 400,
       "entities.customer_id[1]: join key customer_id is string; expected a string, got 7"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": ["42"]}})", 400,
       "entities.merchant_id[0]: join key merchant_id is int64; expected an integer, got \"42\""},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [4.5]}})", 400,
       "expected an integer, got 4.5"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [1], "x": [1]}})",
       400, "entities.x is not a join key"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [18446744073709551615]}})",
       400, "expected an integer, got 18446744073709551615"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [1], "merchant_id": [2]}})",
       400, "given twice"},
      {R"({"features": ["merchant_stats:risk"], "features": ["merchant_stats:risk"],
           "entities": {"merchant_id": [1]}})", 400, "\"features\" is given twice"},
      {R"({"feature_service": "fraud", "entities": {"merchant_id": [1, 2], "customer_id": ["a"]}})",
       400, "differ in length"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [1, 2, 3, 4, 5, 6]}})",
       413, "at most 5 entity rows"},
      {R"({"features": ["merchant_stats:risk"], "entities": {"merchant_id": [1]}, "x": 1})", 400,
       "unknown field \"x\""},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    server::Response r = Post("/api/v1/features/online", cases[i].body);
    EXPECT_EQ(r.status, cases[i].status) << i << ": " << r.body;
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.contains("error")) << i << ": " << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(cases[i].message), std::string::npos)
        << i << ": " << r.body;
  }
}

TEST_F(FeatureRoutesTest, MaterializeRunsIncrementallyAndReportsFreshness) {
  server::Response again = Post("/api/v1/features/materialize",
                                R"({"incremental": true, "end": "2026-02-01"})");
  ASSERT_EQ(again.status, 200) << again.body;
  const nlohmann::json runs = nlohmann::json::parse(again.body)["views"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_TRUE(runs[0]["up_to_date"].get<bool>());

  EXPECT_EQ(Post("/api/v1/features/materialize", R"({"incremental": true, "start": "2026-01-01"})")
                .status,
            400);
  EXPECT_EQ(Post("/api/v1/features/materialize", R"({"end": "yesterday"})").status, 400);
  EXPECT_EQ(Post("/api/v1/features/materialize", R"({"views": ["nope"]})").status, 404);

  clock_->Set(At("2026-02-03T00:00:00Z"));
  server::Response list = Get("/api/v1/features");
  ASSERT_EQ(list.status, 200) << list.body;
  const nlohmann::json views = nlohmann::json::parse(list.body)["feature_views"];
  ASSERT_EQ(views.size(), 2u);
  // Freshness by the workspace's clock, not the caller's.
  for (const nlohmann::json& v : views) {
    ASSERT_TRUE(v["newest_event"].is_string()) << v.dump();
    EXPECT_DOUBLE_EQ(
        v["freshness_seconds"].get<double>(),
        static_cast<double>(At("2026-02-03T00:00:00Z") - At(v["newest_event"].get<std::string>())) /
            1e6)
        << v.dump();
  }
  EXPECT_EQ(views[0]["last_materialization"]["window_end"], "2026-02-01T00:00:00Z");
  EXPECT_EQ(views[0]["last_materialization"]["keys_written"], 3);

  server::Response view = Get("/api/v1/features/views/merchant_stats");
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(nlohmann::json::parse(view.body)["source_version"], "merchants@1");
  EXPECT_EQ(Get("/api/v1/features/views/nope").status, 404);
}

}  // namespace
}  // namespace ferry::api
