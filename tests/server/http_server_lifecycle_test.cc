// HttpServer's lifecycle: configuration checks, binding, graceful shutdown, signals,
// and the access log.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"
#include "test_client.h"
#include "test_server.h"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;
using testing::CanConnect;
using testing::Fetch;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::StartServer;
using testing::TestClient;
using testing::TestConfig;
using testing::TestRouter;

TEST(HttpServerLifecycleTest, CreateRejectsInvalidConfiguration) {
  auto allow = std::make_shared<AllowAllAuthorizer>();
  auto router = TestRouter();
  auto expect_invalid = [&](core::ServerConfig config, std::string_view why) {
    auto server = HttpServer::Create(config, router, allow);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << why;
  };
  core::ServerConfig config = TestConfig();
  config.listen = "nonsense";
  expect_invalid(config, "no port");
  config.listen = "example.com:80";
  expect_invalid(config, "not an IP address");
  config = TestConfig();
  config.threads = -1;
  expect_invalid(config, "negative threads");
  config = TestConfig();
  config.request_timeout_ms = 0;
  expect_invalid(config, "zero timeout");
  config = TestConfig();
  config.max_body_bytes = 0;
  expect_invalid(config, "zero body limit");

  EXPECT_EQ(HttpServer::Create(TestConfig(), nullptr, allow).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Create(TestConfig(), router, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config = TestConfig();
  config.listen = "localhost:0";
  EXPECT_TRUE(HttpServer::Create(config, router, allow).ok());
}

TEST(HttpServerLifecycleTest, PortZeroBindsAnEphemeralPortAndStartIsOnce) {
  auto server = StartServer();
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->Start().code(), absl::StatusCode::kFailedPrecondition);
  server->Shutdown();
  server->Wait();
  EXPECT_EQ(server->Start().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HttpServerLifecycleTest, StartFailsWhenThePortIsTaken) {
  for (int threads : {1, 2}) {
    auto first = StartServer();
    core::ServerConfig config = TestConfig();
    config.threads = threads;
    config.listen = "127.0.0.1:" + std::to_string(first->port());
    auto second = HttpServer::Create(config, TestRouter(), std::make_shared<AllowAllAuthorizer>());
    ASSERT_TRUE(second.ok());
    absl::Status started = (*second)->Start();
    EXPECT_EQ(started.code(), absl::StatusCode::kUnavailable) << "threads=" << threads;
    // The first server is undisturbed.
    auto reply = Fetch(first->port(), "GET", "/hello");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
  }
}

TEST(HttpServerLifecycleTest, WaitBeforeStartReturnsAtOnce) {
  auto server =
      HttpServer::Create(TestConfig(), TestRouter(), std::make_shared<AllowAllAuthorizer>());
  ASSERT_TRUE(server.ok());
  (*server)->Wait();
  (*server)->Shutdown();
  (*server)->Wait();
}

TEST(HttpServerLifecycleTest, ShutdownFinishesInFlightRequestsAndRefusesNewConnections) {
  auto server = StartServer();
  uint16_t port = server->port();

  TestClient idle(port);  // a keep-alive connection between requests
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(idle.ReadResponse().has_value());

  TestClient busy(port);  // its handler sleeps 300 ms
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);

  auto start = std::chrono::steady_clock::now();
  server->Shutdown();
  EXPECT_FALSE(CanConnect(port));

  auto reply = busy.ReadResponse(3s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, R"({"slow":true})");
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_TRUE(busy.WaitForClose(2s));
  EXPECT_TRUE(idle.WaitForClose(2s));

  server->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_FALSE(CanConnect(port));
}

TEST(HttpServerLifecycleTest, ShutdownClosesWhatIsLeftAfterTheGracePeriod) {
  core::ServerConfig config = TestConfig();
  config.shutdown_grace_ms = 200;
  config.request_timeout_ms = 10'000;
  auto server = StartServer(config);
  TestClient stuck(server->port());  // half a request that never completes
  ASSERT_TRUE(stuck.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab"));
  std::this_thread::sleep_for(50ms);

  auto start = std::chrono::steady_clock::now();
  server->Shutdown();
  EXPECT_TRUE(stuck.WaitForClose(3s));
  server->Wait();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(HttpServerLifecycleTest, ShutdownFromAHandlerIsAllowed) {
  HttpServer* self = nullptr;
  auto router = std::make_shared<Router>();
  ASSERT_TRUE(router
                  ->Post("/quit",
                         [&self](Request&) -> absl::StatusOr<Response> {
                           self->Shutdown();
                           return JsonTextResponse(R"({"bye":true})");
                         })
                  .ok());
  auto server = StartServer(TestConfig(), router);
  self = server.get();
  auto reply = Fetch(server->port(), "POST", "/quit");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  server->Wait();
}

TEST(HttpServerLifecycleTest, RunUntilSignalShutsDownOnSigterm) {
  // Should SIGTERM ever arrive before the server catches it, it is lost rather than
  // fatal, and the test fails by its timeout instead of killing the test binary.
  auto previous = std::signal(SIGTERM, SIG_IGN);
  auto server =
      HttpServer::Create(TestConfig(), TestRouter(), std::make_shared<AllowAllAuthorizer>());
  ASSERT_TRUE(server.ok());
  HttpServer& running = **server;
  std::promise<uint16_t> started;
  auto result = std::async(std::launch::async, [&running, &started] {
    return running.RunUntilSignal([&] { started.set_value(running.port()); });
  });
  auto started_future = started.get_future();
  ASSERT_EQ(started_future.wait_for(5s), std::future_status::ready);
  uint16_t port = started_future.get();
  ASSERT_NE(port, 0);
  auto reply = Fetch(port, "GET", "/v2/health/live");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);

  ::kill(::getpid(), SIGTERM);
  bool stopped = result.wait_for(5s) == std::future_status::ready;
  EXPECT_TRUE(stopped);
  if (!stopped) running.Shutdown();
  EXPECT_TRUE(result.get().ok());
  EXPECT_FALSE(CanConnect(port));
  std::signal(SIGTERM, previous);
}

TEST(HttpServerLifecycleTest, RunUntilSignalReturnsWhenShutDownOtherwise) {
  auto server =
      HttpServer::Create(TestConfig(), TestRouter(), std::make_shared<AllowAllAuthorizer>());
  ASSERT_TRUE(server.ok());
  HttpServer& running = **server;
  auto result = std::async(std::launch::async, [&running] { return running.RunUntilSignal(); });
  for (int i = 0; i < 200 && running.port() == 0; ++i) std::this_thread::sleep_for(10ms);
  running.Shutdown();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(result.get().ok());
}

// Collects formatted log lines.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

TEST(HttpServerLifecycleTest, AccessLogNamesTheRequestButNeverItsSecrets) {
  auto sink = std::make_shared<CaptureSink>();
  auto previous = spdlog::default_logger();
  auto previous_level = spdlog::get_level();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  spdlog::set_level(spdlog::level::info);
  {
    core::ServerConfig config = TestConfig();
    config.access_log = true;
    auto server = StartServer(config);
    auto reply = Fetch(server->port(), "POST", "/echo?token=QUERYSECRET", "BODYSECRET",
                       "Authorization: Bearer HEADERSECRET\r\n");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
    // The line is written after the response, so it may lag the client a little.
    for (int i = 0; i < 100 && sink->Text().find("/echo") == std::string::npos; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }
  std::string log = sink->Text();
  spdlog::set_default_logger(previous);
  spdlog::set_level(previous_level);

  EXPECT_THAT(log, HasSubstr("POST /echo 200 10 "));
  EXPECT_THAT(log, HasSubstr("127.0.0.1:"));
  EXPECT_THAT(log, Not(HasSubstr("SECRET")));
}

}  // namespace
}  // namespace ferry::server
