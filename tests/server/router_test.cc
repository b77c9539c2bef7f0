#include "server/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "recording_sink.h"

namespace ferry::server {
namespace {

using ::testing::HasSubstr;

// A handler that answers {"route": NAME, "params": {P: value, ...}}.
Handler Echo(std::string name, std::vector<std::string> params = {}) {
  return [name, params](Request& request) -> absl::StatusOr<Response> {
    nlohmann::json body = {{"route", name}, {"params", nlohmann::json::object()}};
    for (const std::string& param : params) {
      body["params"][param] = std::string(request.PathParam(param));
    }
    return JsonResponse(body);
  };
}

Router ModelRouter() {
  Router router;
  EXPECT_TRUE(router.Get("/", Echo("root")).ok());
  EXPECT_TRUE(router.Get("/healthz", Echo("healthz")).ok());
  EXPECT_TRUE(router.Get("/v2/models/stats", Echo("stats")).ok());
  EXPECT_TRUE(router.Get("/v2/models/{model}", Echo("model_get", {"model"})).ok());
  EXPECT_TRUE(router.Delete("/v2/models/{model}", Echo("model_delete", {"model"})).ok());
  EXPECT_TRUE(router.Post("/v2/models/{model}/infer", Echo("infer", {"model"})).ok());
  EXPECT_TRUE(router
                  .Post("/v2/models/{model}/versions/{version}/infer",
                        Echo("infer_version", {"model", "version"}))
                  .ok());
  EXPECT_TRUE(router.Get("/v1/models/{model}", Echo("tf_status", {"model"})).ok());
  EXPECT_TRUE(router.Post("/v1/models/{model}:predict", Echo("predict", {"model"})).ok());
  EXPECT_TRUE(router.Post("/v1/models/{model}:classify", Echo("classify", {"model"})).ok());
  EXPECT_TRUE(router.Get("/files/v{version}", Echo("file", {"version"})).ok());
  EXPECT_TRUE(router.Get("/ui", Echo("ui_bare")).ok());
  EXPECT_TRUE(router.Get("/ui/assets/{file}", Echo("ui_asset", {"file"})).ok());
  EXPECT_TRUE(router.Get("/ui/{path...}", Echo("ui_page", {"path"})).ok());
  return router;
}

struct RouteCase {
  Method method;
  std::string target;
  int status;
  std::string route;                          // for 200
  std::map<std::string, std::string> params;  // for 200
};

class RouterMatchTest : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouterMatchTest, RoutesRequestAsTheTableSays) {
  const RouteCase& c = GetParam();
  Router router = ModelRouter();
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(c.method, c.target);
  Response response = router.Dispatch(request, authorizer);
  ASSERT_EQ(response.status, c.status)
      << MethodName(c.method) << " " << c.target << " -> " << response.body;
  nlohmann::json body = nlohmann::json::parse(response.body);
  if (c.status == 200) {
    EXPECT_EQ(body["route"], c.route);
    for (const auto& [name, value] : c.params) EXPECT_EQ(body["params"][name], value) << name;
  } else {
    EXPECT_TRUE(body["error"]["code"].is_string());
    EXPECT_TRUE(body["error"]["message"].is_string());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RouterMatchTest,
    ::testing::Values(
        RouteCase{Method::kGet, "/", 200, "root", {}},
        RouteCase{Method::kGet, "/healthz", 200, "healthz", {}},
        RouteCase{Method::kGet, "/healthz?verbose=1", 200, "healthz", {}},
        RouteCase{Method::kHead, "/healthz", 200, "healthz", {}},
        // Trailing slashes and empty segments are significant.
        RouteCase{Method::kGet, "/healthz/", 404, "", {}},
        RouteCase{Method::kGet, "//healthz", 404, "", {}},
        RouteCase{Method::kGet, "/v2/models/", 404, "", {}},
        RouteCase{Method::kGet, "/nope", 404, "", {}},
        // Parameters.
        RouteCase{Method::kGet, "/v2/models/resnet", 200, "model_get", {{"model", "resnet"}}},
        RouteCase{Method::kPost, "/v2/models/resnet/infer", 200, "infer", {{"model", "resnet"}}},
        RouteCase{Method::kPost,
                  "/v2/models/resnet/versions/3/infer",
                  200,
                  "infer_version",
                  {{"model", "resnet"}, {"version", "3"}}},
        // A literal beats a parameter; a dead-end literal falls back to the parameter.
        RouteCase{Method::kGet, "/v2/models/stats", 200, "stats", {}},
        RouteCase{Method::kPost, "/v2/models/stats/infer", 200, "infer", {{"model", "stats"}}},
        // TF-Serving style suffixes.
        RouteCase{
            Method::kPost, "/v1/models/resnet:predict", 200, "predict", {{"model", "resnet"}}},
        RouteCase{Method::kPost, "/v1/models/a:b:predict", 200, "predict", {{"model", "a:b"}}},
        RouteCase{
            Method::kPost, "/v1/models/resnet:classify", 200, "classify", {{"model", "resnet"}}},
        RouteCase{Method::kGet, "/v1/models/resnet", 200, "tf_status", {{"model", "resnet"}}},
        // The most specific pattern owns the path: GET on the :predict path is 405.
        RouteCase{Method::kGet, "/v1/models/resnet:predict", 405, "", {}},
        RouteCase{Method::kPost, "/v1/models/resnet:explain", 405, "", {}},
        // A prefix before a parameter; a parameter is never empty.
        RouteCase{Method::kGet, "/files/v12", 200, "file", {{"version", "12"}}},
        RouteCase{Method::kGet, "/files/v", 404, "", {}},
        RouteCase{Method::kGet, "/files/12", 404, "", {}},
        // Wrong or unknown method on a known path.
        RouteCase{Method::kPut, "/healthz", 405, "", {}},
        RouteCase{Method::kOther, "/healthz", 405, "", {}},
        RouteCase{Method::kPost, "/v2/models/stats", 405, "", {}},
        // Percent-encoding: decoded before matching, for literals and parameters alike.
        RouteCase{Method::kGet, "/v2/models/my%20model", 200, "model_get", {{"model", "my model"}}},
        RouteCase{
            Method::kGet, "/v2/models/caf%C3%A9", 200, "model_get", {{"model", "caf\xC3\xA9"}}},
        RouteCase{Method::kGet, "/v2/%6Dodels/x", 200, "model_get", {{"model", "x"}}},
        RouteCase{Method::kPost, "/v1/models/a%3Apredict", 200, "predict", {{"model", "a"}}},
        RouteCase{Method::kGet, "/v2/models/a+b", 200, "model_get", {{"model", "a+b"}}},
        // ... or rejected when decoding would be ambiguous or unsafe.
        RouteCase{Method::kGet, "/v2/models/a%2Fb", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/a%2fb", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%zz", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%4", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/a%", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%00x", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%0A", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%FF", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%C3", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/..", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/%2E%2E", 400, "", {}},
        RouteCase{Method::kGet, "/v2/models/./x", 400, "", {}},
        RouteCase{Method::kGet, "*", 400, "", {}},
        // A rest parameter takes every remaining segment, after literals and parameters.
        RouteCase{Method::kGet, "/ui", 200, "ui_bare", {}},
        RouteCase{Method::kGet, "/ui/", 200, "ui_page", {{"path", ""}}},
        RouteCase{Method::kGet, "/ui/runs", 200, "ui_page", {{"path", "runs"}}},
        RouteCase{Method::kGet, "/ui/runs/a%20b/", 200, "ui_page", {{"path", "runs/a b/"}}},
        RouteCase{Method::kGet, "/ui/assets/x.js", 200, "ui_asset", {{"file", "x.js"}}},
        RouteCase{Method::kGet, "/ui/assets/x/y.js", 200, "ui_page", {{"path", "assets/x/y.js"}}},
        RouteCase{Method::kGet, "/ui/a/../b", 400, "", {}},
        RouteCase{Method::kPost, "/ui/runs", 405, "", {}}));

TEST(RouterTest, MethodNotAllowedListsTheMethodsOfThePath) {
  Router router = ModelRouter();
  AllowAllAuthorizer authorizer;

  Request put = Request::Make(Method::kPut, "/v2/models/resnet");
  Response response = router.Dispatch(put, authorizer);
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Allow");
  EXPECT_EQ(response.headers[0].second, "GET, HEAD, DELETE");
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "method_not_allowed");

  Request get = Request::Make(Method::kGet, "/v1/models/resnet:predict");
  response = router.Dispatch(get, authorizer);
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "POST");
}

TEST(RouterTest, UnknownPathIsJsonNotFound) {
  Router router = ModelRouter();
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(Method::kGet, "/v3/nothing");
  Response response = router.Dispatch(request, authorizer);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, kJsonContentType);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("/v3/nothing"));
}

TEST(RouterTest, RejectsMalformedPatterns) {
  const char* bad[] = {
      "",       "healthz",  "/a//b",  "/a/",       "/{}",      "/{1x}",
      "/{a-b}", "/{a",      "/a}",    "/{a}{b}",   "/{a}/{a}", "/x%20y",
      "/{a}}",  "/{a}x{b}", "/{...}", "/{a...}/b", "/x{a...}", "/{a...}.js",
  };
  for (const char* pattern : bad) {
    Router router;
    absl::Status status = router.Get(pattern, Echo("x"));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "\"" << pattern << "\"";
  }
  Router router;
  EXPECT_EQ(router.Add(Method::kOther, "/x", Echo("x")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(router.Get("/x", Handler()).code(), absl::StatusCode::kInvalidArgument);
  std::string many = "";
  for (int i = 0; i < 17; ++i) many += "/{p" + std::to_string(i) + "}";
  EXPECT_EQ(router.Get(many, Echo("x")).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RouterTest, RejectsDuplicateRoutesAndConflictingParameterNames) {
  Router router;
  ASSERT_TRUE(router.Get("/m/{model}", Echo("a")).ok());
  EXPECT_EQ(router.Get("/m/{model}", Echo("b")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(router.Post("/m/{model}", Echo("c")).ok());
  EXPECT_EQ(router.Get("/m/{name}/x", Echo("d")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(router.Get("/m/{model}/x", Echo("e")).ok());
  // A failed Add leaves nothing behind.
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(Method::kGet, "/m/a/x");
  EXPECT_EQ(router.Dispatch(request, authorizer).status, 200);
}

TEST(RouterTest, HandlerStatusBecomesMappedJsonError) {
  Router router;
  ASSERT_TRUE(router
                  .Get("/m/{model}",
                       [](Request& request) -> absl::StatusOr<Response> {
                         return absl::NotFoundError("no model \"" +
                                                    std::string(request.PathParam("model")) + "\"");
                       })
                  .ok());
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(Method::kGet, "/m/resnet");
  Response response = router.Dispatch(request, authorizer);
  EXPECT_EQ(response.status, 404);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "no model \"resnet\"");
}

TEST(RouterTest, HandlerExceptionBecomes500WithoutItsText) {
  Router router;
  ASSERT_TRUE(router
                  .Get("/boom",
                       [](Request&) -> absl::StatusOr<Response> {
                         throw std::runtime_error("secret detail");
                       })
                  .ok());
  ASSERT_TRUE(router.Get("/int", [](Request&) -> absl::StatusOr<Response> { throw 42; }).ok());
  AllowAllAuthorizer authorizer;
  for (const char* target : {"/boom", "/int"}) {
    Request request = Request::Make(Method::kGet, target);
    Response response = router.Dispatch(request, authorizer);
    EXPECT_EQ(response.status, 500);
    EXPECT_THAT(response.body, ::testing::Not(HasSubstr("secret")));
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "internal");
  }
}

// Records what it is asked and answers with a fixed status.
class RecordingAuthorizer : public Authorizer {
 public:
  explicit RecordingAuthorizer(absl::Status answer) : answer_(std::move(answer)) {}
  absl::Status Authorize(Request& request, const RouteInfo& route) override {
    ++calls;
    last_pattern = std::string(route.pattern);
    last_method = route.method;
    last_model = std::string(request.PathParam("model"));
    return answer_;
  }
  int calls = 0;
  std::string last_pattern;
  Method last_method = Method::kOther;
  std::string last_model;

 private:
  absl::Status answer_;
};

TEST(RouterTest, EveryRoutedRequestPassesThroughTheAuthorizer) {
  Router router;
  int handled = 0;
  auto count = [&handled](Request&) -> absl::StatusOr<Response> {
    ++handled;
    return JsonTextResponse("{}");
  };
  for (Method method : {Method::kGet, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                        Method::kOptions}) {
    ASSERT_TRUE(router.Add(method, "/m/{model}", count).ok());
  }
  RecordingAuthorizer authorizer(absl::OkStatus());
  for (Method method : {Method::kGet, Method::kHead, Method::kOptions, Method::kPost, Method::kPut,
                        Method::kPatch, Method::kDelete}) {
    int before = authorizer.calls;
    Request request = Request::Make(method, "/m/resnet");
    EXPECT_EQ(router.Dispatch(request, authorizer).status, 200);
    EXPECT_EQ(authorizer.calls, before + 1) << MethodName(method);
    EXPECT_EQ(authorizer.last_method, method);
    EXPECT_EQ(authorizer.last_pattern, "/m/{model}");
    EXPECT_EQ(authorizer.last_model, "resnet");
    EXPECT_EQ(request.route_pattern(), "/m/{model}");
  }
  EXPECT_EQ(handled, 7);
  // Requests that match no route never reach it (404, 405, 400).
  int before = authorizer.calls;
  for (const char* target : {"/nowhere", "/m/a%2Fb"}) {
    Request request = Request::Make(Method::kGet, target);
    EXPECT_NE(router.Dispatch(request, authorizer).status, 200);
    EXPECT_TRUE(request.route_pattern().empty());
  }
  EXPECT_EQ(authorizer.calls, before);

  std::vector<std::string> routes;
  router.ForEachRoute([&](Method method, std::string_view pattern) {
    routes.push_back(std::string(MethodName(method)) + " " + std::string(pattern));
  });
  EXPECT_EQ(routes.size(), 6u);
}

TEST(RouterTest, RefusalsCarryTheirChallengeOrRetryAfter) {
  Router router;
  ASSERT_TRUE(router.Get("/x", [](Request&) -> absl::StatusOr<Response> {
                      return JsonTextResponse("{}");
                    }).ok());
  auto header = [](const Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  RecordingAuthorizer unauthenticated(absl::UnauthenticatedError("who are you"));
  Request first = Request::Make(Method::kGet, "/x");
  Response challenge = router.Dispatch(first, unauthenticated);
  EXPECT_EQ(challenge.status, 401);
  EXPECT_EQ(header(challenge, "WWW-Authenticate"), "Bearer realm=\"ferry\"");
  RecordingAuthorizer busy(absl::ResourceExhaustedError("slow down"));
  Request second = Request::Make(Method::kGet, "/x");
  Response later = router.Dispatch(second, busy);
  EXPECT_EQ(later.status, 429);
  EXPECT_EQ(header(later, "Retry-After"), "1");
}

TEST(RouterTest, RefusingAuthorizerStopsTheHandler) {
  Router router;
  bool ran = false;
  ASSERT_TRUE(router
                  .Post("/m/{model}/infer",
                        [&ran](Request&) -> absl::StatusOr<Response> {
                          ran = true;
                          return JsonTextResponse("{}");
                        })
                  .ok());
  RecordingAuthorizer deny(absl::PermissionDeniedError("not yours"));
  Request request = Request::Make(Method::kPost, "/m/resnet/infer", "{}");
  Response response = router.Dispatch(request, deny);
  EXPECT_EQ(response.status, 403);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "permission_denied");
  EXPECT_EQ(body["error"]["message"], "not yours");
  EXPECT_FALSE(ran);

  RecordingAuthorizer unauthenticated(absl::UnauthenticatedError("token required"));
  EXPECT_EQ(router.Dispatch(request, unauthenticated).status, 401);
  EXPECT_FALSE(ran);
}

StreamingHandler Recording(std::shared_ptr<testing::SinkLog> log, int* opened = nullptr) {
  return [log, opened](Request&) -> absl::StatusOr<BodySinkPtr> {
    if (opened != nullptr) ++*opened;
    return BodySinkPtr(new testing::RecordingSink(log, {}));
  };
}

TEST(RouterTest, StreamingRouteDispatchedInProcessGetsTheBodyInOneAppend) {
  Router router;
  auto log = std::make_shared<testing::SinkLog>();
  ASSERT_TRUE(router.PostStreaming("/uploads/{name}", Recording(log)).ok());
  EXPECT_TRUE(router.has_streaming_routes());
  AllowAllAuthorizer authorizer;
  Request request = Request::Make(Method::kPost, "/uploads/a", "hello");
  Response response = router.Dispatch(request, authorizer);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(log->bytes, "hello");
  EXPECT_EQ(log->appends, 1);
  EXPECT_TRUE(log->finished);
  EXPECT_TRUE(log->destroyed);
}

TEST(RouterTest, StreamingAndOrdinaryHandlersShareThePatternButNotTheMethod) {
  Router router;
  auto log = std::make_shared<testing::SinkLog>();
  EXPECT_FALSE(router.has_streaming_routes());
  ASSERT_TRUE(router.Get("/d/{name}/versions", Echo("list", {"name"})).ok());
  ASSERT_TRUE(router.PostStreaming("/d/{name}/versions", Recording(log)).ok());
  EXPECT_EQ(router.Post("/d/{name}/versions", Echo("post")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router.PostStreaming("/d/{name}/versions", Recording(log)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(router.PostStreaming("/d/{other}/versions", Recording(log)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(router.AddStreaming(Method::kPut, "/x", nullptr).code(),
            absl::StatusCode::kInvalidArgument);

  AllowAllAuthorizer authorizer;
  Request wrong = Request::Make(Method::kDelete, "/d/a/versions");
  Response response = router.Dispatch(wrong, authorizer);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.at(0).second, "GET, HEAD, POST");
  Request list = Request::Make(Method::kGet, "/d/a/versions");
  EXPECT_EQ(nlohmann::json::parse(router.Dispatch(list, authorizer).body)["route"], "list");
}

TEST(RouterTest, MatchStreamingFindsOnlyStreamingRoutes) {
  Router router;
  auto log = std::make_shared<testing::SinkLog>();
  ASSERT_TRUE(router.Get("/d/{name}", Echo("get")).ok());
  ASSERT_TRUE(router.Post("/e", Echo("post")).ok());
  ASSERT_TRUE(router.PostStreaming("/d/{name}", Recording(log)).ok());
  Request post = Request::Make(Method::kPost, "/d/a%20b");
  std::optional<StreamingMatch> match = router.MatchStreaming(post);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->pattern, "/d/{name}");
  EXPECT_EQ(post.PathParam("name"), "a b");
  for (auto [method, target] :
       {std::pair{Method::kGet, "/d/a"}, std::pair{Method::kPost, "/e"},
        std::pair{Method::kPost, "/nowhere"}, std::pair{Method::kPost, "/d/%zz"}}) {
    Request request = Request::Make(method, target);
    EXPECT_FALSE(router.MatchStreaming(request).has_value()) << target;
  }
}

TEST(RouterTest, OpenBodySinkAsksTheAuthorizerFirst) {
  Router router;
  auto log = std::make_shared<testing::SinkLog>();
  int opened = 0;
  ASSERT_TRUE(router.PostStreaming("/m/{model}/upload", Recording(log, &opened)).ok());
  ASSERT_TRUE(router
                  .PostStreaming("/throws",
                                 [](Request&) -> absl::StatusOr<BodySinkPtr> {
                                   throw std::runtime_error("secret detail");
                                 })
                  .ok());
  Request request = Request::Make(Method::kPost, "/m/resnet/upload");
  std::optional<StreamingMatch> match = router.MatchStreaming(request);
  ASSERT_TRUE(match.has_value());
  RecordingAuthorizer deny(absl::PermissionDeniedError("not yours"));
  absl::StatusOr<BodySinkPtr> refused = router.OpenBodySink(*match, request, deny);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(deny.last_pattern, "/m/{model}/upload");
  EXPECT_EQ(deny.last_model, "resnet");
  EXPECT_EQ(opened, 0);
  RecordingAuthorizer allow(absl::OkStatus());
  absl::StatusOr<BodySinkPtr> sink = router.OpenBodySink(*match, request, allow);
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ(opened, 1);

  Request thrown = Request::Make(Method::kPost, "/throws");
  std::optional<StreamingMatch> throws = router.MatchStreaming(thrown);
  ASSERT_TRUE(throws.has_value());
  absl::StatusOr<BodySinkPtr> failed = router.OpenBodySink(*throws, thrown, allow);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(failed.status().message(), "internal error");
}

TEST(RouterTest, RequestAccessorsSplitTargetAndFindHeadersCaseInsensitively) {
  Request request = Request::Make(Method::kPost, "/a/b?x=1&y=%20", "body");
  request.AddHeader("Content-Type", "application/json");
  EXPECT_EQ(request.path(), "/a/b");
  EXPECT_EQ(request.query(), "x=1&y=%20");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(request.Header("Authorization"), std::nullopt);
  EXPECT_EQ(request.body(), "body");
  request.Reset();
  EXPECT_EQ(request.Header("content-type"), std::nullopt);
  EXPECT_EQ(request.body(), "");
}

}  // namespace
}  // namespace ferry::server
