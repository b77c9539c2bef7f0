// TokenAuthorizer in-process: every scope allowed and refused, expired and revoked
// tokens, rate limits, and what reaches the audit log.

#include "auth/token_authorizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "core/clock.h"
#include "server/router.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::auth {
namespace {

using server::Method;
using server::Request;
using server::Response;

TokenSpec Spec(std::string name, std::string scope) {
  TokenSpec spec;
  spec.name = std::move(name);
  spec.scope = std::move(scope);
  return spec;
}

TokenAuthorizer::Options Options(bool require_tokens, double rate = 0, int burst = 0) {
  TokenAuthorizer::Options options;
  options.require_tokens = require_tokens;
  options.rate_limit_per_second = rate;
  options.rate_limit_burst = burst;
  return options;
}

AuditQuery Query(std::string actor, std::string outcome, int limit = 100,
                 std::optional<int64_t> before_id = std::nullopt) {
  AuditQuery query;
  query.actor = std::move(actor);
  query.outcome = std::move(outcome);
  query.limit = limit;
  query.before_id = before_id;
  return query;
}

// The server's route kinds, one of each, answering 200 (DELETE 200 too).
std::shared_ptr<server::Router> KindsRouter() {
  auto router = std::make_shared<server::Router>();
  auto ok = [](Request&) -> absl::StatusOr<Response> { return server::JsonTextResponse("{}"); };
  for (auto [method, pattern] : std::initializer_list<std::pair<Method, const char*>>{
           {Method::kGet, "/healthz"},
           {Method::kGet, "/api/v1/models"},
           {Method::kPost, "/api/v1/models/{name}/versions"},
           {Method::kPost, "/v2/models/{model}/infer"},
           {Method::kGet, "/v2/models/{model}"},
           {Method::kDelete, "/api/v1/models/{name}/versions/{ref}"},
           {Method::kPost, "/api/v1/tokens"}}) {
    EXPECT_TRUE(router->Add(method, pattern, ok).ok());
  }
  return router;
}

class TokenAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    tokens_.emplace(
        TokenStore::Open(workspace_->metadata(), core::SystemClock::Shared()->NowMicros()).value());
    audit_ = AuditWriter::Open(workspace_->metadata(), temp_ / "audit.jsonl",
                               core::SystemClock::Shared()->NowMicros())
                 .value();
    for (const char* scope : {"read", "predict", "write", "admin"}) {
      text_[scope] =
          tokens_->Create(Spec(scope, scope), core::SystemClock::Shared()->NowMicros())->text;
    }
  }

  std::shared_ptr<TokenAuthorizer> Open(TokenAuthorizer::Options options = Options(true)) {
    return TokenAuthorizer::Open(workspace_->metadata(), audit_, options).value();
  }

  // Dispatches as the server does, OnResponse included; returns the status.
  int Send(TokenAuthorizer& authorizer, Method method, std::string_view target,
           std::string_view token, std::string_view peer = "10.0.0.1:5000") {
    Request request = Request::Make(method, target);
    request.SetRemoteAddress(peer);
    if (!token.empty())
      request.AddHeader("Authorization", std::string("Bearer ") + std::string(token));
    Response response = router_->Dispatch(request, authorizer);
    if (!request.route_pattern().empty()) authorizer.OnResponse(request, response);
    last_ = response;
    return response.status;
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::optional<TokenStore> tokens_;
  std::shared_ptr<AuditWriter> audit_;
  std::map<std::string, std::string> text_;
  std::shared_ptr<server::Router> router_ = KindsRouter();
  Response last_;
};

TEST_F(TokenAuthorizerTest, EachScopeIsAllowedAndRefusedWhereItShouldBe) {
  auto authorizer = Open();
  struct Case {
    Method method;
    const char* target;
    std::set<std::string> allowed;
  };
  const Case cases[] = {
      {Method::kGet, "/api/v1/models", {"read", "write", "admin"}},
      {Method::kHead, "/api/v1/models", {"read", "write", "admin"}},
      {Method::kPost, "/api/v1/models/m/versions", {"write", "admin"}},
      {Method::kPost, "/v2/models/m/infer", {"predict", "write", "admin"}},
      {Method::kGet, "/v2/models/m", {"read", "predict", "write", "admin"}},
      {Method::kDelete, "/api/v1/models/m/versions/1", {"admin"}},
      {Method::kPost, "/api/v1/tokens", {"admin"}},
  };
  for (const Case& c : cases) {
    for (const char* scope : {"read", "predict", "write", "admin"}) {
      const int status = Send(*authorizer, c.method, c.target, text_[scope]);
      SCOPED_TRACE(std::string(server::MethodName(c.method)) + " " + c.target + " as " + scope);
      if (c.allowed.contains(scope)) {
        EXPECT_EQ(status, 200) << last_.body;
      } else {
        EXPECT_EQ(status, 403) << last_.body;
        EXPECT_NE(last_.body.find("permission_denied"), std::string::npos);
        EXPECT_NE(last_.body.find(std::string("scope ") + scope), std::string::npos) << last_.body;
      }
    }
    // No token at all: 401 with a challenge, whatever the route.
    EXPECT_EQ(Send(*authorizer, c.method, c.target, ""), 401);
    bool challenged = false;
    for (const auto& [name, value] : last_.headers) challenged |= name == "WWW-Authenticate";
    EXPECT_TRUE(challenged);
  }
  // The health probe needs nothing.
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/healthz", ""), 200);
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/healthz", "garbage"), 200);
}

TEST_F(TokenAuthorizerTest, BadExpiredAndRevokedTokensAre401) {
  TokenAuthorizer::Options fast = Options(true);
  fast.reload_interval = std::chrono::milliseconds(50);
  auto authorizer = Open(fast);
  const std::string good = text_["admin"];
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", good), 200);
  // Wrong secret with a real id, malformed, another scheme.
  std::string wrong = good;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", wrong), 401);
  EXPECT_NE(last_.body.find("unknown or revoked"), std::string::npos);
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", "ferry_nope"), 401);
  Request basic = Request::Make(Method::kGet, "/api/v1/models");
  basic.AddHeader("Authorization", "Basic " + good);
  EXPECT_EQ(router_->Dispatch(basic, *authorizer).status, 401);

  // A token made after the authorizer loaded is usable at once (a miss reloads).
  const std::string fresh =
      tokens_->Create(Spec("fresh", "read"), core::SystemClock::Shared()->NowMicros())->text;
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", fresh), 200);

  // Expiry follows the wall clock.
  TokenSpec brief_spec = Spec("brief", "read");
  brief_spec.expires_at_micros = core::SystemClock::Shared()->NowMicros() + 400'000;
  const std::string brief =
      tokens_->Create(brief_spec, core::SystemClock::Shared()->NowMicros())->text;
  // Loaded by the next reload (a second miss within 250 ms does not reload).
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", brief), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", brief), 401);
  EXPECT_NE(last_.body.find("expired"), std::string::npos);

  // Revocation (by another handle, as the CLI would) takes effect within the reload.
  ASSERT_TRUE(tokens_->Revoke("admin", core::SystemClock::Shared()->NowMicros()).ok());
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    refused = Send(*authorizer, Method::kGet, "/api/v1/models", good) == 401;
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", text_["read"]), 200);
}

TEST_F(TokenAuthorizerTest, RateLimitsPerTokenAndPerClient) {
  TokenSpec limited_spec = Spec("limited", "read");
  limited_spec.rate_limit_per_second = 2;
  const std::string limited =
      tokens_->Create(limited_spec, core::SystemClock::Shared()->NowMicros())->text;
  auto authorizer = Open(Options(true, 1000));
  // The token's own limit: a burst of 2, then 429 with Retry-After.
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", limited), 200);
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", limited), 200);
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", limited), 429);
  EXPECT_NE(last_.body.find("rate limit of 2"), std::string::npos) << last_.body;
  bool retry_after = false;
  for (const auto& [name, value] : last_.headers) retry_after |= name == "Retry-After";
  EXPECT_TRUE(retry_after);
  // Others are not affected; the bucket refills.
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", text_["read"]), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Send(*authorizer, Method::kGet, "/api/v1/models", limited), 200);

  // Without tokens, each client address has the server's limit.
  auto open = Open(Options(false, 1, 1));
  EXPECT_EQ(Send(*open, Method::kPost, "/api/v1/models/m/versions", "", "10.0.0.7:1"), 200);
  EXPECT_EQ(Send(*open, Method::kPost, "/api/v1/models/m/versions", "", "10.0.0.7:2"), 429);
  EXPECT_EQ(Send(*open, Method::kPost, "/api/v1/models/m/versions", "", "10.0.0.8:1"), 200);
}

TEST_F(TokenAuthorizerTest, MutationsAndRefusalsAreAudited) {
  auto authorizer = Open();
  Send(*authorizer, Method::kPost, "/api/v1/models/churn/versions", text_["write"]);      // ok
  Send(*authorizer, Method::kDelete, "/api/v1/models/churn/versions/1", text_["write"]);  // 403
  Send(*authorizer, Method::kGet, "/api/v1/models", "");                                  // 401
  Send(*authorizer, Method::kPost, "/v2/models/churn/infer", text_["predict"]);  // not audited
  Send(*authorizer, Method::kGet, "/api/v1/models", text_["read"]);              // not audited
  audit_->Flush();
  absl::StatusOr<std::vector<AuditEntry>> entries =
      ListAudit(workspace_->metadata(), Query("", ""));
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  const AuditEntry& created = (*entries)[2];  // oldest last
  EXPECT_EQ(created.actor, "token:write");
  EXPECT_EQ(created.source, "10.0.0.1:5000");
  EXPECT_EQ(created.action, "POST /api/v1/models/{name}/versions");
  EXPECT_EQ(created.target, "/api/v1/models/churn/versions");
  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(created.outcome, "ok");
  EXPECT_GT(created.at_micros, core::SystemClock::Shared()->NowMicros() - 60'000'000);
  EXPECT_EQ((*entries)[1].outcome, "denied");
  EXPECT_EQ((*entries)[1].status, 403);
  EXPECT_NE((*entries)[1].detail.find("needs admin"), std::string::npos) << (*entries)[1].detail;
  EXPECT_EQ((*entries)[0].actor, "anonymous");
  EXPECT_EQ((*entries)[0].status, 401);
  // Filters.
  EXPECT_EQ(ListAudit(workspace_->metadata(), Query("", "denied"))->size(), 2u);
  EXPECT_EQ(ListAudit(workspace_->metadata(), Query("token:write", ""))->size(), 2u);
  EXPECT_EQ(ListAudit(workspace_->metadata(), Query("", "", 1))->size(), 1u);
  EXPECT_EQ(ListAudit(workspace_->metadata(), Query("", "", 100, (*entries)[1].id))->size(), 1u);
  EXPECT_FALSE(ListAudit(workspace_->metadata(), Query("", "maybe")).ok());
  // The same entries went to the JSON-lines file, one object per line; no token in it.
  std::ifstream file(temp_ / "audit.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(file, line)) {
    nlohmann::json entry = nlohmann::json::parse(line);
    EXPECT_TRUE(entry.contains("actor"));
    for (const auto& [scope, token] : text_)
      EXPECT_EQ(line.find(token.substr(19)), std::string::npos);
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  // A well-formed token that fails is named by its (public) id; an expired one by name.
  std::string wrong = text_["read"];
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  Send(*authorizer, Method::kGet, "/api/v1/models", wrong);
  audit_->Flush();
  EXPECT_EQ(ListAudit(workspace_->metadata(), Query("", "", 1))->front().actor,
            "unverified-token:" + wrong.substr(6, 12));
}

TEST_F(TokenAuthorizerTest, WithoutTokensEverythingIsAnonymousButStillAudited) {
  auto authorizer = Open(Options(false));
  EXPECT_EQ(Send(*authorizer, Method::kDelete, "/api/v1/models/m/versions/1", ""), 200);
  EXPECT_EQ(Send(*authorizer, Method::kPost, "/api/v1/tokens", "garbage"), 200);
  audit_->Flush();
  auto entries = ListAudit(workspace_->metadata(), Query("", ""));
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].actor, "anonymous");
}

}  // namespace
}  // namespace ferry::auth
