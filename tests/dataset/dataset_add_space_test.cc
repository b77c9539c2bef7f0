// DatasetStore::Add and disk space: the free-space check before anything is stored
// (with a fake probe), the bound it checks against, and a real "No space left on
// device" midway (a small tmpfs in a private mount namespace).

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "core/error_mapping.h"
#include "core/file.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "demo/transactions.h"
#include "testing/temp_dir.h"

namespace ferry::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t word = rng();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  return bytes;
}

// Bytes in the object store's files (temporary ones included).
uint64_t StoredBytes(const store::Workspace& workspace) {
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(workspace.objects().root())) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

// Every version readable, every reference in place.
void ExpectIntact(const DatasetStore& datasets, int64_t versions) {
  auto references = datasets.CheckReferences();
  ASSERT_TRUE(references.ok()) << references.status();
  EXPECT_EQ(references->versions_checked, versions);
  EXPECT_THAT(references->problems, ::testing::IsEmpty());
  auto verified = datasets.Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->versions_checked, versions);
  EXPECT_THAT(verified->problems, ::testing::IsEmpty());
}

class DatasetAddSpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(store::Workspace::Init(temp_ / "ws", core::SystemClock::Shared())).value();
    datasets_ = std::move(DatasetStore::Open(*workspace_)).value();
  }
  fs::path Transactions(const std::string& name, uint64_t rows) {
    demo::TransactionOptions options;
    options.rows = rows;
    EXPECT_TRUE(demo::WriteTransactionsCsv(temp_ / name, options).ok());
    return temp_ / name;
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<DatasetStore> datasets_;
};

TEST_F(DatasetAddSpaceTest, FullDiskIsRefusedBeforeAnythingIsStored) {
  fs::path first = Transactions("first.csv", 1000);
  ASSERT_TRUE(datasets_->Add("tx", first, {}).ok());
  const uint64_t stored_before = StoredBytes(*workspace_);

  fs::path big = Transactions("big.csv", 30'000);
  const uint64_t size = fs::file_size(big);
  AddOptions options;
  fs::path probed;
  options.free_space = [&probed](const fs::path& path) -> absl::StatusOr<uint64_t> {
    probed = path;
    return 3 << 20;  // 3.0 MiB
  };
  auto added = datasets_->Add("tx", big, options);
  ASSERT_EQ(added.status().code(), absl::StatusCode::kResourceExhausted) << added.status();
  EXPECT_EQ(added.status().message(),
            core::Cat("not enough free disk space: adding ", big.string(), " may need ",
                      core::HumanBytes(SpaceNeededToAdd(size)), ", 3.0 MiB free in ",
                      workspace_->ferry_dir().string()));
  EXPECT_EQ(probed, workspace_->ferry_dir());
  // What a user sees: exit code 6 from the CLI, 429 resource_exhausted over HTTP.
  core::ErrorMapping mapping = core::MapStatusCode(added.status().code());
  EXPECT_EQ(mapping.exit_code, 6);
  EXPECT_EQ(mapping.http_status, 429);
  EXPECT_EQ(mapping.code, "resource_exhausted");

  // No version, not a byte stored, and the store as it was.
  auto log = datasets_->Log("tx");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);
  EXPECT_EQ(StoredBytes(*workspace_), stored_before);
  ExpectIntact(*datasets_, 1);

  // With room, the same add goes through.
  options.free_space = [](const fs::path&) -> absl::StatusOr<uint64_t> { return 1ull << 40; };
  auto retried = datasets_->Add("tx", big, options);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->version.version, 2);
  ExpectIntact(*datasets_, 2);
}

TEST_F(DatasetAddSpaceTest, ProbeErrorIsReturnedAndNothingIsStored) {
  fs::path file = Transactions("t.csv", 1000);
  AddOptions broken;
  broken.free_space = [](const fs::path&) -> absl::StatusOr<uint64_t> {
    return absl::PermissionDeniedError("statvfs: denied");
  };
  EXPECT_EQ(datasets_->Add("tx", file, broken).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(datasets_->List()->size(), 0u);
}

TEST_F(DatasetAddSpaceTest, WhatAnAddStoresStaysWithinSpaceNeededToAdd) {
  // Random bytes do not compress: the worst case for the bound.
  const std::string bytes = RandomBytes(12 << 20, 7);
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "random.bin", bytes).ok());
  const uint64_t before = StoredBytes(*workspace_);
  auto added = datasets_->Add("noise", temp_ / "random.bin", {});
  ASSERT_TRUE(added.ok()) << added.status();
  const uint64_t grown = StoredBytes(*workspace_) - before;
  EXPECT_GE(grown, bytes.size());
  EXPECT_LE(grown, SpaceNeededToAdd(bytes.size()));
  EXPECT_LE(grown, bytes.size() + bytes.size() / 128);  // even without the margin
}

// Runs `body` in a child process with its own user and mount namespaces and a tmpfs
// of `tmpfs_bytes` mounted at `mount_point`. The child's exit code: 0 when body
// returns "", 1 (after printing what body returned) otherwise, 77 when namespaces or
// tmpfs are not available here.
int RunOnSmallTmpfs(const fs::path& mount_point, uint64_t tmpfs_bytes,
                    const std::function<std::string()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) ::_exit(77);
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
    std::string size = core::Cat("size=", tmpfs_bytes);
    if (::mount("none", mount_point.c_str(), "tmpfs", 0, size.c_str()) != 0) ::_exit(77);
    std::string problem = body();
    if (!problem.empty()) std::fprintf(stderr, "%s\n", problem.c_str());
    ::_exit(problem.empty() ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(DatasetAddNoSpaceTest, NoSpaceLeftMidwayIsResourceExhaustedNamingTheFileAndStoresNothing) {
  testing::TempDir temp;
  const std::string bytes = RandomBytes(6 << 20, 11);
  const fs::path file = temp / "big.bin";
  ASSERT_TRUE(core::WriteFileAtomically(file, bytes).ok());
  const fs::path mount_point = temp / "small";
  fs::create_directories(mount_point);

  int code = RunOnSmallTmpfs(mount_point, 4 << 20, [&]() -> std::string {
    auto workspace = store::Workspace::Init(mount_point / "ws", core::SystemClock::Shared());
    if (!workspace.ok()) return core::Cat("init: ", workspace.status().ToString());
    auto datasets = DatasetStore::Open(**workspace);
    if (!datasets.ok()) return core::Cat("open: ", datasets.status().ToString());
    AddOptions options;  // the check passes: the write must find out
    options.free_space = [](const fs::path&) -> absl::StatusOr<uint64_t> { return 1ull << 40; };
    auto added = (*datasets)->Add("noise", file, options);
    if (added.status().code() != absl::StatusCode::kResourceExhausted) {
      return core::Cat("expected ResourceExhausted, got ", added.status().ToString());
    }
    std::string message(added.status().message());
    if (message.find(core::Cat("adding ", file.string(), ": ")) != 0 ||
        message.find("No space left on device") == std::string::npos) {
      return core::Cat("unclear message: ", message);
    }
    auto log = (*datasets)->Log("noise");
    if (log.status().code() != absl::StatusCode::kNotFound) return "a version was created";
    auto references = (*datasets)->CheckReferences();
    if (!references.ok() || !references->problems.empty()) return "references damaged";
    return "";
  });
  if (code == 77) GTEST_SKIP() << "no user namespaces or tmpfs here";
  EXPECT_EQ(code, 0) << "see the child's message above";
}

}  // namespace
}  // namespace ferry::dataset
