#include "features/online_value.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>

#include "features/feature_table.h"
#include "table/random.h"

namespace ferry::features {
namespace {

using table::ColumnArray;
using table::ColumnType;

ColumnArray Column(ColumnType type) {
  ColumnArray c;
  c.type = type;
  if (type == ColumnType::kString) c.offsets.push_back(0);
  return c;
}

void PushString(ColumnArray& c, std::string_view s) {
  c.valid.push_back(1);
  c.bytes += s;
  c.offsets.push_back(c.bytes.size());
}

TEST(OnlineValueTest, KeyPartsEncodeLikeFeatureTableKeys) {
  table::SplitMix64 rng(7);
  for (int round = 0; round < 500; ++round) {
    ColumnArray ints = Column(ColumnType::kInt64);
    ColumnArray strings = Column(ColumnType::kString);
    const int64_t i = round < 3 ? std::vector<int64_t>{INT64_MIN, -1, INT64_MAX}[round]
                                : static_cast<int64_t>(rng.Next());
    ints.valid.push_back(1);
    ints.int64_values.push_back(i);
    std::string s;
    const size_t size = rng.NextBelow(12);
    for (size_t k = 0; k < size; ++k) s.push_back(static_cast<char>(rng.NextBelow(4)));  // NULs
    PushString(strings, s);
    std::string expected;
    ASSERT_TRUE(EncodeKey({&ints, &strings}, 0, expected));
    std::string ours;
    AppendKeyPart(ours, i);
    AppendKeyPart(ours, std::string_view(s));
    EXPECT_EQ(ours, expected) << "round " << round;
  }
}

TEST(OnlineValueTest, EncodedValuesLocateEveryFeature) {
  ColumnArray f = Column(ColumnType::kFloat64);
  f.valid = {1, 0};
  f.float64_values = {2.5, 0};
  ColumnArray s = Column(ColumnType::kString);
  PushString(s, "hello");
  s.valid.push_back(0);
  s.offsets.push_back(s.bytes.size());
  ColumnArray b = Column(ColumnType::kBool);
  b.valid = {1, 1};
  b.bool_values = {1, 0};
  const std::vector<ColumnArray> features = {f, s, b};
  const std::vector<ColumnType> types = {ColumnType::kFloat64, ColumnType::kString,
                                         ColumnType::kBool};
  const OnlineValueLayout layout(types);
  std::string value;
  EncodeOnlineValue(42, 1000, kNoCreatedTime, features, 0, value);
  std::vector<uint32_t> offsets(3);
  ASSERT_TRUE(layout.Locate(value, offsets));
  EXPECT_EQ(value[offsets[0]], 1);
  double d;
  std::memcpy(&d, value.data() + offsets[0] + 1, 8);
  EXPECT_EQ(d, 2.5);
  EXPECT_EQ(value.substr(offsets[1] + 5, 5), "hello");
  EXPECT_EQ(value[offsets[2] + 1], 1);
  std::optional<OnlineValueHeader> header = ReadOnlineValueHeader(value);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->layout_tag, 42u);
  EXPECT_EQ(header->event_ts, 1000);
  EXPECT_EQ(header->created_ts, kNoCreatedTime);

  EncodeOnlineValue(42, 1000, 5, features, 1, value);  // nulls
  ASSERT_TRUE(layout.Locate(value, offsets));
  EXPECT_EQ(value[offsets[0]], 0);
  EXPECT_EQ(value[offsets[1]], 0);
  EXPECT_FALSE(layout.Locate(value.substr(0, value.size() - 1), offsets));  // truncated
}

TEST(OnlineValueTest, FixedWidthLayoutsRejectValuesOfAnotherSize) {
  const std::vector<ColumnType> types = {ColumnType::kInt64, ColumnType::kBool};
  const OnlineValueLayout layout(types);
  ColumnArray i = Column(ColumnType::kInt64);
  i.valid = {1};
  i.int64_values = {-3};
  ColumnArray b = Column(ColumnType::kBool);
  b.valid = {1};
  b.bool_values = {0};
  std::string value;
  EncodeOnlineValue(1, 0, 0, std::vector<ColumnArray>{i, b}, 0, value);
  std::vector<uint32_t> offsets(2);
  EXPECT_EQ(value.size(), kOnlineValueHeaderBytes + 9 + 2);
  EXPECT_TRUE(layout.Locate(value, offsets));
  EXPECT_FALSE(layout.Locate(value + "x", offsets));
}

std::string Header(uint64_t tag, int64_t ts, int64_t created) {
  std::string v;
  EncodeOnlineValue(tag, ts, created, {}, 0, v);
  return v;
}

TEST(OnlineValueTest, NeverOlderOverNewer) {
  struct Case {
    std::string stored;
    std::string incoming;
    bool replaces;
  };
  const Case cases[] = {
      {Header(1, 100, 0), Header(1, 200, 0), true},           // newer event
      {Header(1, 200, 0), Header(1, 100, 9), false},          // older event, newer created
      {Header(1, 100, 5), Header(1, 100, 6), true},           // same event, newer created
      {Header(1, 100, 6), Header(1, 100, 5), false},          // same event, older created
      {Header(1, 100, 6), Header(1, 100, 6), true},           // equal: the later run wins
      {Header(1, 100, kNoCreatedTime), Header(1, 100, 0), true},  // null created is oldest
      {Header(1, 100, 0), Header(1, 100, kNoCreatedTime), false},
      {Header(1, 900, 0), Header(2, 100, 0), true},           // stored under another layout
      {"garbage", Header(1, 100, 0), true},                   // unknown format
      {Header(1, 100, 0), "garbage", false},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(ReplacesStored(cases[i].stored, cases[i].incoming), cases[i].replaces) << i;
  }
}

TEST(OnlineValueTest, LayoutTagIsTheHashPrefix) {
  EXPECT_EQ(LayoutTag("0123456789abcdef0011"), 0x0123456789abcdefu);
  EXPECT_EQ(LayoutTag("FFFFFFFFFFFFFFFF"), UINT64_MAX);
}

}  // namespace
}  // namespace ferry::features
