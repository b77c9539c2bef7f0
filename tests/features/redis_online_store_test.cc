// RedisOnlineStore against a real redis-server started by the test (loopback, free port):
// the OnlineStore rules (never older over newer, also across connections), records, the
// store id, keys expiring by the view's ttl, and what happens when Redis goes away and
// comes back.

#include "features/redis_online_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <thread>

#include "features/online_value.h"
#include "online_store_test_support.h"
#include "testing/redis_server.h"
#include "testing/temp_dir.h"

namespace ferry::features {
namespace {

using store_testing::ReadOne;
using store_testing::Value;

std::string Key(std::string_view key) { return store_testing::Key("v", key); }

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One command to Redis itself, beside the store: its integer or text reply.
struct ProbeReply {
  int64_t integer = -3;
  std::string text;
};
ProbeReply Probe(int port, std::vector<std::string> args) {
  redisContext* c = redisConnect("127.0.0.1", port);
  EXPECT_TRUE(c != nullptr && c->err == 0);
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  ProbeReply out;
  if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) out.integer = reply->integer;
  if (reply != nullptr && reply->type == REDIS_REPLY_STRING)
    out.text.assign(reply->str, reply->len);
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(c);
  return out;
}

// PTTL of the hash of online key `key` (milliseconds; -1 without expiry, -2 when it does
// not exist).
int64_t Pttl(int port, const std::string& key) {
  return Probe(port, {"PTTL", "ferry:" + key}).integer;
}

// The number of clients connected to the Redis at `port` (this probe's included).
int64_t ConnectedClients(int port) {
  const std::string info = Probe(port, {"INFO", "clients"}).text;
  const size_t at = info.find("connected_clients:");
  return at == std::string::npos ? -1 : std::stoll(info.substr(at + 18));
}

// Keys c0, c1, ... of view "v" and values with event times 0, 1, ...
struct KeysAndValues {
  std::vector<std::string> keys;
  std::vector<std::string> values;
};
KeysAndValues MakeKeysAndValues(int n) {
  KeysAndValues out;
  for (int i = 0; i < n; ++i) {
    out.keys.push_back(Key("c" + std::to_string(i)));
    out.values.push_back(Value(i, kNoCreatedTime));
  }
  return out;
}

class RedisOnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.Start()) << "redis-server did not start"; }

  std::unique_ptr<RedisOnlineStore> Connect() {
    RedisOnlineOptions options;
    options.port = redis_.port();
    options.command_timeout = std::chrono::milliseconds(1000);
    options.backoff_initial = std::chrono::milliseconds(500);  // long enough to observe
    absl::StatusOr<std::unique_ptr<RedisOnlineStore>> store = RedisOnlineStore::Connect(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  WriteCounts Write(OnlineStore& store, const std::string& key, const std::string& value) {
    return store_testing::WriteOne(store, key, value);
  }
  WriteCounts WriteWithTtl(OnlineStore& store, const std::string& key, const std::string& value,
                           int64_t ttl_seconds) {
    const OnlineEntry entries[] = {{key, value}};
    absl::StatusOr<WriteCounts> counts = store.WriteLatest({"v", ttl_seconds}, entries);
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.value_or(WriteCounts{});
  }

  testing::TempDir temp_;
  testing::RedisServer redis_{temp_.path() / "redis"};
};

TEST_F(RedisOnlineStoreTest, NeverReplacesANewerValueWithAnOlderOne) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const std::string k = Key("c1");
  EXPECT_EQ(Write(*store, k, Value(100, 5)).written, 1);
  EXPECT_EQ(Write(*store, k, Value(90, 9)).kept, 1);                // older event
  EXPECT_EQ(Write(*store, k, Value(100, 4)).kept, 1);               // same event, older created
  EXPECT_EQ(Write(*store, k, Value(100, kNoCreatedTime)).kept, 1);  // none is the oldest
  EXPECT_EQ(ReadOne(*store, k), Value(100, 5));
  EXPECT_EQ(Write(*store, k, Value(100, 5)).written, 1);  // equal: replaced
  EXPECT_EQ(Write(*store, k, Value(101, kNoCreatedTime)).written, 1);
  EXPECT_EQ(Write(*store, k, Value(50, 0, /*tag=*/8)).written, 1);  // another layout
  EXPECT_EQ(ReadOne(*store, k), Value(50, 0, 8));
  EXPECT_EQ(ReadOne(*store, Key("nobody")), std::nullopt);
}

TEST_F(RedisOnlineStoreTest, BatchesArePipelinedAndReadsFindEachKey) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const auto [keys, values] = MakeKeysAndValues(1000);
  std::vector<OnlineEntry> entries;
  for (int i = 0; i < 1000; ++i) entries.push_back({keys[i], values[i]});
  absl::StatusOr<WriteCounts> counts = store->WriteLatest({"v"}, entries);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->written, 1000);
  std::vector<std::string_view> wanted(keys.begin(), keys.end());
  wanted.push_back("absent");
  std::vector<std::string> got(wanted.size());
  ASSERT_TRUE(store->Read(wanted, [&](size_t i, std::string_view v) { got[i] = v; }).ok());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[i], values[i]) << i;
  EXPECT_EQ(got.back(), "");
}

TEST_F(RedisOnlineStoreTest, ALargeBatchIsDecidedKeyByKey) {
  // 1000 entries span several script calls (128 keys each): each key is still compared
  // and counted on its own, and gets the view's expiry.
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const auto [keys, values] = MakeKeysAndValues(1000);
  std::vector<OnlineEntry> entries;
  for (size_t i = 0; i < keys.size(); ++i) entries.push_back({keys[i], values[i]});
  ASSERT_TRUE(store->WriteLatest({"v"}, entries).ok());
  // Odd keys get a newer value, even ones an older one.
  std::vector<std::string> next;
  for (int i = 0; i < 1000; ++i) next.push_back(Value(i % 2 ? i + 1 : i - 1, kNoCreatedTime));
  for (size_t i = 0; i < keys.size(); ++i) entries[i].value = next[i];
  absl::StatusOr<WriteCounts> counts = store->WriteLatest({"v", /*ttl_seconds=*/60}, entries);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->written, 500);
  EXPECT_EQ(counts->kept, 500);
  for (int i : {0, 1, 127, 128, 129, 998, 999}) {
    EXPECT_EQ(ReadOne(*store, keys[i]), i % 2 ? next[i] : values[i]) << i;
    const int64_t ttl = Pttl(redis_.port(), keys[i]);
    if (i % 2) {
      EXPECT_GT(ttl, 50'000) << i;
    } else {
      EXPECT_EQ(ttl, -1) << i;  // kept: as it was
    }
  }
}

TEST_F(RedisOnlineStoreTest, WritersOnSeveralConnectionsNeverLeaveAnOlderValue) {
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a && b);
  const std::string k = Key("hot");
  std::atomic<bool> go{false};
  auto writer = [&](OnlineStore& store, int parity) {
    while (!go) std::this_thread::yield();
    for (int ts = parity; ts < 400; ts += 2) Write(store, k, Value(ts, kNoCreatedTime));
  };
  std::thread t1(writer, std::ref(*a), 0);
  std::thread t2(writer, std::ref(*b), 1);
  go = true;
  t1.join();
  t2.join();
  EXPECT_EQ(ReadOne(*a, k), Value(399, kNoCreatedTime));
}

TEST_F(RedisOnlineStoreTest, KeysExpireTtlAfterTheLaterOfTheirEventAndTheWrite) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  constexpr int64_t kHour = 3600;
  constexpr int64_t kSlackMs = 5000;  // the time between the write and the PTTL
  const int64_t now = NowMicros();
  // An event long before now (the demo's simulated January, read in a real November):
  // kept a full ttl from the write, not removed at once.
  const std::string old_key = Key("old");
  EXPECT_EQ(
      WriteWithTtl(*store, old_key, Value(now - 300 * 24 * kHour * 1'000'000, 0), kHour).written,
      1);
  EXPECT_LE(Pttl(redis_.port(), old_key), kHour * 1000);
  EXPECT_GT(Pttl(redis_.port(), old_key), kHour * 1000 - kSlackMs);
  // An event ahead of Redis's clock: ttl after the event.
  const std::string ahead_key = Key("ahead");
  WriteWithTtl(*store, ahead_key, Value(now + 2 * kHour * 1'000'000, 0), kHour);
  EXPECT_LE(Pttl(redis_.port(), ahead_key), 3 * kHour * 1000);
  EXPECT_GT(Pttl(redis_.port(), ahead_key), 3 * kHour * 1000 - kSlackMs);
  // An older value that is kept leaves the expiry alone; a newer one renews it.
  WriteWithTtl(*store, ahead_key, Value(now, 0), 100 * kHour);
  EXPECT_LE(Pttl(redis_.port(), ahead_key), 3 * kHour * 1000);
  WriteWithTtl(*store, ahead_key, Value(now + 3 * kHour * 1'000'000, 0), kHour);
  EXPECT_GT(Pttl(redis_.port(), ahead_key), 4 * kHour * 1000 - kSlackMs);
  // No ttl: no expiry, also for a key that had one.
  const std::string forever = Key("forever");
  WriteWithTtl(*store, forever, Value(now, 0), 0);
  EXPECT_EQ(Pttl(redis_.port(), forever), -1);
  WriteWithTtl(*store, old_key, Value(now, 1), 0);
  EXPECT_EQ(Pttl(redis_.port(), old_key), -1);
}

TEST_F(RedisOnlineStoreTest, AKeyWithAShortTtlDisappears) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const std::string k = Key("brief");
  const std::string value = Value(NowMicros(), 0);
  ASSERT_EQ(WriteWithTtl(*store, k, value, /*ttl_seconds=*/1).written, 1);
  EXPECT_EQ(ReadOne(*store, k), value);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ReadOne(*store, k) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ReadOne(*store, k), std::nullopt);
  EXPECT_EQ(Pttl(redis_.port(), k), -2);
}

TEST_F(RedisOnlineStoreTest, RecordsAndTheIdAreSharedByEveryConnection) {
  auto a = Connect();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id().size(), 32u);
  ASSERT_TRUE(a->PutRecord("view/v", R"({"layout": 1})").ok());
  auto b = Connect();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->id(), a->id());
  absl::StatusOr<std::optional<std::string>> record = b->GetRecord("view/v");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(*record, std::optional<std::string>(R"({"layout": 1})"));
  EXPECT_EQ(*b->GetRecord("view/none"), std::nullopt);
  EXPECT_TRUE(b->Sync().ok());
}

TEST_F(RedisOnlineStoreTest, ConcurrentReadersEachGetTheirKeysOnSeveralConnections) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const auto [keys, values] = MakeKeysAndValues(40);
  for (size_t i = 0; i < keys.size(); ++i) Write(*store, keys[i], values[i]);
  std::atomic<bool> go{false};
  std::atomic<int> wrong{0};
  auto reader = [&](int first) {
    while (!go) std::this_thread::yield();
    for (int round = 0; round < 300; ++round) {
      const std::string_view wanted[] = {keys[first], keys[first + 1], "absent"};
      std::string got[3];
      const absl::Status read =
          store->Read(wanted, [&](size_t i, std::string_view v) { got[i] = v; });
      if (!read.ok() || got[0] != values[first] || got[1] != values[first + 1] || !got[2].empty()) {
        ++wrong;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(reader, t * 10);
  go = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  // The readers did not queue on one connection (the pool holds at most `connections`).
  const int64_t clients = ConnectedClients(redis_.port()) - 1;  // less this probe
  EXPECT_GT(clients, 1);
  EXPECT_LE(clients, RedisOnlineOptions().connections);
}

TEST_F(RedisOnlineStoreTest, RedisDownFailsPromptlyAndARestartedRedisIsUsedAgain) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const std::string k = Key("c1");
  Write(*store, k, Value(1, kNoCreatedTime));
  redis_.Stop();
  const auto start = std::chrono::steady_clock::now();
  const std::string_view keys[] = {k};
  const absl::Status down = store->Read(keys, [](size_t, std::string_view) {});
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_NE(down.message().find("redis://127.0.0.1:"), std::string::npos) << down;
  const std::string two = Value(2, kNoCreatedTime);
  const OnlineEntry entries[] = {{k, two}};
  // Within the backoff: not even tried.
  const absl::Status waiting = store->WriteLatest({"v"}, entries).status();
  EXPECT_EQ(waiting.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(waiting.message().find("not trying again"), std::string::npos) << waiting;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Back on the same port (empty: nothing was saved): once the backoff has passed, a call
  // connects again and loads the write script again.
  ASSERT_TRUE(redis_.Start());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  absl::StatusOr<WriteCounts> written = store->WriteLatest({"v"}, entries);
  while (!written.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    written = store->WriteLatest({"v"}, entries);
  }
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->written, 1);
  EXPECT_EQ(ReadOne(*store, k), two);
}

TEST_F(RedisOnlineStoreTest, AHungRedisFailsWithinTheCommandTimeout) {
  auto store = Connect();
  ASSERT_NE(store, nullptr);
  const std::string k = Key("c1");
  Write(*store, k, Value(1, kNoCreatedTime));
  redis_.Pause();  // connections are accepted, nothing is answered
  const auto start = std::chrono::steady_clock::now();
  const std::string_view keys[] = {k};
  const absl::Status hung = store->Read(keys, [](size_t, std::string_view) {});
  EXPECT_EQ(hung.code(), absl::StatusCode::kUnavailable) << hung;
  EXPECT_NE(hung.message().find("redis://127.0.0.1:"), std::string::npos) << hung;
  // The kept connection times out, and so does the new one tried after it: two command
  // timeouts (1 s each here), not a hang.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  redis_.Resume();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::optional<std::string> value;
  while (!value && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    store->Read(keys, [&](size_t, std::string_view v) { value = std::string(v); }).IgnoreError();
  }
  EXPECT_EQ(value, Value(1, kNoCreatedTime));
}

TEST(RedisOnlineStoreConnectTest, NoServerIsUnavailable) {
  RedisOnlineOptions options;
  options.port = 1;  // nothing listens on port 1
  absl::StatusOr<std::unique_ptr<RedisOnlineStore>> store = RedisOnlineStore::Connect(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

}  // namespace
}  // namespace ferry::features
