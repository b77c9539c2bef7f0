#include "server/webhook_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "server/http_client.h"
#include "test_server.h"

namespace ferry::server {
namespace {

TEST(ParseHttpUrlTest, AcceptsHostsPortsAndPaths) {
  auto url = ParseHttpUrl("http://127.0.0.1:9000/hooks/rollout?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->target, "/hooks/rollout?x=1");
  auto bare = ParseHttpUrl("http://hooks.example");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->target, "/");
  auto v6 = ParseHttpUrl("http://[::1]:81/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 81);
  for (const char* bad : {"https://a/b", "ftp://a", "http://", "http://:80/", "http://a:0/",
                          "http://a:99999/", "http://a:x/", "http://u@a/", "http://[::1/",
                          // Found by fuzz/yaml_specs: a rollout policy took a webhook URL
                          // that was not UTF-8, and storing the policy as JSON threw.
                          "http://a/hook\xfd", "http://a/x y", "http://a/x\r\nX-Injected: 1",
                          "http://a\x01/", "http://caf\xc3\xa9/"}) {
    EXPECT_EQ(ParseHttpUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// A receiver that answers with the statuses it is given, in turn, and keeps bodies.
struct Receiver {
  std::mutex mu;
  std::vector<int> answers;  // consumed front to back; 200 once empty
  std::vector<std::string> bodies;
  std::atomic<int> calls{0};
  std::unique_ptr<HttpServer> http;

  explicit Receiver(std::vector<int> statuses) : answers(std::move(statuses)) {
    auto router = std::make_shared<Router>();
    EXPECT_TRUE(router
                    ->Post("/hook",
                           [this](Request& request) -> absl::StatusOr<Response> {
                             std::lock_guard<std::mutex> lock(mu);
                             ++calls;
                             int status = 200;
                             if (!answers.empty()) {
                               status = answers.front();
                               answers.erase(answers.begin());
                             }
                             if (status == 200) bodies.push_back(request.body());
                             return JsonTextResponse("{}", status);
                           })
                    .ok());
    http = testing::StartServer(testing::TestConfig(), router);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http->port()) + "/hook"; }
};

template <typename Predicate>
bool WaitFor(Predicate predicate) {
  for (int i = 0; i < 500; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

WebhookOptions Fast() {
  WebhookOptions options;
  options.first_backoff = std::chrono::milliseconds(10);
  options.attempts = 3;
  options.timeout = std::chrono::milliseconds(1000);
  return options;
}

TEST(WebhookSenderTest, DeliversToEveryUrl) {
  Receiver a({}), b({});
  WebhookSender sender(Fast());
  sender.Send({a.url(), b.url()}, R"({"type":"promoted"})");
  ASSERT_TRUE(WaitFor([&] { return sender.stats().delivered == 2; }));
  std::lock_guard<std::mutex> lock(a.mu);
  EXPECT_EQ(a.bodies, std::vector<std::string>({R"({"type":"promoted"})"}));
}

TEST(WebhookSenderTest, RetriesServerErrorsWithBackoffThenDelivers) {
  Receiver receiver({503, 500});
  WebhookSender sender(Fast());
  sender.Send({receiver.url()}, "{}");
  ASSERT_TRUE(WaitFor([&] { return sender.stats().delivered == 1; }));
  EXPECT_EQ(receiver.calls, 3);
  EXPECT_EQ(sender.stats().failed, 0u);
}

TEST(WebhookSenderTest, GivesUpAfterTheLastAttemptAndOnClientErrors) {
  Receiver down({503, 503, 503, 503});
  Receiver refusing({404});
  WebhookSender sender(Fast());
  sender.Send({down.url(), refusing.url()}, "{}");
  ASSERT_TRUE(WaitFor([&] { return sender.stats().failed == 2; }));
  EXPECT_EQ(down.calls, 3);      // attempts
  EXPECT_EQ(refusing.calls, 1);  // 404 is not retried
}

TEST(WebhookSenderTest, AReceiverThatIsDownDoesNotBlockTheCaller) {
  WebhookOptions options = Fast();
  options.max_queue = 2;
  WebhookSender sender(options);
  const auto start = std::chrono::steady_clock::now();
  // Port 9 on loopback: nothing listens (connection refused).
  for (int i = 0; i < 10; ++i) sender.Send({"http://127.0.0.1:9/hook"}, "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_GE(sender.stats().dropped, 7u);
}

}  // namespace
}  // namespace ferry::server
