#include "features/rocksdb_online_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "features/online_value.h"
#include "features/shared_online_store.h"
#include "online_store_test_support.h"
#include "testing/temp_dir.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;

using store_testing::Key;
using store_testing::ReadOne;
using store_testing::Value;

class RocksDbOnlineStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RocksDbOnlineStore> Open() {
    absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> store = RocksDbOnlineStore::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  WriteCounts Write(OnlineStore& store, const std::string& key, const std::string& value) {
    return store_testing::WriteOne(store, key, value);
  }

  testing::TempDir temp_;
  fs::path path_ = temp_ / "online";
};

TEST_F(RocksDbOnlineStoreTest, NeverReplacesANewerValueWithAnOlderOne) {
  auto store = Open();
  const std::string k = Key("v", "a");
  EXPECT_EQ(Write(*store, k, Value(200, 0)).written, 1);
  EXPECT_EQ(Write(*store, k, Value(100, 50)).kept, 1);  // older event, newer created
  EXPECT_EQ(ReadOne(*store, k), Value(200, 0));
  EXPECT_EQ(Write(*store, k, Value(200, 1)).written, 1);  // same event, newer created
  EXPECT_EQ(Write(*store, k, Value(200, 1)).kept, 1);     // the same bytes: nothing to do
  EXPECT_EQ(Write(*store, k, Value(150, 9, /*tag=*/8)).written, 1);  // a new layout wins
  EXPECT_EQ(ReadOne(*store, k), Value(150, 9, 8));
}

TEST_F(RocksDbOnlineStoreTest, BatchesMixWrittenAndKeptEntries) {
  auto store = Open();
  const std::string a = Key("v", "a"), b = Key("v", "b"), c = Key("v", "c");
  Write(*store, a, Value(500, 0));
  const std::string newer = Value(600, 0), older = Value(100, 0), fresh = Value(1, 0);
  const OnlineEntry entries[] = {{a, older}, {b, fresh}, {c, newer}};
  absl::StatusOr<WriteCounts> counts = store->WriteLatest({"v"}, entries);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->written, 2);
  EXPECT_EQ(counts->kept, 1);
  std::vector<std::string> found(3);
  const std::string_view keys[] = {a, b, c};
  ASSERT_TRUE(store->Read(keys, [&](size_t i, std::string_view v) { found[i] = v; }).ok());
  EXPECT_EQ(found, (std::vector<std::string>{Value(500, 0), fresh, newer}));
}

TEST_F(RocksDbOnlineStoreTest, ConcurrentWritersNeverLeaveAnOlderValue) {
  auto store = Open();
  const std::string k = Key("v", "hot");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) Write(*store, k, Value(i * 4 + t, 0));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ReadOne(*store, k), Value(199 * 4 + 3, 0));
}

TEST_F(RocksDbOnlineStoreTest, ReadersNeverSeeAValueGoBackInTime) {
  // Readers race the writer through the value cache: a value read from RocksDB just
  // before a write must not be cached after it.
  auto store = Open();
  const std::vector<std::string> keys = {Key("v", "a"), Key("v", "b"), Key("v", "c")};
  std::atomic<bool> done{false};
  std::atomic<int> backwards{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::vector<int64_t> last(keys.size(), -1);
      const std::vector<std::string_view> views(keys.begin(), keys.end());
      while (!done.load()) {
        ASSERT_TRUE(store
                        ->Read(views,
                               [&](size_t i, std::string_view v) {
                                 const int64_t ts = ReadOnlineValueHeader(v)->event_ts;
                                 if (ts < last[i]) backwards.fetch_add(1);
                                 last[i] = ts;
                               })
                        .ok());
      }
    });
  }
  for (int64_t ts = 0; ts < 2000; ++ts) Write(*store, keys[ts % 3], Value(ts, 0));
  done.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(ReadOne(*store, keys[1]), Value(1999, 0));  // the last ts with ts % 3 == 1
}

TEST_F(RocksDbOnlineStoreTest, ValuesAndIdSurviveARestart) {
  std::string id;
  {
    auto store = Open();
    id = store->id();
    Write(*store, Key("v", "a"), Value(1, 2));
    ASSERT_TRUE(store->PutRecord("view/v", "{}").ok());
    ASSERT_TRUE(store->Sync().ok());
  }
  auto store = Open();
  EXPECT_EQ(store->id(), id);
  EXPECT_EQ(ReadOne(*store, Key("v", "a")), Value(1, 2));
  EXPECT_EQ(store->GetRecord("view/v").value(), "{}");
  EXPECT_EQ(store->GetRecord("view/w").value(), std::nullopt);
  EXPECT_EQ(ReadOne(*store, Key("v", "b")), std::nullopt);
}

TEST_F(RocksDbOnlineStoreTest, ARecreatedStoreHasANewId) {
  std::string id = Open()->id();
  fs::remove_all(path_);
  EXPECT_NE(Open()->id(), id);
}

TEST_F(RocksDbOnlineStoreTest, OnlyOneWriterAtATime) {
  auto first = Open();
  absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> second = RocksDbOnlineStore::Open(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_NE(second.status().message().find("another process"), absl::string_view::npos);
}

TEST_F(RocksDbOnlineStoreTest, FollowersReadBesideTheWriterAndCannotWrite) {
  auto writer = Open();
  Write(*writer, Key("v", "a"), Value(1, 0));  // in the writer's memtable and log only
  absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> follower =
      RocksDbOnlineStore::OpenFollower(path_);
  ASSERT_TRUE(follower.ok()) << follower.status();
  EXPECT_EQ((*follower)->id(), writer->id());
  EXPECT_EQ(ReadOne(**follower, Key("v", "a")), Value(1, 0));
  const std::string k = Key("v", "b"), v = Value(1, 0);
  const OnlineEntry entries[] = {{k, v}};
  EXPECT_TRUE(absl::IsFailedPrecondition((*follower)->WriteLatest({"v"}, entries).status()));
}

TEST_F(RocksDbOnlineStoreTest, FollowingAMissingStoreSaysNothingIsMaterialized) {
  absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> follower =
      RocksDbOnlineStore::OpenFollower(path_);
  ASSERT_FALSE(follower.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(follower.status()));
  EXPECT_NE(follower.status().message().find("materialize"), absl::string_view::npos);
}

TEST_F(RocksDbOnlineStoreTest, ReadsManyKeysTwiceTheSame) {
  auto store = Open();
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(Key("v", std::to_string(i)));
  for (int i = 0; i < 300; i += 3) Write(*store, keys[i], Value(i, 0));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  for (int pass = 0; pass < 2; ++pass) {  // from RocksDB, then from the value cache
    std::vector<size_t> found;
    ASSERT_TRUE(store
                    ->Read(views,
                           [&](size_t i, std::string_view v) {
                             EXPECT_EQ(v, Value(static_cast<int64_t>(i), 0));
                             found.push_back(i);
                           })
                    .ok());
    std::sort(found.begin(), found.end());
    ASSERT_EQ(found.size(), 100u);
    for (size_t i = 0; i < found.size(); ++i) EXPECT_EQ(found[i], i * 3);
  }
  Write(*store, keys[1], Value(7, 0));  // a cached absence becomes a value
  EXPECT_EQ(ReadOne(*store, keys[1]), Value(7, 0));
  Write(*store, keys[3], Value(8, 0));  // a cached value is replaced
  EXPECT_EQ(ReadOne(*store, keys[3]), Value(8, 0));
}

}  // namespace
}  // namespace ferry::features

namespace ferry::features {
namespace {

TEST(SharedOnlineStoreTest, WaitsForAnotherWriterToLetGo) {
  testing::TempDir temp;
  const fs::path path = temp / "online";
  auto other = RocksDbOnlineStore::Open(path);
  ASSERT_TRUE(other.ok());
  SharedOnlineStore shared(path);
  absl::StatusOr<OnlineStore*> busy = shared.Get();
  EXPECT_TRUE(absl::IsUnavailable(busy.status())) << busy.status();
  other->reset();
  EXPECT_TRUE(absl::IsUnavailable(shared.Get().status()));  // retried at most once a second
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  absl::StatusOr<OnlineStore*> opened = shared.Get();
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(shared.Get().value(), *opened);
}

}  // namespace
}  // namespace ferry::features
