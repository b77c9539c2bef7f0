#include "core/ubjson_check.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::core {
namespace {

using namespace std::string_literals;

TEST(UbjsonCheckTest, AcceptsWellFormedValues) {
  const std::string ok[] = {
      "Z"s,
      "i\x05"s,
      "SU\x03" "abc"s,
      "{U\x01" "aSU\x02" "hi}"s,                                 // object, string value
      "[i\x01U\x02]"s,                                           // array, end marker
      "[$d#U\x02\x00\x00\x80\x3f\x00\x00\x00\x40"s,              // typed float32 array
      "{#U\x01U\x01" "k[#U\x01" "T}"s.substr(0, 12),             // counted object
      "{U\x01" "a{U\x01" "b[]}}"s,                               // nesting
  };
  for (const std::string& bytes : ok) {
    EXPECT_TRUE(CheckUbjson(bytes).ok()) << CheckUbjson(bytes);
  }
}

TEST(UbjsonCheckTest, RefusesWhatWouldReadPastTheBuffer) {
  struct Case {
    std::string bytes;
    std::string says;
  };
  const Case bad[] = {
      {"", "ends where a value should be"},
      {"SU\x05" "ab"s, "past the end"},                    // string longer than the data
      {"Sl\x7f\xff\xff\xff" "a"s, "past the end"},         // huge length
      {"Si\xff" "a"s, "negative"},                         // negative length
      {"[$d#U\x03\x00\x00\x80\x3f"s, "past the end"},      // typed array cut short
      {"[#L\x00\x00\x00\x01\x00\x00\x00\x00" "Z"s, "count larger than the data"},
      {"{U\x01" "a", "ends where a value should be"},
      {"[i\x01", "not closed"},
      {"{U\x01" "aZ", "not closed"},
      {"X", "unknown type marker 0x58"},
      {"ZZ", "bytes after the end"},
      {"[$Q#U\x01" "a"s, "unknown element type"},
      {"[$i" "Z"s, "without a count"},
      {"Sd\x00\x00\x00\x00", "must be an integer"},
  };
  for (const Case& c : bad) {
    absl::Status status = CheckUbjson(c.bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.says;
    EXPECT_NE(std::string(status.message()).find(c.says), std::string::npos) << status;
  }
}

TEST(UbjsonCheckTest, DeepNestingIsRefused) {
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  EXPECT_NE(std::string(CheckUbjson(deep).message()).find("nested too deep"), std::string::npos);
  EXPECT_TRUE(CheckUbjson("[[[]]]", 8).ok());
}

}  // namespace
}  // namespace ferry::core
