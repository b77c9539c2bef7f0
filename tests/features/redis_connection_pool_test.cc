// RedisConnectionPool against a real redis-server started by the test (loopback, free
// port): connections are reused and bounded, a broken one takes the idle ones with it, and
// failed connects back off instead of being tried again on every call.

#include "features/redis_connection_pool.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <thread>

#include "testing/redis_server.h"
#include "testing/temp_dir.h"

namespace ferry::features {
namespace {

using std::chrono::milliseconds;

class RedisConnectionPoolTest : public ::testing::Test {
 protected:
  RedisPoolOptions Options(int size) {
    RedisPoolOptions options;
    options.port = redis_.port();
    options.size = size;
    options.command_timeout = milliseconds(200);
    options.backoff_initial = milliseconds(200);
    options.backoff_max = milliseconds(400);
    return options;
  }
  RedisConnectionPool::SetUp Counting() {
    return [this](redisContext&) {
      ++set_ups_;
      return absl::OkStatus();
    };
  }

  testing::TempDir temp_;
  testing::RedisServer redis_{temp_.path() / "redis"};
  std::atomic<int> set_ups_{0};
};

TEST_F(RedisConnectionPoolTest, ConnectionsAreOpenedAsNeededAndReused) {
  ASSERT_TRUE(redis_.Start());
  RedisConnectionPool pool(Options(2), Counting());
  absl::StatusOr<RedisConnectionPool::Lease> a = pool.Acquire();
  absl::StatusOr<RedisConnectionPool::Lease> b = pool.Acquire();
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_NE(&a->context(), &b->context());
  EXPECT_FALSE(a->kept());
  redisContext* first = &a->context();
  a = absl::UnavailableError("given back");
  absl::StatusOr<RedisConnectionPool::Lease> c = pool.Acquire();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->kept());
  EXPECT_EQ(&c->context(), first);
  EXPECT_EQ(set_ups_, 2);
}

TEST_F(RedisConnectionPoolTest, AFullPoolWaitsForAConnectionThenGivesUpNamingTheServer) {
  ASSERT_TRUE(redis_.Start());
  RedisConnectionPool pool(Options(1), Counting());
  absl::StatusOr<RedisConnectionPool::Lease> held = pool.Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<RedisConnectionPool::Lease> waited = pool.Acquire();
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(waited.status().message().find("busy"), std::string::npos) << waited.status();
  EXPECT_NE(waited.status().message().find("redis://127.0.0.1:"), std::string::npos);
  std::thread giver([&] {
    std::this_thread::sleep_for(milliseconds(20));
    held = absl::UnavailableError("given back");
  });
  waited = pool.Acquire();
  giver.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_TRUE(waited->kept());
}

TEST_F(RedisConnectionPoolTest, ABrokenConnectionClosesTheIdleOnesToo) {
  ASSERT_TRUE(redis_.Start());
  RedisConnectionPool pool(Options(3), Counting());
  absl::StatusOr<RedisConnectionPool::Lease> a = pool.Acquire();
  absl::StatusOr<RedisConnectionPool::Lease> b = pool.Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  b = absl::UnavailableError("given back");  // idle now
  const absl::Status broken = a->Broken("reading");
  EXPECT_EQ(broken.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(broken.message().find("failed reading"), std::string::npos) << broken;
  a = absl::UnavailableError("given back");
  absl::StatusOr<RedisConnectionPool::Lease> c = pool.Acquire();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->kept());
  EXPECT_EQ(set_ups_, 3);
}

TEST_F(RedisConnectionPoolTest, FailedConnectsBackOffAndDoubleTheWait) {
  RedisConnectionPool pool(Options(2), Counting());  // nothing listens yet
  absl::StatusOr<RedisConnectionPool::Lease> lease = pool.Acquire();
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(lease.status().message().find("failed connecting"), std::string::npos)
      << lease.status();
  // At once again: not tried, the same reason and how long until the next attempt.
  lease = pool.Acquire();
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(lease.status().message().find("not trying again for another"), std::string::npos)
      << lease.status();
  // Past the 200 ms: tried, failed, now 400 ms.
  std::this_thread::sleep_for(milliseconds(250));
  EXPECT_NE(pool.Acquire().status().message().find("failed connecting"), std::string::npos);
  const std::string waiting(pool.Acquire().status().message());
  const size_t at = waiting.find("another ");
  ASSERT_NE(at, std::string::npos) << waiting;
  EXPECT_GT(std::stoi(waiting.substr(at + 8)), 200) << waiting;
  // Redis comes up: used once the wait is over.
  ASSERT_TRUE(redis_.Start());
  std::this_thread::sleep_for(milliseconds(450));
  lease = pool.Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(set_ups_, 1);
}

TEST_F(RedisConnectionPoolTest, ASetUpErrorFailsTheConnect) {
  ASSERT_TRUE(redis_.Start());
  RedisConnectionPool pool(Options(1),
                           [](redisContext&) { return absl::UnavailableError("no script"); });
  EXPECT_EQ(pool.Acquire().status().message(), "no script");
  EXPECT_NE(pool.Acquire().status().message().find("not trying again"), std::string::npos);
}

}  // namespace
}  // namespace ferry::features
