#pragma once

// What the tests of every OnlineStore implementation (RocksDB, Redis) write and read:
// values with a given header and no features, keys of view "v", one-key writes and reads.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "features/online_store.h"
#include "features/online_value.h"

namespace ferry::features::store_testing {

inline std::string Value(int64_t ts, int64_t created, uint64_t tag = 7) {
  std::string v;
  EncodeOnlineValue(tag, ts, created, {}, 0, v);
  return v;
}

inline std::string Key(std::string_view view, std::string_view key) {
  std::string k;
  AppendOnlineKeyPrefix(k, view);
  AppendKeyPart(k, key);
  return k;
}

inline std::optional<std::string> ReadOne(const OnlineStore& store, const std::string& key) {
  std::optional<std::string> out;
  const std::string_view keys[] = {key};
  EXPECT_TRUE(store.Read(keys, [&](size_t, std::string_view v) { out = std::string(v); }).ok());
  return out;
}

inline WriteCounts WriteOne(OnlineStore& store, const std::string& key, const std::string& value) {
  const OnlineEntry entries[] = {{key, value}};
  absl::StatusOr<WriteCounts> counts = store.WriteLatest({"v"}, entries);
  EXPECT_TRUE(counts.ok()) << counts.status();
  return counts.value_or(WriteCounts{});
}

}  // namespace ferry::features::store_testing
