// File bodies (Response::body_file) over real loopback sockets: byte-identical
// content, HEAD, keep-alive after the file, a slow client that keeps reading, a client
// that leaves midway, and the file released once the response is done. Over TLS:
// tls_test.cc.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server/http_server.h"
#include "test_client.h"
#include "test_server.h"
#include "testing/temp_dir.h"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;
using testing::Fetch;
using testing::StartServer;
using testing::TestClient;
using testing::TestConfig;

constexpr std::string_view kGetFile = "GET /file HTTP/1.1\r\nHost: t\r\n\r\n";

// A server whose GET /file answers with a file of `size` random bytes.
struct FileServer {
  explicit FileServer(size_t size, core::ServerConfig config = TestConfig()) {
    content = testing::WriteRandomFile(temp / "body.bin", size);
    auto router = testing::TestRouter();
    testing::AddFileRoute(*router, temp / "body.bin", last);
    server = StartServer(config, router);
  }
  // True once the server has dropped the last file it opened (within `timeout`).
  bool Released(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!last->expired()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  ::ferry::testing::TempDir temp;
  std::string content;
  std::shared_ptr<std::weak_ptr<BodyFile>> last = std::make_shared<std::weak_ptr<BodyFile>>();
  std::unique_ptr<HttpServer> server;
};

TEST(FileBodyTest, LargeFileArrivesByteIdenticalAndTheConnectionStaysUsable) {
  FileServer files(5 * (1 << 20) + 12345);
  ASSERT_NE(files.server, nullptr);
  TestClient client(files.server->port());
  ASSERT_TRUE(client.Send(kGetFile));
  auto reply = client.ReadResponse(10s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-length"), std::to_string(files.content.size()));
  EXPECT_EQ(reply->Header("content-type"), "application/octet-stream");
  EXPECT_EQ(reply->Header("x-file"), "yes");
  EXPECT_TRUE(reply->body == files.content) << "bodies differ; got " << reply->body.size();
  // Keep-alive: the next request on the same connection, then the file again.
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto hello = client.ReadResponse();
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->body, R"({"hello":"world"})");
  EXPECT_TRUE(files.Released(2s));
  ASSERT_TRUE(client.Send(kGetFile));
  auto again = client.ReadResponse(10s);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->body == files.content);
}

TEST(FileBodyTest, HeadSendsTheSizeButNoBody) {
  FileServer files(3 << 20);
  ASSERT_NE(files.server, nullptr);
  TestClient client(files.server->port());
  ASSERT_TRUE(client.Send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.ReadResponse(5s, /*head_only=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-length"), std::to_string(3 << 20));
  // Had any body followed, it would be read as the next response's head.
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto hello = client.ReadResponse();
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, R"({"hello":"world"})");
  EXPECT_TRUE(files.Released(2s));
}

TEST(FileBodyTest, EmptyFileIsAnEmptyBody) {
  FileServer files(0);
  ASSERT_NE(files.server, nullptr);
  auto reply = Fetch(files.server->port(), "GET", "/file");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-length"), "0");
  EXPECT_TRUE(reply->body.empty());
}

TEST(FileBodyTest, ClientLeavingMidwayClosesOnlyItsConnection) {
  FileServer files(48 << 20);  // more than loopback's socket buffers hold
  ASSERT_NE(files.server, nullptr);
  {
    TestClient leaver(files.server->port());
    ASSERT_TRUE(leaver.Send(kGetFile));
    std::this_thread::sleep_for(100ms);
  }  // closed with unread bytes: a reset
  EXPECT_TRUE(files.Released(3s));
  auto hello = Fetch(files.server->port(), "GET", "/hello");
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->status, 200);
  auto whole = Fetch(files.server->port(), "GET", "/file");
  ASSERT_TRUE(whole.has_value());
  EXPECT_TRUE(whole->body == files.content);
}

// Reads GET /file through a small receive window, at most `bytes` at a time with a
// pause in between; returns the body that arrived before the server closed, or once
// `size` bytes of it have.
std::string ReadSlowly(uint16_t port, size_t size, size_t bytes, std::chrono::milliseconds pause) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int window = 64 << 10;  // before connect, so the window stays small
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &window, sizeof(window));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string received;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::send(fd, kGetFile.data(), kGetFile.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(kGetFile.size())) {
    ::close(fd);
    return received;
  }
  std::string buffer(bytes, '\0');
  size_t head_end = std::string::npos;
  while (head_end == std::string::npos || received.size() - head_end < size) {
    ssize_t got = ::recv(fd, buffer.data(), bytes, 0);
    if (got <= 0) break;
    received.append(buffer.data(), static_cast<size_t>(got));
    if (head_end == std::string::npos && received.find("\r\n\r\n") != std::string::npos) {
      head_end = received.find("\r\n\r\n") + 4;
    }
    std::this_thread::sleep_for(pause);
  }
  ::close(fd);
  return head_end == std::string::npos ? std::string() : received.substr(head_end);
}

TEST(FileBodyTest, SlowClientThatKeepsReadingIsNotCutOffAtRequestTimeout) {
  core::ServerConfig config = TestConfig();
  config.request_timeout_ms = 400;
  config.idle_timeout_ms = 400;
  // Four times what Linux lets a socket buffer for sending (4 MiB), so most of it waits
  // for the client.
  FileServer files(16 << 20, config);
  ASSERT_NE(files.server, nullptr);
  const auto start = std::chrono::steady_clock::now();
  // At most 64 KiB every 10 ms: ~2.5 s for the whole file, six times the request timeout.
  const std::string body = ReadSlowly(files.server->port(), files.content.size(), 64 << 10, 10ms);
  EXPECT_GT(std::chrono::steady_clock::now() - start, 1200ms);
  EXPECT_EQ(body.size(), files.content.size());
  EXPECT_TRUE(body == files.content);
  EXPECT_TRUE(files.Released(2s));
}

}  // namespace
}  // namespace ferry::server
