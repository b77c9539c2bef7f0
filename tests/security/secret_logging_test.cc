// Secrets never logged nor echoed: request headers (Authorization, cookies) and tokens in
// a query stay out of the access log, the other log lines and error bodies of the real
// API behind a real server; webhook URLs are logged without their query.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <thread>

#include "api/query_params.h"
#include "security/security_fixture.h"
#include "server/test_client.h"
#include "server/test_server.h"
#include "server/webhook_sender.h"

namespace ferry::security {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sends every spdlog line (info and up) to a ring buffer while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000)),
        previous_(spdlog::default_logger()),
        previous_level_(spdlog::get_level()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
    spdlog::set_level(spdlog::level::info);
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    spdlog::set_level(previous_level_);
  }
  std::string Text() const {
    std::string out;
    for (const std::string& line : sink_->last_formatted()) out += line;
    return out;
  }
  // Waits (up to 2 s) for a line holding `needle`: the access log is written after the
  // response, so it may lag the client a little.
  bool WaitFor(const std::string& needle) const {
    for (int i = 0; i < 200; ++i) {
      if (Text().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
  spdlog::level::level_enum previous_level_;
};

using SecretLoggingTest = ApiFixture;

TEST_F(SecretLoggingTest, HeadersAndQueryTokensLeaveNoTraceInLogsOrErrorBodies) {
  CapturedLog log;
  core::ServerConfig config = server::testing::TestConfig();
  config.access_log = true;
  std::unique_ptr<server::HttpServer> http = server::testing::StartServer(config, router_);
  const std::string secrets =
      "Authorization: Bearer HEADER-S3CRET\r\nCookie: session=COOKIE-S3CRET\r\n"
      "X-Api-Key: KEY-S3CRET\r\n";
  struct Exchange {
    std::string method;
    std::string target;
    std::string body;
    int status;
  };
  const std::vector<Exchange> exchanges = {
      {"POST", "/api/v1/datasets/good/versions?filename=b.csv&token=QUERY-S3CRET",
       "id,score\n3,0.1\n", 400},  // "token" is no parameter of the route
      {"POST", "/api/v1/datasets/good/versions?filename=b.csv&message=QUERY-S3CRET%zz",
       "id,score\n3,0.1\n", 400},  // a malformed escape next to the secret
      {"POST", "/api/v1/datasets/good/versions?filename=b.csv", "id,score\n3,0.1\n", 201},
      {"GET", "/api/v1/models/missing?access_token=QUERY-S3CRET", "", 404},
      {"GET", "/api/v1/datasets/..%2Fx/versions?token=QUERY-S3CRET", "", 400},
      {"POST", "/api/v1/experiments?token=QUERY-S3CRET", R"({"name": 7})", 400},
  };
  for (const Exchange& e : exchanges) {
    server::testing::TestClient client(http->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.Send(e.method + " " + e.target + " HTTP/1.1\r\nHost: ferry\r\n" + secrets +
                            "Content-Length: " + std::to_string(e.body.size()) + "\r\n\r\n" +
                            e.body));
    std::optional<server::testing::HttpReply> reply = client.ReadResponse();
    ASSERT_TRUE(reply.has_value()) << e.target;
    EXPECT_EQ(reply->status, e.status) << e.target << " -> " << reply->body;
    EXPECT_THAT(reply->body, Not(HasSubstr("S3CRET"))) << e.target;
    for (const auto& [name, value] : reply->headers) {
      EXPECT_THAT(value, Not(HasSubstr("S3CRET"))) << name;
    }
  }
  ASSERT_TRUE(log.WaitFor("POST /api/v1/experiments 400")) << log.Text();
  http->Shutdown();
  http.reset();
  const std::string text = log.Text();
  EXPECT_THAT(text, HasSubstr("POST /api/v1/datasets/good/versions 201 "));
  EXPECT_THAT(text, HasSubstr("GET /api/v1/models/missing 404 "));
  EXPECT_THAT(text, Not(HasSubstr("S3CRET")));
  EXPECT_THAT(text, Not(HasSubstr("Bearer")));
}

TEST(QueryParamsSecretTest, AMalformedQueryIsRefusedWithoutEchoingIt) {
  for (const char* query : {"token=S3CRET%zz", "S3CRET%g=1", "a=1&token=S3CRET%"}) {
    absl::StatusOr<api::QueryParams> parsed = api::QueryParams::Parse(query);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << query;
    EXPECT_THAT(std::string(parsed.status().message()), Not(HasSubstr("S3CRET")));
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("malformed %-escape"));
  }
}

TEST(WebhookSecretTest, AFailedDeliveryIsLoggedWithoutTheUrlsQuery) {
  CapturedLog log;
  {
    server::WebhookOptions options;
    options.attempts = 2;
    options.first_backoff = std::chrono::milliseconds(1);
    options.timeout = std::chrono::milliseconds(500);
    server::WebhookSender sender(options);
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    sender.Send({"http://127.0.0.1:1/hooks/alerts?token=HOOK-S3CRET"}, "{}");
    for (int i = 0; i < 300 && sender.stats().failed == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(sender.stats().failed, 1u);
  }
  const std::string text = log.Text();
  EXPECT_THAT(text, HasSubstr("retrying"));
  EXPECT_THAT(text, HasSubstr("gave up on http://127.0.0.1:1/hooks/alerts?..."));
  EXPECT_THAT(text, Not(HasSubstr("S3CRET")));
}

}  // namespace
}  // namespace ferry::security
