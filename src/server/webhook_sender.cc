#include "server/webhook_sender.h"

#include <spdlog/spdlog.h>

#include "core/status.h"
#include "core/strings.h"
#include "server/http_client.h"

namespace ferry::server {

using core::Cat;

namespace {

// A webhook URL as the logs show it: without its query, where services put the token
// that authorizes the call ("?token=..."). (ParseHttpUrl refuses user info.)
std::string ForLogs(std::string_view url) {
  const size_t query = url.find('?');
  if (query == std::string_view::npos) return std::string(url);
  return Cat(url.substr(0, query), "?...");
}

}  // namespace

WebhookSender::WebhookSender(WebhookOptions options) : options_(options) {
  thread_ = std::thread([this] { Run(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (!queue_.empty()) {
    spdlog::warn("webhooks: {} deliveries still waiting at shutdown were dropped", queue_.size());
  }
}

void WebhookSender::Send(const std::vector<std::string>& urls, const std::string& body) {
  if (urls.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& url : urls) {
      if (queue_.size() >= options_.max_queue) {
        ++stats_.dropped;
        spdlog::warn("webhooks: queue full ({} waiting); dropped a delivery to {}", queue_.size(),
                     ForLogs(url));
        continue;
      }
      queue_.push(Delivery{std::chrono::steady_clock::now(), url, body, 0});
    }
  }
  wake_.notify_one();
}

WebhookStats WebhookSender::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status WebhookSender::Attempt(const Delivery& delivery, bool& retry) const {
  retry = false;
  ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(delivery.url));
  absl::StatusOr<HttpReply> reply = HttpCall(
      url.host, url.port, "POST", url.target, delivery.body, options_.timeout);
  if (!reply.ok()) {
    retry = true;
    return reply.status();
  }
  if (reply->status >= 200 && reply->status < 300) return absl::OkStatus();
  retry = reply->status == 429 || reply->status >= 500;
  return absl::UnavailableError(Cat("answered ", reply->status));
}

void WebhookSender::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      continue;
    }
    if (queue_.top().due > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, queue_.top().due);
      continue;
    }
    Delivery delivery = queue_.top();
    queue_.pop();
    lock.unlock();
    bool retry = false;
    const absl::Status status = Attempt(delivery, retry);
    ++delivery.attempt;
    lock.lock();
    if (status.ok()) {
      ++stats_.delivered;
    } else if (retry && delivery.attempt < options_.attempts && !stopping_) {
      delivery.due = std::chrono::steady_clock::now() +
                     options_.first_backoff * (1 << (delivery.attempt - 1));
      spdlog::info("webhooks: {} failed ({}); retrying in {} ms", ForLogs(delivery.url),
                   core::View(status.message()),
                   (options_.first_backoff * (1 << (delivery.attempt - 1))).count());
      queue_.push(std::move(delivery));
    } else {
      ++stats_.failed;
      spdlog::warn("webhooks: gave up on {} after {} attempt(s): {}", ForLogs(delivery.url),
                   delivery.attempt, core::View(status.message()));
    }
  }
  stats_.dropped += queue_.size();
}

}  // namespace ferry::server
