#include "store/workspace.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "core/file.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(1'700'000'000'000'000);
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::shared_ptr<core::ManualClock> clock_;
};

TEST_F(WorkspaceTest, InitCreatesTheLayoutAndOpens) {
  auto ws = Workspace::Init(dir_ / "project", clock_);
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_TRUE(fs::is_regular_file(dir_ / "project/.ferry/config.yaml"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "project/.ferry/metadata.db"));
  EXPECT_TRUE(fs::is_directory(dir_ / "project/.ferry/objects"));
  EXPECT_EQ((*ws)->id().size(), 32u);
  EXPECT_EQ((*ws)->created_at_micros(), 1'700'000'000'000'000);
  EXPECT_EQ((*ws)->config().server.listen, "127.0.0.1:8080");
  // Nothing of the temporary build folder is left.
  for (const auto& entry : fs::directory_iterator(dir_ / "project")) {
    EXPECT_EQ(entry.path().filename(), ".ferry");
  }
  auto reopened = Workspace::Open(dir_ / "project", clock_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->id(), (*ws)->id());
}

TEST_F(WorkspaceTest, InitTwiceFailsAndKeepsTheFirst) {
  auto first = Workspace::Init(dir_, clock_);
  ASSERT_TRUE(first.ok());
  std::string id = (*first)->id();
  first->reset();
  auto second = Workspace::Init(dir_, clock_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  auto reopened = Workspace::Open(dir_, clock_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->id(), id);
}

TEST_F(WorkspaceTest, LocatesLikeGit) {
  ASSERT_TRUE(Workspace::Init(dir_ / "root", clock_).ok());
  fs::create_directories(dir_ / "root/a/b/c");
  fs::create_directories(dir_ / "elsewhere");

  struct Case {
    std::string name;
    LocateOptions options;
    bool found;
  };
  std::vector<Case> cases = {
      {"current folder", {std::nullopt, std::nullopt, dir_ / "root"}, true},
      {"deep subfolder", {std::nullopt, std::nullopt, dir_ / "root/a/b/c"}, true},
      {"outside", {std::nullopt, std::nullopt, dir_ / "elsewhere"}, false},
      {"FERRY_HOME", {std::nullopt, dir_ / "root", dir_ / "elsewhere"}, true},
      {"FERRY_HOME at .ferry", {std::nullopt, dir_ / "root/.ferry", dir_ / "elsewhere"}, true},
      {"bad FERRY_HOME", {std::nullopt, dir_ / "elsewhere", dir_ / "root"}, false},
      {"flag wins over FERRY_HOME", {dir_ / "root", dir_ / "elsewhere", dir_}, true},
      {"bad flag", {dir_ / "elsewhere", dir_ / "root", dir_ / "root"}, false},
  };
  for (const Case& c : cases) {
    auto root = LocateWorkspace(c.options);
    if (c.found) {
      ASSERT_TRUE(root.ok()) << c.name << ": " << root.status();
      EXPECT_EQ(*root, dir_ / "root") << c.name;
    } else {
      ASSERT_FALSE(root.ok()) << c.name;
      EXPECT_EQ(root.status().code(), absl::StatusCode::kNotFound) << c.name;
      EXPECT_NE(std::string(root.status().message()).find("no ferry workspace here"),
                std::string::npos);
      EXPECT_NE(std::string(root.status().message()).find("run `ferry init`"), std::string::npos);
    }
  }
}

TEST_F(WorkspaceTest, BadConfigNamesTheKeyAndIsLeftAlone) {
  ASSERT_TRUE(Workspace::Init(dir_, clock_).ok());
  const std::string bad = "server:\n  threads: lots\n";
  ASSERT_TRUE(core::WriteFileAtomically(dir_ / ".ferry/config.yaml", bad).ok());
  auto ws = Workspace::Open(dir_, clock_);
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(ws.status().message()).find("server.threads"), std::string::npos);
  EXPECT_EQ(*core::ReadFileToString(dir_ / ".ferry/config.yaml", 1000), bad);
}

TEST_F(WorkspaceTest, OpenWithoutWorkspaceIsNotFound) {
  EXPECT_EQ(Workspace::Open(dir_, clock_).status().code(), absl::StatusCode::kNotFound);
}

// A server SIGKILLed mid-upload (or a training set's write cut short) left its temporary
// file in .ferry/uploads for good: nothing ever removed it. The next open removes files no
// live writer holds, and leaves a live writer's alone however old.
TEST_F(WorkspaceTest, OpenRemovesUploadsOfKilledWritersAndSparesLiveOnes) {
  ASSERT_TRUE(Workspace::Init(dir_, clock_).ok());
  const fs::path uploads = dir_ / ".ferry" / "uploads";
  fs::create_directories(uploads);
  auto live = core::AtomicFile::Create(uploads / "upload");
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_TRUE(live->Append("still arriving").ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A writer that dies mid-write: no destructor runs.
    auto dead = core::AtomicFile::Create(uploads / "upload");
    if (dead.ok()) (void)dead->Append("cut short");
    ::_exit(dead.ok() ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  // Both are past the grace period for files that have just been created.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(uploads)) {
    fs::last_write_time(entry.path(), fs::file_time_type::clock::now() - std::chrono::seconds(10));
    files.push_back(entry.path());
  }
  ASSERT_EQ(files.size(), 2u);

  auto reopened = Workspace::Open(dir_, clock_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  std::vector<fs::path> left;
  for (const auto& entry : fs::directory_iterator(uploads)) left.push_back(entry.path());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], live->temp_path());
}

}  // namespace
}  // namespace ferry::store
