#pragma once

// Change propagation between the servers sharing a workspace: a writer that changes
// what others must react to quickly (deployments, alias moves, rollout weights) calls
// NotifyChange inside its write transaction; every server's ChangeFeed on that channel
// hears of it once the transaction commits.
//
// On PostgreSQL that is LISTEN/NOTIFY: the feed keeps a connection of its own, waits on
// its socket, and calls `on_change` for every batch of notifications. It also calls it
// after each (re)connect, since anything may have changed while it was not listening,
// and retries a lost connection with backoff (0.5 s doubling to 5 s). Callers keep
// polling as the fallback, less often while the feed is connected.
//
// On SQLite there is nothing to listen to (one machine; callers poll the file, which is
// cheap): Open returns no feed and NotifyChange does nothing.
//
// Thread-safety: `on_change` runs on the feed's thread; connected() from any thread.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "store/metadata_store.h"
#include "store/workspace.h"

namespace ferry::store {

// The channel serving follows: deployments, model aliases, rollouts.
inline constexpr char kServingChannel[] = "ferry_serving";

// Inside a write transaction: listeners of `channel` hear of it when it commits (and not
// at all if it rolls back).
absl::Status NotifyChange(Transaction& tx, std::string_view channel);

class ChangeFeed {
 public:
  // Null (and OK) when the workspace's engine has no notifications (SQLite). The first
  // connection is made on the feed's thread, so Open never waits for the server.
  static absl::StatusOr<std::unique_ptr<ChangeFeed>> Open(const Workspace& workspace,
                                                          std::string channel,
                                                          std::function<void()> on_change);
  ~ChangeFeed();  // stops the thread

  bool connected() const { return connected_.load(); }

 private:
  ChangeFeed(std::string url, std::string channel, std::function<void()> on_change);
  void Run();

  const std::string url_;
  const std::string channel_;
  const std::function<void()> on_change_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace ferry::store
