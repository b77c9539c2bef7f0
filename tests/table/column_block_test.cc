#include "table/column_block.h"

#include <gtest/gtest.h>

namespace ferry::table {
namespace {

ColumnArray Ints(std::string name, std::vector<int64_t> values, std::vector<uint8_t> valid) {
  ColumnArray c;
  c.name = std::move(name);
  c.type = ColumnType::kInt64;
  c.int64_values = std::move(values);
  c.valid = std::move(valid);
  return c;
}

ColumnArray Strings(std::string name, const std::vector<std::string>& values) {
  ColumnArray c;
  c.name = std::move(name);
  c.type = ColumnType::kString;
  c.offsets.push_back(0);
  for (const std::string& v : values) {
    c.bytes += v;
    c.offsets.push_back(c.bytes.size());
    c.valid.push_back(1);
  }
  return c;
}

TEST(ColumnBlockTest, RoundTripsColumnsOfDifferentLengthsAndNulls) {
  ColumnArray floats;
  floats.name = "f";
  floats.type = ColumnType::kFloat64;
  floats.float64_values = {1.5, -0.0, 1e300};
  floats.valid = {1, 1, 1};
  ColumnArray flags;
  flags.name = "b";
  flags.type = ColumnType::kBool;
  flags.bool_values = {1, 0};
  flags.valid = {1, 0};
  const std::vector<ColumnArray> columns = {
      Ints("i", {7, 0, -9}, {1, 0, 1}), Ints("none", {0, 0}, {0, 0}),
      Strings("s", {"", std::string("a\0b", 3), "long value"}), floats, flags};
  auto encoded = EncodeColumnBlock(columns);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  auto decoded = DecodeColumnBlock(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnArray& a = columns[i];
    const ColumnArray& b = (*decoded)[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.valid, b.valid) << a.name;
    EXPECT_EQ(a.int64_values, b.int64_values) << a.name;
    EXPECT_EQ(a.float64_values, b.float64_values) << a.name;
    EXPECT_EQ(a.bool_values, b.bool_values) << a.name;
    EXPECT_EQ(a.bytes, b.bytes) << a.name;
    if (a.type == ColumnType::kString) {
      EXPECT_EQ(a.offsets, b.offsets);
    }
  }
}

TEST(ColumnBlockTest, RefusesMismatchedArrays) {
  ColumnArray bad = Ints("i", {1, 2}, {1});
  EXPECT_EQ(EncodeColumnBlock({bad}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ColumnBlockTest, DamagedBytesAreDataLoss) {
  auto encoded = EncodeColumnBlock({Strings("s", {"abc", "de"}), Ints("i", {1, 2}, {1, 1})});
  ASSERT_TRUE(encoded.ok());
  for (size_t cut = 0; cut < encoded->size(); ++cut) {
    EXPECT_EQ(DecodeColumnBlock(std::string_view(*encoded).substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss)
        << "truncated at " << cut;
  }
  std::string magic = *encoded;
  magic[0] ^= 1;
  EXPECT_EQ(DecodeColumnBlock(magic).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeColumnBlock(*encoded + "x").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ferry::table
