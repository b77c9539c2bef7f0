#pragma once

// What scipy and sklearn compute on cases a test generates: PythonReference writes the
// cases to a temp folder, runs tests/data/stats/reference.py on them with Debian's
// /usr/bin/python3 and returns its results; ParityTally compares ferry's values with them
// and prints the largest differences it saw.
//
// A missing python3 or module (numpy, scipy, sklearn) fails the test with the script's
// message: parity is the point of these tests, so they never skip.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "testing/temp_dir.h"

namespace ferry::stats {

// The script's results for `cases` ({"section": [case, ...], ...}). When the script cannot
// run, a test failure saying why, and every section empty (so that the caller's size
// checks fail too instead of reading past the end).
inline nlohmann::json PythonReference(const nlohmann::json& cases) {
  nlohmann::json empty = nlohmann::json::object();
  for (const auto& [section, unused] : cases.items()) empty[section] = nlohmann::json::array();
  const testing::TempDir dir;
  std::ofstream(dir / "cases.json") << cases.dump();
  const std::string command = std::string("/usr/bin/python3 '") + FERRY_STATS_REFERENCE + "' '" +
                              (dir / "cases.json").string() + "' '" +
                              (dir / "results.json").string() + "' 2>'" +
                              (dir / "stderr").string() + "'";
  const int status = std::system(command.c_str());
  std::ifstream err(dir / "stderr");
  const std::string stderr_text(std::istreambuf_iterator<char>(err), {});
  if (status != 0) {
    ADD_FAILURE() << "reference.py failed (exit status " << status << "):\n" << stderr_text;
    return empty;
  }
  std::ifstream in(dir / "results.json");
  nlohmann::json results = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  for (const auto& [section, unused] : cases.items()) {
    if (!results.is_object() || !results.contains(section)) {
      ADD_FAILURE() << "reference.py wrote no section " << section << ":\n" << stderr_text;
      return empty;
    }
  }
  return results;
}

// A reference value: a number, or "inf", "-inf", "nan" (what JSON cannot hold).
inline double ReferenceNumber(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value == "inf") return std::numeric_limits<double>::infinity();
  if (value == "-inf") return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::quiet_NaN();
}

class ParityTally {
 public:
  // Values agree when |ours - reference| <= kTolerance * max(1, |reference|): absolute
  // below 1, relative above (chi-square statistics run into the thousands).
  static constexpr double kTolerance = 1e-9;

  explicit ParityTally(std::string name) : name_(std::move(name)) {}
  ParityTally(const ParityTally&) = delete;
  ParityTally& operator=(const ParityTally&) = delete;
  ~ParityTally() {
    std::printf("parity %-24s %4d values  max |diff| %.3g  max relative diff %.3g\n", name_.c_str(),
                count_, max_absolute_, max_relative_);
  }

  // `what` names the value in a failure message.
  void Expect(const std::string& what, double ours, const nlohmann::json& reference) {
    const double theirs = ReferenceNumber(reference);
    ++count_;
    if (std::isnan(theirs) || std::isinf(theirs)) {
      EXPECT_TRUE(ours == theirs || (std::isnan(ours) && std::isnan(theirs)))
          << name_ << " " << what << ": ferry " << ours << ", reference " << reference;
      return;
    }
    const double diff = std::abs(ours - theirs);
    max_absolute_ = std::max(max_absolute_, diff);
    // Relative differences of tiny p-values, for the record (the test bounds them apart).
    if (theirs != 0 && std::abs(theirs) > 1e-300) {
      max_relative_ = std::max(max_relative_, diff / std::abs(theirs));
    }
    EXPECT_LE(diff, kTolerance * std::max(1.0, std::abs(theirs)))
        << name_ << " " << what << ": ferry " << ours << ", reference " << theirs;
  }

  // For p-values that can be tiny: also within `relative` of the reference.
  void ExpectRelative(const std::string& what, double ours, const nlohmann::json& reference,
                      double relative) {
    Expect(what, ours, reference);
    const double theirs = ReferenceNumber(reference);
    if (std::isfinite(theirs) && theirs != 0) {
      EXPECT_LE(std::abs(ours - theirs), relative * std::abs(theirs))
          << name_ << " " << what << ": ferry " << ours << ", reference " << theirs;
    }
  }

 private:
  std::string name_;
  int count_ = 0;
  double max_absolute_ = 0;
  double max_relative_ = 0;
};

}  // namespace ferry::stats
