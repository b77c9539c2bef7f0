// Streaming routes over real loopback sockets: bodies fed to a BodySink as they arrive
// (Content-Length and chunked), 100-continue, limits judged before the body, aborts,
// the blocking pool, and the memory bound.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/strings.h"
#include "recording_sink.h"
#include "server/http_server.h"
#include "test_client.h"
#include "test_server.h"

namespace ferry::server {
namespace {

using namespace std::chrono_literals;
using testing::Fetch;
using ::testing::HasSubstr;
using testing::RecordingSink;
using testing::SinkLog;
using testing::SinkOptions;
using testing::StartServer;
using testing::TestClient;
using testing::TestConfig;

// POST /uploads/{name} streams into a RecordingSink; "refused" is refused by the
// handler and "throws" throws. Also the routes of TestRouter (/hello, /echo, ...).
struct Uploads {
  std::shared_ptr<SinkLog> log = std::make_shared<SinkLog>();
  SinkOptions options;
  std::atomic<int> opened = 0;

  std::shared_ptr<Router> MakeRouter() {
    auto router = testing::TestRouter();
    EXPECT_TRUE(router
                    ->PostStreaming("/uploads/{name}",
                                    [this](Request& request) -> absl::StatusOr<BodySinkPtr> {
                                      ++opened;
                                      if (request.PathParam("name") == "refused") {
                                        return absl::PermissionDeniedError("no uploads here");
                                      }
                                      if (request.PathParam("name") == "throws") {
                                        throw std::runtime_error("handler bug");
                                      }
                                      return BodySinkPtr(new RecordingSink(log, options));
                                    })
                    .ok());
    return router;
  }
};

std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return bytes;
}

std::string UploadHead(std::string_view name, uint64_t length, std::string_view extra = {}) {
  return core::Cat("POST /uploads/", name, " HTTP/1.1\r\nHost: t\r\nContent-Length: ", length,
                   "\r\n", extra, "\r\n");
}

constexpr std::string_view kChunkedHead =
    "POST /uploads/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string Chunk(std::string_view bytes) {
  return fmt::format("{:x}\r\n{}\r\n", bytes.size(), bytes);
}

nlohmann::json Json(const testing::HttpReply& reply) { return nlohmann::json::parse(reply.body); }

// Sends head, then piece after piece until the server answers (and stops reading),
// and returns the answer.
std::optional<testing::HttpReply> SendUntilAnswered(TestClient& client, std::string_view head,
                                                    std::string_view piece, int pieces) {
  if (!client.Send(head)) return std::nullopt;
  for (int i = 0; i < pieces; ++i) {
    if (!client.Send(piece)) break;  // the server may already have answered and closed
  }
  return client.ReadResponse();
}

// The sink ended with Abort, not Finish.
void ExpectAborted(SinkLog& log) {
  ASSERT_TRUE(log.WaitUntilEnded());
  std::lock_guard lock(log.mutex);
  EXPECT_FALSE(log.finished);
  EXPECT_FALSE(log.aborted.empty());
}

TEST(StreamingRouteTest, ContentLengthBodyArrivesInOrderAndTheConnectionStaysUsable) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  const std::string body = Pattern(3 << 20);  // far over max_body_bytes (64 KiB)
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(UploadHead("a", body.size())));
  for (size_t at = 0; at < body.size(); at += 100'000)
    ASSERT_TRUE(client.Send(body.substr(at, 100'000)));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(Json(*reply)["bytes"], body.size());
  EXPECT_GT(Json(*reply)["appends"].get<int>(), 1);  // in pieces, not whole
  EXPECT_EQ(reply->Header("connection"), "");
  {
    std::lock_guard lock(uploads.log->mutex);
    EXPECT_TRUE(uploads.log->bytes == body);
    EXPECT_TRUE(uploads.log->finished);
    EXPECT_TRUE(uploads.log->aborted.empty());
    EXPECT_TRUE(uploads.log->destroyed);  // before the response was sent
  }
  uploads.log->Reset();
  // Keep-alive, with an upload and a request pipelined behind it in one send.
  ASSERT_TRUE(client.Send(UploadHead("b", 5) + "hello" + "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto second = client.ReadResponse();
  auto third = client.ReadResponse();
  ASSERT_TRUE(second && third);
  EXPECT_EQ(second->status, 201);
  EXPECT_EQ(Json(*second)["bytes"], 5);
  EXPECT_EQ(third->body, R"({"hello":"world"})");
}

TEST(StreamingRouteTest, ChunkedBodyArrivesDecoded) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  const std::string body = Pattern(700'000);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(kChunkedHead));
  size_t sizes[] = {1, 15, 4096, 100'000, 300'000};
  size_t at = 0;
  for (size_t i = 0; at < body.size(); ++i) {
    size_t size = std::min(sizes[i % std::size(sizes)], body.size() - at);
    ASSERT_TRUE(client.Send(Chunk(std::string_view(body).substr(at, size))));
    at += size;
  }
  ASSERT_TRUE(client.Send("0\r\n\r\n"));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
  std::lock_guard lock(uploads.log->mutex);
  EXPECT_TRUE(uploads.log->bytes == body);
}

TEST(StreamingRouteTest, ContinueIsSentOnlyOnceTheSinkAcceptsTheBody) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  {
    TestClient client(server->port());
    auto reply = client.SendAfterContinue(UploadHead("a", 5, "Expect: 100-continue\r\n"), "hello");
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 201);
  }
  {
    // Refused by the handler: the answer comes instead of 100, and nothing is sunk.
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(UploadHead("refused", 1 << 20, "Expect: 100-continue\r\n")));
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 403);
    EXPECT_EQ(Json(*reply)["error"]["code"], "permission_denied");
    EXPECT_EQ(Json(*reply)["error"]["message"], "no uploads here");
    EXPECT_EQ(reply->Header("connection"), "close");
    EXPECT_TRUE(client.WaitForClose(3s));
  }
  EXPECT_EQ(uploads.opened, 2);
}

TEST(StreamingRouteTest, UploadOverMaxUploadBytesIs413EarlyFromContentLengthOrWhenChunksPassIt) {
  Uploads uploads;
  core::ServerConfig config = TestConfig();
  config.max_upload_bytes = 1 << 20;
  auto server = StartServer(config, uploads.MakeRouter());
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(UploadHead("a", (1 << 20) + 1, "Expect: 100-continue\r\n")));
  auto reply = client.ReadResponse();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(Json(*reply)["error"]["code"], "payload_too_large");
  EXPECT_EQ(Json(*reply)["error"]["message"],
            "upload is larger than the server's limit of 1048576 bytes (server.max_upload_bytes)");
  EXPECT_TRUE(client.WaitForClose(3s));
  EXPECT_EQ(uploads.opened, 0);

  // Exactly at the limit is fine.
  const std::string body = Pattern(1 << 20);
  auto fits = Fetch(server->port(), "POST", "/uploads/b", body);
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->status, 201);

  // A chunked body is judged as its chunks arrive; the sink is aborted.
  uploads.log->Reset();
  TestClient chunked(server->port());
  auto too_big = SendUntilAnswered(chunked, kChunkedHead, Chunk(Pattern(256 << 10)), 5);
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(Json(*too_big)["error"]["code"], "payload_too_large");
  ExpectAborted(*uploads.log);
  std::lock_guard lock(uploads.log->mutex);
  EXPECT_LE(uploads.log->byte_count, 1u << 20);
}

TEST(StreamingRouteTest, NonStreamingRoutesKeepMaxBodyBytesNextToStreamingOnes) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());  // max_body_bytes 64 KiB
  auto too_big = Fetch(server->port(), "POST", "/echo", std::string((64 << 10) + 1, 'x'));
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_THAT(Json(*too_big)["error"]["message"].get<std::string>(), HasSubstr("65536 bytes"));
  auto fits = Fetch(server->port(), "POST", "/echo", std::string(64 << 10, 'x'));
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body.size(), 64u << 10);
  auto missing = Fetch(server->port(), "POST", "/nowhere", "x");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  auto wrong = Fetch(server->port(), "GET", "/uploads/a");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->Header("allow"), "POST");
  EXPECT_EQ(uploads.opened, 0);
}

TEST(StreamingRouteTest, ClientDisconnectingMidBodyAbortsTheSink) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(UploadHead("a", 1 << 20) + Pattern(300'000)));
    ASSERT_TRUE(uploads.log->WaitUntil([](const SinkLog& log) { return log.byte_count > 0; }));
  }
  ExpectAborted(*uploads.log);
  std::lock_guard lock(uploads.log->mutex);
  EXPECT_THAT(uploads.log->aborted, HasSubstr("closed"));
}

TEST(StreamingRouteTest, StalledUploadIsDroppedButASlowSteadyOneIsNot) {
  Uploads uploads;
  core::ServerConfig config = TestConfig();
  config.request_timeout_ms = 300;
  auto server = StartServer(config, uploads.MakeRouter());
  {
    // 1.2 s in all, four times the request timeout, but never 300 ms without a byte.
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(UploadHead("steady", 12)));
    for (int i = 0; i < 12; ++i) {
      std::this_thread::sleep_for(100ms);
      ASSERT_TRUE(client.Send("x"));
    }
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 201);
  }
  Uploads stalled;
  auto stalled_server = StartServer(config, stalled.MakeRouter());
  TestClient client(stalled_server->port());
  ASSERT_TRUE(client.Send(UploadHead("stalled", 100) + "x"));
  EXPECT_TRUE(client.WaitForClose(3s));
  ExpectAborted(*stalled.log);
}

TEST(StreamingRouteTest, SinkErrorAnswersWithItsStatusAndClosesTheConnection) {
  Uploads uploads;
  uploads.options.fail_after_bytes = 100'000;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  TestClient client(server->port());
  auto reply = SendUntilAnswered(client, UploadHead("a", 2 << 20), Pattern(64 << 10), 32);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 429);
  EXPECT_EQ(Json(*reply)["error"]["code"], "resource_exhausted");
  EXPECT_EQ(Json(*reply)["error"]["message"], "the test sink is full");
  EXPECT_EQ(reply->Header("connection"), "close");
  ExpectAborted(*uploads.log);
}

TEST(StreamingRouteTest, MalformedChunkOrThrowingHandlerIsAnsweredAndTheServerGoesOn) {
  Uploads uploads;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(std::string(kChunkedHead) + Chunk("hello") + "zz\r\n"));
    auto reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 400);
    ExpectAborted(*uploads.log);
  }
  auto thrown = Fetch(server->port(), "POST", "/uploads/throws", "x");
  ASSERT_TRUE(thrown.has_value());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(Json(*thrown)["error"]["message"], "internal error");
  auto ok = Fetch(server->port(), "GET", "/hello");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST(StreamingRouteTest, SlowFinishDoesNotStallTheOtherConnectionsOfItsThread) {
  Uploads uploads;
  uploads.options.finish_delay = 1500ms;
  core::ServerConfig config = TestConfig();
  config.threads = 1;  // the upload and the other requests share one IO thread
  auto server = StartServer(config, uploads.MakeRouter());
  TestClient uploader(server->port());
  ASSERT_TRUE(uploader.Send(UploadHead("slow", 5) + "hello"));
  ASSERT_TRUE(uploads.log->WaitUntil([](const SinkLog& log) { return log.byte_count == 5; }));
  std::this_thread::sleep_for(50ms);  // Finish is running now
  auto start = std::chrono::steady_clock::now();
  auto hello = Fetch(server->port(), "GET", "/hello");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->status, 200);
  EXPECT_LT(elapsed, 500ms);
  auto reply = uploader.ReadResponse(5s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
}

// The resident set size of this process, in bytes (VmRSS), or 0 if unknown.
uint64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(StreamingRouteTest, LargeUploadStreamsThroughBoundedMemory) {
  Uploads uploads;
  uploads.options.keep_bytes = false;
  auto server = StartServer(TestConfig(), uploads.MakeRouter());
  constexpr uint64_t kUpload = 300ull << 20;
  const std::string piece = Pattern(1 << 20);
  const uint64_t before = ResidentBytes();
  ASSERT_GT(before, 0u);
  std::atomic<bool> sending = true;
  std::atomic<uint64_t> peak = before;
  std::thread sampler([&] {
    while (sending) {
      uint64_t now = ResidentBytes();
      if (now > peak) peak = now;
      std::this_thread::sleep_for(2ms);
    }
  });
  TestClient client(server->port());
  bool sent = client.Send(UploadHead("big", kUpload));
  for (uint64_t at = 0; sent && at < kUpload; at += piece.size()) sent = client.Send(piece);
  auto reply = client.ReadResponse(30s);
  sending = false;
  sampler.join();
  ASSERT_TRUE(sent);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(Json(*reply)["bytes"], kUpload);
  // Receiving the body whole would take 300 MiB; streaming takes a few buffers.
  EXPECT_LT(peak - before, 48ull << 20) << "peak RSS grew by " << core::HumanBytes(peak - before);
}

}  // namespace
}  // namespace ferry::server
