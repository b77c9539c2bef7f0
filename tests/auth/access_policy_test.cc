// The access rules against the real route table of `ferry server`.

#include "auth/access_policy.h"

#include <gtest/gtest.h>

#include <set>

#include "api/routes.h"
#include "core/clock.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::auth {
namespace {

using server::Method;

TEST(AccessPolicyTest, EveryRouteOfTheServerNeedsTheRightScope) {
  testing::TempDir temp;
  auto workspace =
      std::move(testing::InitWorkspace(temp / "ws", core::SystemClock::Shared())).value();
  auto router = api::BuildRouter(*workspace, std::make_shared<std::atomic<bool>>(true));
  ASSERT_TRUE(router.ok()) << router.status();

  std::set<std::pair<Method, std::string>> routes;
  (*router)->ForEachRoute([&](Method method, std::string_view pattern) {
    routes.emplace(method, std::string(pattern));
  });
  ASSERT_GT(routes.size(), 50u);

  // The table names only routes that exist (a renamed route would otherwise fall to
  // its method's default without anyone noticing).
  ForEachPolicyRoute([&](Method method, std::string_view pattern) {
    EXPECT_TRUE(routes.contains({method, std::string(pattern)}))
        << server::MethodName(method) << " " << pattern << " is in the policy but not served";
  });

  const std::set<std::string> open = {"/healthz",         "/readyz", "/v2/health/live",
                                      "/v2/health/ready", "/ui",     "/ui/{path...}",
                                      "/ui/assets/{file}"};
  for (const auto& [method, pattern] : routes) {
    const ScopeSet needed = RequiredScopes(method, pattern);
    SCOPED_TRACE(std::string(server::MethodName(method)) + " " + pattern);
    if (open.contains(pattern)) {
      EXPECT_EQ(needed, 0);
      continue;
    }
    EXPECT_NE(needed, 0) << "only the health probes and the dashboard's files are open";
    if (method == Method::kDelete || pattern.starts_with("/api/v1/tokens") ||
        pattern == "/api/v1/audit") {
      EXPECT_EQ(needed, kScopeAdmin);
    } else if (pattern.ends_with("/infer") || pattern.ends_with(":predict")) {
      EXPECT_EQ(needed, kScopePredict);
    } else if (method == Method::kGet || method == Method::kHead) {
      EXPECT_NE(needed & kScopeRead, 0);
      EXPECT_EQ(needed & (kScopeWrite | kScopeAdmin), 0);
    } else if (pattern != "/api/v1/runs/search" && pattern != "/api/v1/features/online" &&
               pattern != "/api/v1/feedback") {
      EXPECT_EQ(needed, kScopeWrite);
      EXPECT_TRUE(IsAudited(method, pattern));
    }
  }
  // Unknown routes fall to their method's default, never open.
  EXPECT_EQ(RequiredScopes(Method::kGet, "/api/v9/new"), kScopeRead);
  EXPECT_EQ(RequiredScopes(Method::kHead, "/api/v1/models"), kScopeRead);
  EXPECT_EQ(RequiredScopes(Method::kPost, "/api/v9/new"), kScopeWrite);
  EXPECT_EQ(RequiredScopes(Method::kPatch, "/api/v9/new"), kScopeWrite);
  EXPECT_EQ(RequiredScopes(Method::kDelete, "/api/v9/new"), kScopeAdmin);
  EXPECT_FALSE(IsAudited(Method::kPost, "/v2/models/{model}/infer"));
  EXPECT_FALSE(IsAudited(Method::kPost, "/api/v1/runs/search"));
  EXPECT_TRUE(IsAudited(Method::kDelete, "/api/v1/tokens/{name}"));
}

}  // namespace
}  // namespace ferry::auth
