#include "features/online_value_cache.h"

#include <gtest/gtest.h>

#include <map>

#include "table/random.h"

namespace ferry::features {
namespace {

// What a lookup saw: not cached, cached as absent, or cached with a value.
struct Seen {
  bool hit = false;
  std::optional<std::string> value;
  uint64_t epoch = 0;
};

Seen Look(const OnlineValueCache& cache, std::string_view key) {
  Seen seen;
  const OnlineValueCache::Probe probe = cache.Lookup(key, [&](std::optional<std::string_view> v) {
    if (v) seen.value = std::string(*v);
  });
  seen.hit = probe.hit;
  seen.epoch = probe.epoch;
  return seen;
}

TEST(OnlineValueCacheTest, CachesValuesAndAbsences) {
  OnlineValueCache cache(1 << 20);
  Seen miss = Look(cache, "a");
  EXPECT_FALSE(miss.hit);
  cache.Fill("a", "one", miss.epoch);
  cache.Fill("b", std::nullopt, Look(cache, "b").epoch);
  Seen a = Look(cache, "a");
  EXPECT_TRUE(a.hit);
  EXPECT_EQ(a.value, "one");
  Seen b = Look(cache, "b");
  EXPECT_TRUE(b.hit);
  EXPECT_EQ(b.value, std::nullopt);
  cache.Written("b", "two");
  EXPECT_EQ(Look(cache, "b").value, "two");
  cache.Written("c", "three");  // not cached: stays a miss
  EXPECT_FALSE(Look(cache, "c").hit);
}

TEST(OnlineValueCacheTest, AFillThatRacedAWriteIsDropped) {
  OnlineValueCache cache(1 << 20);
  const uint64_t epoch = Look(cache, "k").epoch;  // a reader misses, goes to the engine...
  cache.Written("k", "new");                      // ...a writer writes meanwhile...
  cache.Fill("k", "old", epoch);                  // ...and the reader's old value arrives
  EXPECT_FALSE(Look(cache, "k").hit);
}

TEST(OnlineValueCacheTest, StaysWithinItsCapacity) {
  OnlineValueCache cache(64 * 1024);  // 1 KiB per shard
  const std::string value(100, 'v');
  for (int i = 0; i < 10'000; ++i) {
    const std::string key = "key" + std::to_string(i);
    cache.Fill(key, value, Look(cache, key).epoch);
  }
  EXPECT_GT(cache.entries(), 64u);
  EXPECT_LT(cache.entries(), 64u * 1024 / 100);
}

TEST(OnlineValueCacheTest, AgreesWithAMapUnderRandomFillsWritesAndEvictions) {
  OnlineValueCache cache(256 * 1024);
  std::map<std::string, std::string> truth;  // what the engine holds
  table::SplitMix64 rng(3);
  for (int step = 0; step < 200'000; ++step) {
    const std::string key = "k" + std::to_string(rng.NextBelow(5000));
    if (rng.NextBelow(4) == 0) {
      const std::string value = "v" + std::to_string(step);
      truth[key] = value;
      cache.Written(key, value);
      continue;
    }
    Seen seen = Look(cache, key);
    const auto it = truth.find(key);
    if (seen.hit) {
      ASSERT_EQ(seen.value.has_value(), it != truth.end()) << key;
      if (seen.value) {
        ASSERT_EQ(*seen.value, it->second) << key;
      }
    } else {
      cache.Fill(key, it == truth.end() ? std::nullopt : std::optional<std::string_view>(it->second),
                 seen.epoch);
    }
  }
}

}  // namespace
}  // namespace ferry::features
