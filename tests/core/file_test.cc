#include "core/file.h"

#include "testing/temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <cerrno>
#include <filesystem>

namespace ferry::core {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  size_t EntriesIn(const fs::path& dir) {
    return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(FileTest, WriteFileAtomicallyReplacesContents) {
  fs::path p = dir_ / "a.txt";
  ASSERT_TRUE(WriteFileAtomically(p, "one").ok());
  ASSERT_TRUE(WriteFileAtomically(p, "two").ok());
  auto read = ReadFileToString(p, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "two");
  EXPECT_EQ(EntriesIn(dir_), 1u);  // no temporary file left behind
}

TEST_F(FileTest, UncommittedAtomicFileLeavesNothing) {
  fs::path p = dir_ / "b.txt";
  {
    auto file = AtomicFile::Create(p);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file->Append("partial").ok());
    EXPECT_TRUE(fs::exists(file->temp_path()));
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(EntriesIn(dir_), 0u);
}

TEST_F(FileTest, AtomicFileLocksItsTemporaryFileForItsLife) {
  auto file = AtomicFile::Create(dir_ / "a.txt");
  ASSERT_TRUE(file.ok()) << file.status();
  // Another open of the file (as a cleaner of temporary folders makes) cannot lock it.
  UniqueFd other(::open(file->temp_path().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(other.valid());
  EXPECT_NE(::flock(other.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno, EWOULDBLOCK);
}

TEST_F(FileTest, CommitNoReplaceKeepsExistingFile) {
  fs::path p = dir_ / "c.txt";
  ASSERT_TRUE(WriteFileAtomically(p, "original").ok());
  auto file = AtomicFile::Create(p);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Append("other").ok());
  EXPECT_EQ(file->CommitNoReplace().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFileToString(p, 100), "original");
}

TEST_F(FileTest, ReadFileToStringEnforcesLimitAndReportsMissing) {
  fs::path p = dir_ / "d.txt";
  ASSERT_TRUE(WriteFileAtomically(p, std::string(200, 'x')).ok());
  EXPECT_EQ(ReadFileToString(p, 100).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFileToString(dir_ / "missing", 100).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FileTest, CreateInMissingFolderIsNotFound) {
  EXPECT_EQ(AtomicFile::Create(dir_ / "no" / "such" / "file").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FileTest, FreeSpaceIsMeasuredAndCheckedWithAClearMessage) {
  absl::StatusOr<uint64_t> free = FreeDiskSpace(dir_);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_GT(*free, 0u);
  EXPECT_EQ(FreeDiskSpace(dir_ / "missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(CheckFreeSpace(dir_, 1, "writing a byte").ok());

  FreeSpaceProbe nearly_full = [](const fs::path&) -> absl::StatusOr<uint64_t> {
    return 1181116006;  // 1.1 GiB
  };
  EXPECT_TRUE(CheckFreeSpace("/w", 1181116006, "adding x.csv", nearly_full).ok());
  absl::Status refused = CheckFreeSpace("/w", 2147483648, "adding x.csv", nearly_full);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "not enough free disk space: adding x.csv may need 2.0 GiB, 1.1 GiB free in /w");
}

TEST(ErrnoToStatusTest, NoSpaceIsResourceExhaustedWithTheSystemsWords) {
  absl::Status status = ErrnoToStatus(ENOSPC, "write /w/x");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "write /w/x: No space left on device");
}

}  // namespace
}  // namespace ferry::core
