// HttpConnection (server/http_client.h) against a real HttpServer on loopback: one
// connection for many requests, and a new one when the server closed the old.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/http_client.h"
#include "test_server.h"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;

TEST(HttpConnectionTest, ManyRequestsGoOverOneConnectionAndItReconnectsAfterAnIdleClose) {
  core::ServerConfig config = testing::TestConfig();
  config.idle_timeout_ms = 200;
  auto server = testing::StartServer(config);
  HttpConnection connection("127.0.0.1", server->port(), 5s);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<HttpReply> reply = connection.Call("GET", "/hello");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, R"({"hello":"world"})");
  }
  // The server drops the idle connection; the next call opens another.
  std::this_thread::sleep_for(500ms);
  absl::StatusOr<HttpReply> again = connection.Call("GET", "/hello");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->status, 200);
  absl::StatusOr<HttpReply> missing = connection.Call("GET", "/nothing");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpConnectionTest, NoServerIsUnavailableAndANameIsRefused) {
  auto server = testing::StartServer();
  const uint16_t port = server->port();
  server.reset();  // stopped: nothing listens there now
  HttpConnection gone("127.0.0.1", port, 2s);
  absl::StatusOr<HttpReply> reply = gone.Call("GET", "/hello");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  HttpConnection named("localhost", port, 2s);
  EXPECT_EQ(named.Call("GET", "/").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::server
