// The dashboard's routes against the assets built into this binary (FERRY_BUILD_UI=ON).

#include "ui/ui_routes.h"

#include <gtest/gtest.h>

#include <string>

#include "core/sha256.h"
#include "core/strings.h"
#include "ui/ui_assets.h"

namespace ferry::ui {
namespace {

using server::Method;
using server::Request;
using server::Response;

std::string HeaderOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

class UiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(AddUiRoutes(router_).ok());
    for (const UiAsset& asset : UiAssets()) {
      if (asset.path.starts_with("assets/") && asset.path.ends_with(".js")) script_ = &asset;
    }
    ASSERT_NE(FindUiAsset("index.html"), nullptr) << "built with FERRY_BUILD_UI=ON";
    ASSERT_NE(script_, nullptr);
  }

  Response Get(std::string_view target,
               std::vector<std::pair<std::string, std::string>> headers = {},
               Method method = Method::kGet) {
    Request request = Request::Make(method, target);
    for (const auto& [name, value] : headers) request.AddHeader(name, value);
    return router_.Dispatch(request, authorizer_);
  }

  static void ExpectSecurityHeaders(const Response& response) {
    const std::string csp = HeaderOf(response, "Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(HeaderOf(response, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(response, "Referrer-Policy"), "no-referrer");
  }

  server::Router router_;
  server::AllowAllAuthorizer authorizer_;
  const UiAsset* script_ = nullptr;
};

TEST_F(UiRoutesTest, BarePathRedirectsToTheSlash) {
  Response response = Get("/ui");
  EXPECT_EQ(response.status, 301);
  EXPECT_EQ(HeaderOf(response, "Location"), "/ui/");
  ExpectSecurityHeaders(response);
}

TEST_F(UiRoutesTest, EveryClientRouteIsTheIndexRevalidatedEachTime) {
  const UiAsset& index = *FindUiAsset("index.html");
  for (const char* target : {"/ui/", "/ui/runs", "/ui/runs?run=abc", "/ui/models/fraud/3"}) {
    SCOPED_TRACE(target);
    Response response = Get(target);
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.body, index.body);
    EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(HeaderOf(response, "Cache-Control"), "no-cache");
    EXPECT_EQ(HeaderOf(response, "ETag"), index.etag);
    ExpectSecurityHeaders(response);
  }
  // The page loads its script from a path the asset route serves, and has no inline one.
  EXPECT_NE(index.body.find(core::Cat("src=\"/ui/", script_->path, "\"")), std::string::npos)
      << index.body;
  EXPECT_EQ(index.body.find("<script>"), std::string::npos);
}

TEST_F(UiRoutesTest, AssetsAreImmutableWithTheirHashAsETag) {
  Response response = Get(core::Cat("/ui/", script_->path));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, script_->body);
  EXPECT_EQ(response.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(response, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(response, "ETag"),
            core::Cat("\"sha256-", core::Sha256::Of(script_->body).ToHex(), "\""));
  EXPECT_EQ(HeaderOf(response, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(response, "Vary"), "Accept-Encoding");
  ExpectSecurityHeaders(response);
}

TEST_F(UiRoutesTest, MatchingIfNoneMatchIs304WithoutBody) {
  const std::string etag = HeaderOf(Get(core::Cat("/ui/", script_->path)), "ETag");
  Response response = Get(core::Cat("/ui/", script_->path), {{"If-None-Match", etag}});
  EXPECT_EQ(response.status, 304);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(HeaderOf(response, "ETag"), etag);
  EXPECT_EQ(Get(core::Cat("/ui/", script_->path), {{"If-None-Match", "\"other\", " + etag}}).status,
            304);
  EXPECT_EQ(Get(core::Cat("/ui/", script_->path), {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(UiRoutesTest, GzipOnlyWhenAccepted) {
  ASSERT_FALSE(script_->gzip_body.empty()) << "a script compresses";
  const std::string path = core::Cat("/ui/", script_->path);
  struct Case {
    const char* accept;
    bool gzip;
  };
  for (const Case& c : {Case{"gzip", true}, Case{"br, gzip;q=0.5", true}, Case{"GZIP", true},
                        Case{"*", true}, Case{"gzip;q=0", false}, Case{"gzip; q=0.000, *", false},
                        Case{"br", false}, Case{"identity", false}, Case{"*;q=0", false}}) {
    SCOPED_TRACE(c.accept);
    Response response = Get(path, {{"Accept-Encoding", c.accept}});
    ASSERT_EQ(response.status, 200);
    if (c.gzip) {
      EXPECT_EQ(HeaderOf(response, "Content-Encoding"), "gzip");
      EXPECT_EQ(response.body, script_->gzip_body);
      ASSERT_GE(response.body.size(), 2u);
      EXPECT_EQ(static_cast<uint8_t>(response.body[0]), 0x1f);  // the gzip magic
      EXPECT_EQ(static_cast<uint8_t>(response.body[1]), 0x8b);
      // Another representation, another ETag; a 304 for it too.
      const std::string etag = HeaderOf(response, "ETag");
      EXPECT_NE(etag, script_->etag);
      EXPECT_EQ(Get(path, {{"Accept-Encoding", c.accept}, {"If-None-Match", etag}}).status, 304);
    } else {
      EXPECT_EQ(HeaderOf(response, "Content-Encoding"), "");
      EXPECT_EQ(response.body, script_->body);
    }
  }
}

TEST_F(UiRoutesTest, UnknownAssetsAre404NotThePage) {
  for (const char* target : {"/ui/assets/nope.js", "/ui/assets/x/y.js", "/ui/assets/"}) {
    SCOPED_TRACE(target);
    Response response = Get(target);
    EXPECT_EQ(response.status, 404);
    EXPECT_NE(response.body.find("not_found"), std::string::npos);
    ExpectSecurityHeaders(response);
  }
  // Traversal is refused by the router before any UI route runs.
  EXPECT_EQ(Get("/ui/assets/../index.html").status, 400);
  EXPECT_EQ(Get("/ui/assets/%2e%2e/index.html").status, 400);
}

TEST_F(UiRoutesTest, OnlyGetAndHead) {
  EXPECT_EQ(Get("/ui/", {}, Method::kHead).status, 200);
  EXPECT_EQ(Get("/ui/", {}, Method::kPost).status, 405);
  EXPECT_EQ(Get(core::Cat("/ui/", script_->path), {}, Method::kDelete).status, 405);
}

TEST(UiAssetsTest, TableIsSortedForLookup) {
  std::span<const UiAsset> assets = UiAssets();
  for (size_t i = 1; i < assets.size(); ++i) EXPECT_LT(assets[i - 1].path, assets[i].path);
  for (const UiAsset& asset : assets) EXPECT_EQ(FindUiAsset(asset.path), &asset);
  EXPECT_EQ(FindUiAsset("nope"), nullptr);
}

}  // namespace
}  // namespace ferry::ui
