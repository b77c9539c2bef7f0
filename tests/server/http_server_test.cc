// HttpServer over real loopback sockets: HTTP/1.1 behaviour, limits, malformed and
// hostile clients. Lifecycle (shutdown, signals, start errors) is in
// http_server_lifecycle_test.cc.

#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_client.h"
#include "test_server.h"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;
using testing::Fetch;
using testing::StartServer;
using testing::TestClient;
using testing::TestConfig;
using testing::TestRouter;

constexpr std::string_view kHello = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

nlohmann::json ErrorBody(const testing::HttpReply& reply) {
  return nlohmann::json::parse(reply.body)["error"];
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartServer();
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.Send(kHello));
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value()) << "request " << i;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, R"({"hello":"world"})");
    EXPECT_EQ(reply->Header("content-type"), "application/json");
    EXPECT_EQ(reply->Header("connection"), "");
    EXPECT_FALSE(reply->Header("date").empty());
  }
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = StartServer();
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(std::string(kHello) +
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
                          "GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  auto third = client.ReadResponse();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, R"({"hello":"world"})");
  EXPECT_EQ(second->body, "abc");
  EXPECT_EQ(second->Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(third->body, R"({"live":true})");
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  auto server = StartServer();
  auto missing = Fetch(server->port(), "GET", "/nowhere");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->Header("content-type"), "application/json");
  EXPECT_EQ(ErrorBody(*missing)["code"], "not_found");

  auto wrong = Fetch(server->port(), "DELETE", "/hello");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->Header("allow"), "GET, HEAD");
  EXPECT_EQ(ErrorBody(*wrong)["code"], "method_not_allowed");
}

TEST(HttpServerTest, BodyOverTheLimitIs413BeforeTheBodyIsSent) {
  core::ServerConfig config = TestConfig();
  config.max_body_bytes = 1024;
  auto server = StartServer(config);
  TestClient client(server->port());
  // Announce a large body and send none of it: the answer comes from the header alone.
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_EQ(ErrorBody(*reply)["code"], "payload_too_large");
  EXPECT_TRUE(client.WaitForClose(3s));

  // A body exactly at the limit is fine.
  auto fits = Fetch(server->port(), "POST", "/echo", std::string(1024, 'x'));
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body.size(), 1024u);
}

TEST(HttpServerTest, ChunkedBodyIsAssembledAndLimitedToo) {
  core::ServerConfig config = TestConfig();
  config.max_body_bytes = 1024;
  auto server = StartServer(config);

  TestClient client(server->port());
  ASSERT_TRUE(
      client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "hello world");

  TestClient big(server->port());
  ASSERT_TRUE(big.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = "200\r\n" + std::string(512, 'x') + "\r\n";
  for (int i = 0; i < 3; ++i) {
    if (!big.Send(chunk)) break;  // the server may already have answered and closed
  }
  auto too_big = big.ReadResponse();
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(ErrorBody(*too_big)["code"], "payload_too_large");
}

TEST(HttpServerTest, HeaderOverTheLimitIs431) {
  core::ServerConfig config = TestConfig();
  config.max_header_bytes = 1024;
  auto server = StartServer(config);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8000, 'a') +
                          "\r\n\r\n"));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(ErrorBody(*reply)["code"], "header_too_large");
  EXPECT_TRUE(client.WaitForClose(3s));
}

TEST(HttpServerTest, MalformedRequestsGet400AndTheServerKeepsServing) {
  auto server = StartServer();
  const std::string malformed[] = {
      "GARBAGE\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n", "GET /hel lo HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      // Both lengths at once: the classic request-smuggling ambiguity.
      "POST /echo HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),  // TLS hello
  };
  for (const std::string& bytes : malformed) {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(bytes));
    auto reply = client.ReadResponse(3s);
    ASSERT_TRUE(reply.has_value()) << bytes;
    EXPECT_EQ(reply->status, 400) << bytes;
    EXPECT_EQ(ErrorBody(*reply)["code"], "invalid_argument") << bytes;
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose(3s)) << bytes;
  }
  auto ok = Fetch(server->port(), "GET", "/hello");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpServerTest, TruncatedRequestsAreDroppedAndTheServerKeepsServing) {
  auto server = StartServer();
  {
    TestClient client(server->port());  // closes mid-body
    ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123"));
  }
  {
    TestClient client(server->port());  // closes mid-header
    ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHo"));
  }
  {
    TestClient client(server->port());  // half-closes mid-body, then waits for an answer
    ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123"));
    client.ShutdownWrite();
    EXPECT_TRUE(client.WaitForClose(3s));
  }
  for (int i = 0; i < 4; ++i) {
    auto ok = Fetch(server->port(), "GET", "/hello");
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
  }
}

TEST(HttpServerTest, ClientTricklingItsHeaderIsDroppedAfterTheRequestTimeout) {
  core::ServerConfig config = TestConfig();
  config.request_timeout_ms = 300;
  config.idle_timeout_ms = 5000;
  auto server = StartServer(config);

  TestClient client(server->port());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\n"));
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    if (!client.Send("X")) break;  // one more header byte every 50 ms
    closed = client.WaitForClose(50ms);
  }
  closed = closed || client.WaitForClose(1s);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2500ms);

  // The same holds for a body trickled after a complete header.
  TestClient body_client(server->port());
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(body_client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    if (!body_client.Send("x")) break;
    closed = body_client.WaitForClose(50ms);
  }
  closed = closed || body_client.WaitForClose(1s);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  core::ServerConfig config = TestConfig();
  config.idle_timeout_ms = 300;
  auto server = StartServer(config);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(kHello));
  ASSERT_TRUE(client.ReadResponse().has_value());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.WaitForClose(3s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(HttpServerTest, DenyingAuthorizerYields403AndTheHandlerNeverRuns) {
  class DenyAll : public Authorizer {
   public:
    absl::Status Authorize(Request&, const RouteInfo& route) override {
      ++calls;
      return absl::PermissionDeniedError(std::string("no writes to ") + std::string(route.pattern));
    }
    std::atomic<int> calls = 0;
  };
  auto deny = std::make_shared<DenyAll>();
  std::atomic<bool> infer_ran = false;
  auto server = StartServer(TestConfig(), TestRouter(&infer_ran), deny);

  auto refused = Fetch(server->port(), "POST", "/models/resnet/infer", "{}");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(ErrorBody(*refused)["code"], "permission_denied");
  EXPECT_EQ(ErrorBody(*refused)["message"], "no writes to /models/{model}/infer");
  EXPECT_FALSE(infer_ran);
  EXPECT_EQ(deny->calls, 1);

  auto read = Fetch(server->port(), "GET", "/hello");  // reads are asked about too
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status, 403);
  EXPECT_EQ(deny->calls, 2);
}

TEST(HttpServerTest, TheAuthorizerHearsEveryAnswerItsRequestsGot) {
  class Recording : public Authorizer {
   public:
    absl::Status Authorize(Request& request, const RouteInfo&) override {
      request.SetPrincipal("tester");
      return absl::OkStatus();
    }
    void OnResponse(const Request& request, const Response& response) override {
      std::lock_guard lock(mutex);
      seen.push_back(std::string(request.principal()) + " " + std::string(request.route_pattern()) +
                     " " + std::to_string(response.status));
    }
    std::mutex mutex;
    std::vector<std::string> seen;
  };
  auto recording = std::make_shared<Recording>();
  core::ServerConfig config = TestConfig();
  config.max_body_bytes = 16;
  auto server = StartServer(config, TestRouter(), recording);
  ASSERT_EQ(Fetch(server->port(), "GET", "/hello")->status, 200);
  ASSERT_EQ(Fetch(server->port(), "GET", "/throw")->status, 500);
  // Not routed, so never authorized nor heard: no route, and a body judged too large
  // from its Content-Length before routing.
  ASSERT_EQ(Fetch(server->port(), "GET", "/nowhere")->status, 404);
  ASSERT_EQ(Fetch(server->port(), "POST", "/echo", std::string(100, 'x'))->status, 413);
  std::lock_guard lock(recording->mutex);
  EXPECT_EQ(recording->seen,
            (std::vector<std::string>{"tester /hello 200", "tester /throw 500"}));
}

TEST(HttpServerTest, ConnectionsOverTheLimitGet503AndTheOthersCarryOn) {
  core::ServerConfig config = TestConfig();
  config.max_connections = 2;
  auto server = StartServer(config);
  TestClient first(server->port());
  TestClient second(server->port());
  ASSERT_TRUE(first.Send(kHello));
  ASSERT_TRUE(first.ReadResponse().has_value());
  ASSERT_TRUE(second.Send(kHello));
  ASSERT_TRUE(second.ReadResponse().has_value());
  // Both are held open (keep-alive); a third is refused at once.
  TestClient third(server->port());
  auto refused = third.ReadResponse();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->Header("retry-after"), "1");
  EXPECT_EQ(ErrorBody(*refused)["code"], "unavailable");
  EXPECT_TRUE(third.WaitForClose(3s));
  // The held connections still work; once one closes, a new one is served.
  ASSERT_TRUE(first.Send(kHello));
  ASSERT_TRUE(first.ReadResponse().has_value());
  second.Close();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    auto reply = Fetch(server->port(), "GET", "/hello");
    served = reply.has_value() && reply->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST(HttpServerTest, HandlerExceptionIs500AndTheServerSurvives) {
  auto server = StartServer();
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /throw HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(ErrorBody(*reply)["code"], "internal");
  ASSERT_TRUE(client.Send(kHello));  // same connection still works
  auto after = client.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServerTest, HeadHasTheHeaderOfGetAndNoBody) {
  auto server = StartServer();
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.ReadResponse(5s, /*head_only=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-length"), "17");
  ASSERT_TRUE(client.Send(kHello));  // no stray body bytes precede the next response
  auto get = client.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, R"({"hello":"world"})");
}

TEST(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  auto server = StartServer();
  TestClient client(server->port());
  auto reply = client.SendAfterContinue(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
      "hello");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "hello");
}

TEST(HttpServerTest, ConnectionCloseAndHttp10AreHonored) {
  auto server = StartServer();
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose(3s));
  }
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send("GET /hello HTTP/1.0\r\n\r\n"));
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose(3s));
  }
  {
    TestClient client(server->port());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(client.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto reply = client.ReadResponse();
      ASSERT_TRUE(reply.has_value());
      EXPECT_EQ(reply->Header("connection"), "keep-alive");
    }
  }
}

TEST(HttpServerTest, ManyConcurrentClientsAllGetAnswers) {
  auto server = StartServer();
  std::atomic<int> ok = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      TestClient client(server->port());
      for (int i = 0; i < 50; ++i) {
        if (!client.Send("GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n")) return;
        auto reply = client.ReadResponse();
        if (reply && reply->status == 200) ++ok;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(ok, 400);
}

}  // namespace
}  // namespace ferry::server
