// Walks tests/data/table/: every CSV or JSON Lines file there is profiled and checked
// against NAME.expected.json beside it, which holds
//   "options":  {"lenient": true}                       (optional)
//   "error":    the exact InvalidArgument message         (for inputs that must fail)
//   "row_count", "bad_row_count", "bad_row_lines": [...]
//   "columns":  [{...}]  each a subset of the profile's column JSON (derived members:
//               "type", "count", "min", "top_values", ...); "absent": [keys] lists
//               members the column must not have
//   "rows":     the sample rows (every row, for these small files)
// Each input is also fed one byte at a time, split in two at every byte position, and in
// random blocks, each from a buffer overwritten once consumed: the profile (or the
// error) must be the same every way.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "table/format.h"
#include "table/table_profiler.h"

namespace ferry::table {
namespace {

using Json = nlohmann::json;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  bool ok = false;
  std::string text;  // the profile JSON, or the error message
};

Outcome ProfileBlocks(Format format, const std::vector<std::string_view>& blocks, const ProfilerOptions& options) {
  auto profiler = TableProfiler::Create(format, options);
  if (!profiler.ok()) return {false, std::string(profiler.status().message())};
  // Each block is consumed from a copy that is overwritten afterwards: the profiler may
  // keep nothing pointing into the bytes it was given.
  std::string scratch;
  for (std::string_view block : blocks) {
    scratch.assign(block);
    const absl::Status s = (*profiler)->Consume(scratch);
    scratch.assign(scratch.size(), '#');
    if (!s.ok()) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      return {false, std::string(s.message())};
    }
  }
  auto profile = (*profiler)->Finish();
  if (!profile.ok()) {
    EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument) << profile.status();
    return {false, std::string(profile.status().message())};
  }
  return {true, profile->ToJson()};
}

std::vector<std::string_view> Split(std::string_view bytes, const std::vector<size_t>& cuts) {
  std::vector<std::string_view> blocks;
  size_t at = 0;
  for (size_t cut : cuts) {
    blocks.push_back(bytes.substr(at, cut - at));
    at = cut;
  }
  blocks.push_back(bytes.substr(at));
  return blocks;
}

// Whether `actual` has everything `expected` has (objects: a subset of members; arrays:
// the same length, element by element; numbers: within 1e-9 relative).
::testing::AssertionResult Matches(const Json& expected, const Json& actual, const std::string& path) {
  if (expected.is_object()) {
    if (!actual.is_object()) return ::testing::AssertionFailure() << path << ": not an object";
    for (const auto& [key, value] : expected.items()) {
      if (key == "absent") {
        for (const auto& name : value) {
          if (actual.contains(name.get<std::string>())) {
            return ::testing::AssertionFailure() << path << "." << name << ": should be absent";
          }
        }
        continue;
      }
      if (!actual.contains(key)) return ::testing::AssertionFailure() << path << "." << key << ": missing";
      auto r = Matches(value, actual[key], path + "." + key);
      if (!r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      return ::testing::AssertionFailure() << path << ": expected " << expected.dump() << ", got "
                                           << actual.dump();
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      auto r = Matches(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
      if (!r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  if (expected.is_number() && actual.is_number()) {
    const double e = expected.get<double>();
    const double a = actual.get<double>();
    if (std::fabs(e - a) <= 1e-9 * std::max(1.0, std::fabs(e))) return ::testing::AssertionSuccess();
  } else if (expected == actual) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << path << ": expected " << expected.dump() << ", got "
                                       << actual.dump();
}

std::vector<std::filesystem::path> Cases() {
  std::vector<std::filesystem::path> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(FERRY_TABLE_TEST_DATA)) {
    if (DetectFormat(entry.path().string()) != Format::kOpaque) inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

class TableDataTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(TableDataTest, ProfileMatchesExpectedWhateverTheBlockSplits) {
  const std::filesystem::path input = GetParam();
  std::filesystem::path expected_path = input;
  expected_path.replace_extension(".expected.json");
  ASSERT_TRUE(std::filesystem::exists(expected_path)) << expected_path;
  const Json expected = Json::parse(ReadFile(expected_path));
  const std::string bytes = ReadFile(input);
  const Format format = DetectFormat(input.string());

  ProfilerOptions options;
  if (expected.contains("options")) options.lenient = expected["options"].value("lenient", false);

  const Outcome whole = ProfileBlocks(format, {bytes}, options);
  if (expected.contains("error")) {
    ASSERT_FALSE(whole.ok) << "expected an error, got a profile";
    EXPECT_EQ(whole.text, expected["error"].get<std::string>());
  } else {
    ASSERT_TRUE(whole.ok) << whole.text;
    const Json profile = Json::parse(whole.text);
    for (const char* key : {"row_count", "bad_row_count"}) {
      if (expected.contains(key)) {
        EXPECT_EQ(profile[key], expected[key]) << key;
      }
    }
    if (expected.contains("bad_row_lines")) {
      Json lines = Json::array();
      for (const auto& b : profile["bad_rows"]) lines.push_back(b["line"]);
      EXPECT_EQ(lines, expected["bad_row_lines"]);
    }
    if (expected.contains("columns")) {
      EXPECT_TRUE(Matches(expected["columns"], profile["columns"], "columns"));
    }
    if (expected.contains("rows")) {
      EXPECT_EQ(profile["sample"]["rows"], expected["rows"]);
    }
  }

  // The same outcome for every way of cutting the bytes into blocks.
  std::vector<size_t> ones;
  for (size_t i = 1; i < bytes.size(); ++i) ones.push_back(i);
  const Outcome bytewise = ProfileBlocks(format, Split(bytes, ones), options);
  EXPECT_EQ(bytewise.ok, whole.ok);
  EXPECT_EQ(bytewise.text, whole.text) << "fed one byte at a time";
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    const Outcome halves = ProfileBlocks(format, Split(bytes, {cut}), options);
    ASSERT_EQ(halves.text, whole.text) << "split at byte " << cut;
  }
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (true) {
      at += 1 + rng() % 17;
      if (at >= bytes.size()) break;
      cuts.push_back(at);
    }
    const Outcome random = ProfileBlocks(format, Split(bytes, cuts), options);
    ASSERT_EQ(random.text, whole.text) << "random split, round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TableDataTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::filesystem::path>& info) {
                           std::string name = info.param.filename().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ferry::table
