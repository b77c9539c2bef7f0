// Hostile names and params through the real `ferry` binary's arguments: each is refused
// with exit code 2 (InvalidArgument) naming the field, and nothing appears outside the
// workspace.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;

class PathTraversalE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_);
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    std::ofstream(dir_ / "data.csv") << "id,score\n1,0.5\n";
    before_ = Listing();
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }
  // Everything in the test's folder outside the workspace folder `ws`.
  std::set<std::string> Listing() const {
    std::set<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(temp_.path())) {
      const std::string relative = fs::relative(entry.path(), temp_.path()).string();
      if (relative != "ws" && !relative.starts_with("ws/")) out.insert(relative);
    }
    return out;
  }
  void ExpectRefused(const std::vector<std::string>& args, const std::string& field) {
    CommandResult r = Ferry(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(field), std::string::npos) << r.err;
  }

  testing::TempDir temp_;
  const fs::path dir_ = temp_ / "ws";
  std::set<std::string> before_;
};

TEST_F(PathTraversalE2eTest, HostileNamesInArgumentsAreRefused) {
  for (const std::string name : {"../../escaped", "..", "/tmp/escaped", "a\\b", "a/../../b"}) {
    ExpectRefused({"data", "add", name, "data.csv"}, "dataset name");
    ExpectRefused({"data", "add", "good", "data.csv", "--tag", name}, "tag");
    ExpectRefused({"models", "register", name, "--artifact", "data.csv"}, "model name");
  }
  // The same dataset name is taken once it is a plain one: the refusals were the names'.
  EXPECT_EQ(Ferry({"data", "add", "good", "data.csv"}).exit_code, 0);
  EXPECT_EQ(Listing(), before_);
}

TEST_F(PathTraversalE2eTest, RunParamsCannotAddCommandsToAPipelineStep) {
  std::ofstream(dir_ / "p.yaml") << "name: p\n"
                                    "params: {rounds: 3}\n"
                                    "steps:\n"
                                    "  - id: train\n"
                                    "    run: echo ${params.rounds}\n";
  const fs::path target = temp_ / "escaped";
  for (const std::string& value : {"1; touch " + target.string(), "$(touch " + target.string() + ")",
                                  "1 && touch " + target.string()}) {
    ExpectRefused({"pipeline", "run", "p.yaml", "--param", "rounds=" + value}, "param rounds");
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(Listing(), before_);
  // A plain value runs: the refusals were the values'.
  CommandResult plain = Ferry({"pipeline", "run", "p.yaml", "--param", "rounds=5"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
}

}  // namespace
}  // namespace ferry::e2e
