#include "store/leadership.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/clock.h"
#include "core/status.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

// Two "servers" (two opens of one workspace) on each engine.
class LeadershipTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    core::WorkspaceConfig config;
    if (GetParam() == Dialect::kPostgresql)
      config.metadata = testing::SharedPostgres().NewDatabase();
    auto created = Workspace::Init(temp_.path(), core::SystemClock::Shared(), config);
    ASSERT_TRUE(created.ok()) << created.status();
    a_ = std::move(*created);
    b_ = std::move(Workspace::Open(temp_.path(), core::SystemClock::Shared())).value();
    ASSERT_TRUE(a_->metadata()
                    .Write([](Transaction& tx) {
                      return tx.ExecuteScript("CREATE TABLE decisions (id BIGINT PRIMARY KEY)");
                    })
                    .ok());
  }

  std::unique_ptr<Leadership> Elect(Workspace& ws, std::string holder,
                                    std::chrono::milliseconds lease = std::chrono::seconds(5)) {
    Leadership::Options options;
    options.holder = std::move(holder);
    options.lease = lease;
    return std::move(Leadership::Open(ws, options)).value();
  }

  absl::Status Decide(Workspace& ws, int64_t id) {
    return ws.metadata().Write([id](Transaction& tx) {
      return tx.Execute("INSERT INTO decisions (id) VALUES (?)", {id}).status();
    });
  }

  int64_t Decisions() {
    int64_t n = -1;
    EXPECT_TRUE(a_->metadata()
                    .Read([&](Transaction& tx) -> absl::Status {
                      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM decisions"));
                      n = rows.at(0).Int(0);
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  testing::TempDir temp_;
  std::unique_ptr<Workspace> a_;
  std::unique_ptr<Workspace> b_;
};

INSTANTIATE_TEST_SUITE_P(Engines, LeadershipTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgresql),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgresql";
                         });

TEST_P(LeadershipTest, OneLeadsAtATimeAndTermsCountUp) {
  auto a = Elect(*a_, "server-a");
  auto b = Elect(*b_, "server-b");
  ASSERT_TRUE(a->CheckNow().ok());
  ASSERT_TRUE(b->CheckNow().ok());
  EXPECT_EQ(a->term(), 1);
  EXPECT_FALSE(b->leading());
  auto leader = b->CurrentLeader();
  ASSERT_TRUE(leader.ok() && leader->has_value()) << leader.status();
  EXPECT_EQ((*leader)->holder, "server-a");
  EXPECT_EQ((*leader)->term, 1);

  a->Stop();  // steps down: the lock is free at once
  EXPECT_FALSE(a->leading());
  ASSERT_TRUE(b->CheckNow().ok());
  EXPECT_EQ(b->term(), 2);
  EXPECT_EQ((*std::move(a->CurrentLeader()).value()).holder, "server-b");
  ASSERT_TRUE(a->CheckNow().ok());
  EXPECT_FALSE(a->leading());  // b holds it
}

TEST_P(LeadershipTest, AnOldTermsWritesAreFenced) {
  auto a = Elect(*a_, "server-a");
  ASSERT_TRUE(a->CheckNow().ok());
  const int64_t old_term = a->term();
  a->Stop();
  auto b = Elect(*b_, "server-b");
  ASSERT_TRUE(b->CheckNow().ok());
  ASSERT_EQ(b->term(), old_term + 1);
  {
    // The old leader, acting on what it decided in its term: refused, nothing written.
    const TermFence stale(old_term);
    FenceScope scope(stale);
    absl::Status status = Decide(*a_, 1);
    EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
    EXPECT_NE(status.message().find("no longer leads"), std::string::npos) << status;
  }
  {
    const TermFence current(b->term());
    FenceScope scope(current);
    EXPECT_TRUE(Decide(*b_, 2).ok());
  }
  EXPECT_TRUE(Decide(*a_, 3).ok());  // outside any duty: not fenced
  EXPECT_EQ(Decisions(), 2);
}

TEST_P(LeadershipTest, StartLeadsBeforeReturningAndStopHandsOver) {
  auto a = Elect(*a_, "server-a");
  a->Start();
  EXPECT_TRUE(a->leading());
  auto b = Elect(*b_, "server-b");
  b->Start();
  EXPECT_FALSE(b->leading());
  a.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!b->leading() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(b->leading());
}

TEST(PostgresLeadershipTest, AStalledLeaderLosesItsLeaseAndIsFenced) {
  testing::TempDir temp;
  core::WorkspaceConfig config;
  config.metadata = testing::SharedPostgres().NewDatabase();
  auto a_ws = std::move(Workspace::Init(temp.path(), core::SystemClock::Shared(), config)).value();
  auto b_ws = std::move(Workspace::Open(temp.path(), core::SystemClock::Shared())).value();
  Leadership::Options options;
  options.holder = "stalled";
  options.lease = std::chrono::milliseconds(500);
  auto a = std::move(Leadership::Open(*a_ws, options)).value();
  options.holder = "successor";
  auto b = std::move(Leadership::Open(*b_ws, options)).value();
  ASSERT_TRUE(a->CheckNow().ok());
  ASSERT_EQ(a->term(), 1);
  // a stops pinging (as a paused process would); PostgreSQL ends its idle session.
  bool taken = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!taken && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(b->CheckNow().ok());
    taken = b->leading();
  }
  ASSERT_TRUE(taken);
  EXPECT_EQ(b->term(), 2);
  // a wakes up still believing it leads: its duty's writes are refused...
  EXPECT_TRUE(a->leading());
  {
    const TermFence stale(a->term());
    FenceScope scope(stale);
    absl::Status status = a_ws->metadata().Write(
        [](Transaction& tx) { return tx.ExecuteScript("CREATE TABLE acted (id BIGINT)"); });
    EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  }
  // ...and its next check finds the lock gone.
  EXPECT_FALSE(a->CheckNow().ok());
  EXPECT_FALSE(a->leading());
}

}  // namespace
}  // namespace ferry::store
