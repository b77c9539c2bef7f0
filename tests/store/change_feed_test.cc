#include "store/change_feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/clock.h"
#include "core/status.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

using std::chrono::milliseconds;

// Waits up to `limit` for `done`.
template <typename F>
bool Eventually(F done, milliseconds limit = milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

absl::Status Announce(Workspace& ws, bool commit) {
  return ws.metadata().Write([commit](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(NotifyChange(tx, kServingChannel));
    return commit ? absl::OkStatus() : absl::CancelledError("changed my mind");
  });
}

TEST(ChangeFeedTest, SqliteHasNoFeedAndNotifyingIsHarmless) {
  testing::TempDir temp;
  auto ws = std::move(Workspace::Init(temp.path(), core::SystemClock::Shared())).value();
  auto feed = ChangeFeed::Open(*ws, kServingChannel, [] {});
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(*feed, nullptr);
  EXPECT_TRUE(Announce(*ws, true).ok());
}

TEST(ChangeFeedTest, CommittedChangesAreHeardRolledBackOnesAreNot) {
  testing::TempDir temp;
  core::WorkspaceConfig config;
  config.metadata = testing::SharedPostgres().NewDatabase();
  auto writer =
      std::move(Workspace::Init(temp.path(), core::SystemClock::Shared(), config)).value();
  auto listener = std::move(Workspace::Open(temp.path(), core::SystemClock::Shared())).value();
  std::atomic<int> heard{0};
  auto feed = std::move(ChangeFeed::Open(*listener, kServingChannel, [&] { ++heard; })).value();
  ASSERT_NE(feed, nullptr);
  // Connecting counts as a change (anything may have changed before).
  ASSERT_TRUE(Eventually([&] { return feed->connected() && heard.load() == 1; }));

  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(Announce(*writer, true).ok());
  ASSERT_TRUE(Eventually([&] { return heard.load() == 2; }, milliseconds(1000)));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, milliseconds(1000));

  EXPECT_EQ(Announce(*writer, false).code(), absl::StatusCode::kCancelled);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(heard.load(), 2);

  EXPECT_FALSE(ChangeFeed::Open(*listener, "x; DROP TABLE y", [] {}).ok());
}

TEST(ChangeFeedTest, ALostConnectionComesBackAndCountsAsAChange) {
  testing::TempDir temp;
  testing::PostgresServer server(temp.path() / "pg");
  ASSERT_TRUE(server.Start()) << server.error();
  core::WorkspaceConfig config;
  config.metadata = server.NewDatabase();
  auto ws =
      std::move(Workspace::Init(temp.path() / "ws", core::SystemClock::Shared(), config)).value();
  std::atomic<int> heard{0};
  auto feed = std::move(ChangeFeed::Open(*ws, kServingChannel, [&] { ++heard; })).value();
  ASSERT_TRUE(Eventually([&] { return feed->connected(); }));
  const int before = heard.load();
  server.Stop();
  ASSERT_TRUE(Eventually([&] { return !feed->connected(); }));
  ASSERT_TRUE(server.Start()) << server.error();
  // Backoff starts at 0.5 s and doubles; within 10 s it is listening again.
  ASSERT_TRUE(Eventually([&] { return feed->connected(); }, milliseconds(10'000)));
  EXPECT_TRUE(Eventually([&] { return heard.load() > before; }));
  // Counted before announcing: the notification may arrive before Announce returns.
  const int before_announcing = heard.load();
  ASSERT_TRUE(Announce(*ws, true).ok());
  EXPECT_TRUE(Eventually([&] { return heard.load() > before_announcing; }, milliseconds(1000)));
}

}  // namespace
}  // namespace ferry::store
