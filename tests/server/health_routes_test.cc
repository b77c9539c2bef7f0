#include "server/health_routes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "core/build_info.h"

namespace ferry::server {
namespace {

struct Reply {
  int status;
  nlohmann::json body;
};

Reply Get(const Router& router, const std::string& target) {
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(Method::kGet, target);
  Response response = router.Dispatch(request, authorizer);
  EXPECT_EQ(response.content_type, kJsonContentType) << target;
  return Reply{response.status, nlohmann::json::parse(response.body)};
}

TEST(HealthRoutesTest, AnswersLivenessAndMetadataAlways) {
  Router router;
  ASSERT_TRUE(AddHealthRoutes(router, [] { return false; }).ok());

  Reply healthz = Get(router, "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body, nlohmann::json({{"status", "ok"}}));

  Reply live = Get(router, "/v2/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, nlohmann::json({{"live", true}}));

  Reply metadata = Get(router, "/v2");
  EXPECT_EQ(metadata.status, 200);
  EXPECT_EQ(metadata.body["name"], "ferry");
  EXPECT_EQ(metadata.body["version"], core::kFerryVersion);
  EXPECT_EQ(metadata.body["extensions"], nlohmann::json::array());
}

TEST(HealthRoutesTest, ReadinessFollowsTheCallback) {
  std::atomic<bool> ready = false;
  Router router;
  ASSERT_TRUE(AddHealthRoutes(router, [&ready] { return ready.load(); }).ok());

  Reply readyz = Get(router, "/readyz");
  EXPECT_EQ(readyz.status, 503);
  EXPECT_EQ(readyz.body["status"], "not_ready");
  Reply oip = Get(router, "/v2/health/ready");
  EXPECT_EQ(oip.status, 400);
  EXPECT_EQ(oip.body, nlohmann::json({{"ready", false}}));

  ready = true;
  readyz = Get(router, "/readyz");
  EXPECT_EQ(readyz.status, 200);
  EXPECT_EQ(readyz.body["status"], "ready");
  oip = Get(router, "/v2/health/ready");
  EXPECT_EQ(oip.status, 200);
  EXPECT_EQ(oip.body, nlohmann::json({{"ready", true}}));
}

TEST(HealthRoutesTest, NoCallbackMeansAlwaysReady) {
  Router router;
  ASSERT_TRUE(AddHealthRoutes(router).ok());
  EXPECT_EQ(Get(router, "/readyz").status, 200);
  EXPECT_EQ(Get(router, "/v2/health/ready").status, 200);
}

TEST(HealthRoutesTest, AddingTwiceIsAlreadyExists) {
  Router router;
  ASSERT_TRUE(AddHealthRoutes(router).ok());
  EXPECT_EQ(AddHealthRoutes(router).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace ferry::server
