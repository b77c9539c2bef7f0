// End-to-end tests of the `ferry` binary's workspace commands and error reporting.

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  CommandResult Ferry(std::vector<std::string> args, const fs::path& cwd,
                      const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, cwd, env);
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(CliTest, InitCreatesWorkspaceAndRefusesASecondTime) {
  CommandResult first = Ferry({"init"}, dir_);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Initialized empty ferry workspace in " + (dir_ / ".ferry").string()),
            std::string::npos)
      << first.out;
  EXPECT_TRUE(fs::is_regular_file(dir_ / ".ferry/metadata.db"));

  CommandResult second = Ferry({"init"}, dir_);
  EXPECT_EQ(second.exit_code, 4);
  EXPECT_NE(second.err.find("ferry: error: already a ferry workspace"), std::string::npos)
      << second.err;
}

TEST_F(CliTest, InitJsonAndExplicitFolder) {
  CommandResult r = Ferry({"init", "sub/project", "--json"}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["root"], (dir_ / "sub/project").string());
  EXPECT_EQ(json["workspace_id"].get<std::string>().size(), 32u);
}

TEST_F(CliTest, FindsWorkspaceFromSubfolderFlagAndFerryHome) {
  ASSERT_EQ(Ferry({"init", "ws"}, dir_).exit_code, 0);
  fs::create_directories(dir_ / "ws/a/b");
  fs::create_directories(dir_ / "other");
  EXPECT_EQ(Ferry({"fsck"}, dir_ / "ws/a/b").exit_code, 0);
  EXPECT_EQ(Ferry({"--workspace", (dir_ / "ws").string(), "fsck"}, dir_ / "other").exit_code, 0);
  EXPECT_EQ(Ferry({"fsck"}, dir_ / "other", {{"FERRY_HOME", (dir_ / "ws").string()}}).exit_code,
            0);
}

TEST_F(CliTest, NoWorkspaceIsAClearErrorWithExitCode3) {
  CommandResult r = Ferry({"fsck"}, dir_);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no ferry workspace here"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run `ferry init`"), std::string::npos) << r.err;
}

TEST_F(CliTest, UsageErrorsExit2AndHelpExits0) {
  CommandResult help = Ferry({"--help"}, dir_);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("init"), std::string::npos);
  EXPECT_NE(help.out.find("server"), std::string::npos);
  for (const char* sub : {"init", "server", "version", "fsck", "demo"}) {
    CommandResult sub_help = Ferry({sub, "--help"}, dir_);
    EXPECT_EQ(sub_help.exit_code, 0) << sub;
    EXPECT_FALSE(sub_help.out.empty()) << sub;
  }
  EXPECT_EQ(Ferry({"no-such-command"}, dir_).exit_code, 2);
  EXPECT_EQ(Ferry({"init", "--no-such-flag"}, dir_).exit_code, 2);
  EXPECT_EQ(Ferry({}, dir_).exit_code, 2);
}

TEST_F(CliTest, VersionJson) {
  CommandResult r = Ferry({"version", "--json"}, dir_);
  ASSERT_EQ(r.exit_code, 0);
  auto json = nlohmann::json::parse(r.out);
  EXPECT_FALSE(json["version"].get<std::string>().empty());
  EXPECT_TRUE(json.contains("sqlite"));
}

TEST_F(CliTest, BrokenConfigIsReportedWithTheKey) {
  ASSERT_EQ(Ferry({"init"}, dir_).exit_code, 0);
  {
    std::FILE* f = std::fopen((dir_ / ".ferry/config.yaml").c_str(), "w");
    std::fputs("server:\n  listen: nowhere\n", f);
    std::fclose(f);
  }
  CommandResult r = Ferry({"fsck"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("config.yaml"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ferry::e2e

namespace ferry::e2e {
namespace {

TEST_F(CliTest, PipelineCheckShowsTheStepOrderAndRefusesADanglingInput) {
  const fs::path dir = temp_.path();
  std::ofstream(dir / "p.yaml") << "name: retrain\n"
                                   "params: {rounds: 10}\n"
                                   "steps:\n"
                                   "  - {id: train, run: \"python3 t.py ${params.rounds}\","
                                   " inputs: {data: steps.split.train}, outputs: [model]}\n"
                                   "  - {id: split, uses: split, inputs: {data: d@2},"
                                   " outputs: [train]}\n";
  CommandResult ok = Ferry({"pipeline", "check", "p.yaml", "--json"}, dir);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const nlohmann::json spec = nlohmann::json::parse(ok.out);
  ASSERT_EQ(spec["steps"].size(), 2u);
  EXPECT_EQ(spec["steps"][0]["id"], "split");  // read by train, so it runs first
  EXPECT_EQ(spec["steps"][1]["level"], 1);
  EXPECT_EQ(spec["steps"][1]["inputs"]["data"], "steps.split.train");

  std::ofstream(dir / "bad.yaml") << "name: retrain\nsteps:\n"
                                     "  - {id: train, run: x, inputs: {data: steps.split.train}}\n";
  CommandResult bad = Ferry({"pipeline", "check", "bad.yaml"}, dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yaml:3: step train: input data reads step \"split\", which does not"
                         " exist"),
            std::string::npos)
      << bad.err;
}

}  // namespace
}  // namespace ferry::e2e
