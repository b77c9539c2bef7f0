#include "store/change_feed.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/status.h"
#include "core/strings.h"
#include "store/postgres_metadata_store.h"

namespace ferry::store {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// How long one wait on the socket lasts, so a stop is noticed promptly.
constexpr int kWaitMs = 200;

bool IsChannelName(std::string_view channel) {
  return !channel.empty() && channel.size() < 64 &&
         std::all_of(channel.begin(), channel.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

}  // namespace

absl::Status NotifyChange(Transaction& tx, std::string_view channel) {
  if (tx.dialect() != Dialect::kPostgresql) return absl::OkStatus();
  return tx.Query("SELECT pg_notify(?, '')", {channel}).status();
}

ChangeFeed::ChangeFeed(std::string url, std::string channel, std::function<void()> on_change)
    : url_(std::move(url)), channel_(std::move(channel)), on_change_(std::move(on_change)) {}

absl::StatusOr<std::unique_ptr<ChangeFeed>> ChangeFeed::Open(const Workspace& workspace,
                                                             std::string channel,
                                                             std::function<void()> on_change) {
  if (workspace.metadata().dialect() != Dialect::kPostgresql) return nullptr;
  // The name goes into a LISTEN statement, which takes no parameters.
  if (!IsChannelName(channel)) {
    return absl::InvalidArgumentError(core::Cat("change feed: bad channel \"", channel, "\""));
  }
  auto feed = std::unique_ptr<ChangeFeed>(
      new ChangeFeed(workspace.config().metadata, std::move(channel), std::move(on_change)));
  feed->thread_ = std::thread([raw = feed.get()] { raw->Run(); });
  return feed;
}

ChangeFeed::~ChangeFeed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChangeFeed::Run() {
  const std::string description = DescribePostgresUrl(url_);
  std::chrono::milliseconds backoff = kFirstBackoff;
  std::string last_error;
  while (!stopping_.load()) {
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {url_.c_str(), "5", "ferry change feed", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    bool listening = false;
    if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) {
      PGresult* result = PQexec(conn, core::Cat("LISTEN ", channel_).c_str());
      listening = PQresultStatus(result) == PGRES_COMMAND_OK;
      PQclear(result);
    }
    if (listening) {
      connected_.store(true);
      backoff = kFirstBackoff;
      if (!last_error.empty()) spdlog::info("change feed: listening on {} again", description);
      last_error.clear();
      on_change_();  // whatever changed while not listening
      const int fd = PQsocket(conn);
      while (!stopping_.load()) {
        pollfd waiting{fd, POLLIN, 0};
        const int ready = ::poll(&waiting, 1, kWaitMs);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        if (PQconsumeInput(conn) == 0) break;  // the connection is gone
        bool changed = false;
        while (PGnotify* notify = PQnotifies(conn)) {
          changed = true;
          PQfreemem(notify);
        }
        if (changed) on_change_();
      }
      connected_.store(false);
    }
    std::string error = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    if (stopping_.load()) break;
    error = TrimPostgresMessage(std::move(error));
    if (error != last_error) {
      spdlog::warn("change feed: {} ({}); polling until it is back", description,
                   error.empty() ? "connection lost" : error);
    }
    last_error = error.empty() ? "connection lost" : error;
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, backoff, [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace ferry::store
