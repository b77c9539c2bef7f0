#pragma once

// WebhookSender: delivers JSON (rollout events, alert notifications) by HTTP POST to the
// URLs a rollout policy or an alert rule names, from a thread of its own, so serving, the
// rollout controller and the alert evaluator never wait for a receiver. A delivery that fails to connect, times out, or gets 429 or 5xx is retried
// with exponential backoff (first_backoff, doubled each time, up to `attempts` tries);
// other answers end it. The queue is bounded: past max_queue deliveries waiting, new
// ones are dropped, counted and logged.
//
// URLs: http://HOST[:PORT][/PATH] (ParseHttpUrl); HOST an IP address or a name resolved
// when sending. Rollout policies and alert rules validate them with the same parser.
//
// Thread-safety: Send and stats may be called from any thread. The destructor makes no
// further attempts: deliveries still waiting are dropped (and logged).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::server {

struct WebhookOptions {
  size_t max_queue = 1000;
  int attempts = 5;
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds timeout{5000};
};

struct WebhookStats {
  uint64_t delivered = 0;
  uint64_t failed = 0;   // gave up after the last attempt, or refused by the receiver
  uint64_t dropped = 0;  // queue full, or still waiting at shutdown
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options = {});
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues `body` for each URL. Never blocks.
  void Send(const std::vector<std::string>& urls, const std::string& body);
  WebhookStats stats() const;

 private:
  struct Delivery {
    std::chrono::steady_clock::time_point due;
    std::string url;
    std::string body;
    int attempt = 0;
    bool operator>(const Delivery& other) const { return due > other.due; }
  };

  void Run();
  // One attempt: OK, or the reason it failed and whether to retry.
  absl::Status Attempt(const Delivery& delivery, bool& retry) const;

  const WebhookOptions options_;
  mutable std::mutex mu_;  // guards the members below
  std::condition_variable wake_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> queue_;
  bool stopping_ = false;
  WebhookStats stats_;
  std::thread thread_;
};

}  // namespace ferry::server
