#include "store/object_batch.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "test_sources.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Digest;
using core::Sha256;
using Presence = ObjectBatch::Presence;
using testing_sources::kMiB;
using testing_sources::Noise;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t EntriesIn(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class ObjectBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(dir_ / "objects"); }

  static std::unique_ptr<ObjectStore> Open(const fs::path& root) {
    auto store = ObjectStore::Open(root, {});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::unique_ptr<ObjectBatch> NewBatch() {
    auto batch = ObjectBatch::Create(*store_, {});
    EXPECT_TRUE(batch.ok()) << batch.status();
    return batch.ok() ? std::move(*batch) : nullptr;
  }

  std::set<Digest> Objects() { return testing_sources::AllObjects(*store_); }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectBatchTest, CommitPublishesObjectsInTheStoresExactFormat) {
  // Empty, one frame, several frames (2 MiB each), incompressible.
  const std::vector<std::string> contents = {"", "hello chunk", std::string(5 * kMiB + 3, 'z'),
                                             Noise(3 * kMiB, 1)};
  auto batch = NewBatch();
  for (const std::string& content : contents) {
    ASSERT_EQ(*batch->Add(content), Presence::kNew);
  }
  // Nothing is visible before Commit.
  EXPECT_TRUE(Objects().empty());
  EXPECT_FALSE(*store_->Exists(Sha256::Of(contents[1])));
  ASSERT_TRUE(batch->Commit().ok());
  EXPECT_EQ(batch->stats().objects_written, contents.size());
  EXPECT_FALSE(fs::exists(batch->temp_folder()));

  // A second store gets the same contents through ordinary puts: the files must be
  // byte-identical (same header, same frames).
  auto reference = Open(dir_ / "reference");
  for (const std::string& content : contents) {
    const Digest digest = Sha256::Of(content);
    EXPECT_EQ(*store_->GetBytes(digest, 16 * kMiB), content);
    EXPECT_TRUE(store_->Verify(digest).ok());
    ASSERT_TRUE(reference->PutBytes(content).ok());
    EXPECT_EQ(ReadFile(store_->PathOf(digest)), ReadFile(reference->PathOf(digest)));
  }
  EXPECT_EQ(Objects().size(), contents.size());
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);
}

// tmpfs refuses O_DIRECT before Linux 6.6 (the batch then falls back to ordinary
// writes) and accepts it since; either way the objects must come out right.
TEST_F(ObjectBatchTest, RoundTripsOnTmpfs) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  testing::TempDir shm_name;  // a unique name, reused under /dev/shm
  const fs::path root = fs::path("/dev/shm") / shm_name.path().filename();
  fs::remove_all(root);
  {
    auto store = Open(root);
    auto batch = ObjectBatch::Create(*store, {});
    ASSERT_TRUE(batch.ok()) << batch.status();
    const std::string big = Noise(kMiB + 4097, 3);  // whole blocks and a tail
    ASSERT_EQ(*(*batch)->Add(big), Presence::kNew);
    ASSERT_TRUE((*batch)->Commit().ok());
    EXPECT_EQ(*store->GetBytes(Sha256::Of(big), 2 * kMiB), big);
  }
  fs::remove_all(root);
}

TEST_F(ObjectBatchTest, DroppedBatchLeavesNothingBehind) {
  {
    auto batch = NewBatch();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(batch->Add(core::Cat("object ", i)).ok());
    EXPECT_EQ(EntriesIn(batch->temp_folder()), 20u);
  }
  EXPECT_TRUE(Objects().empty());
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);
}

TEST_F(ObjectBatchTest, DeduplicatesAgainstTheStoreAndWithinTheBatch) {
  ASSERT_TRUE(store_->PutBytes("already stored").ok());
  auto batch = NewBatch();
  EXPECT_EQ(*batch->Add("already stored"), Presence::kInStore);
  EXPECT_EQ(*batch->Add("new"), Presence::kNew);
  EXPECT_EQ(*batch->Add("new"), Presence::kInBatch);
  EXPECT_EQ(*batch->Add("already stored"), Presence::kInBatch);
  EXPECT_EQ(batch->stats().objects_written, 1u);
  EXPECT_EQ(batch->stats().bytes_written, 3u);
  ASSERT_TRUE(batch->Commit().ok());
  EXPECT_EQ(Objects().size(), 2u);
  EXPECT_EQ(*store_->GetBytes(Sha256::Of("new"), 100), "new");
}

TEST_F(ObjectBatchTest, MisuseIsFailedPrecondition) {
  auto batch = NewBatch();
  // Writing what was not claimed, or claimed as already present.
  EXPECT_EQ(batch->Write(Sha256::Of("x"), "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(*batch->Claim(Sha256::Of("x")), Presence::kNew);
  ASSERT_TRUE(batch->Write(Sha256::Of("x"), "x").ok());
  EXPECT_EQ(batch->Write(Sha256::Of("x"), "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A claim never written blocks the commit, which names it.
  ASSERT_EQ(*batch->Claim(Sha256::Of("y")), Presence::kNew);
  absl::Status commit = batch->Commit();
  EXPECT_EQ(commit.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(core::View(commit.message()).find(Sha256::Of("y").ToHex()), std::string::npos);
  EXPECT_EQ(batch->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(batch->Claim(Sha256::Of("z")).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Objects().empty());
  EXPECT_EQ(ObjectBatch::Create(*store_, {.compression_level = 99}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ObjectBatchTest, ConcurrentAddsWriteEachObjectOnce) {
  auto batch = NewBatch();
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> written(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread adds the same 50 objects, in its own order.
      for (int i = 0; i < 50; ++i) {
        auto presence = batch->Add(core::Cat("shared object ", (i * (t + 1)) % 50));
        ASSERT_TRUE(presence.ok()) << presence.status();
        if (*presence == Presence::kNew) ++written[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(written[0] + written[1] + written[2] + written[3], 50);
  ASSERT_TRUE(batch->Commit().ok());
  EXPECT_EQ(Objects().size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(store_->Verify(Sha256::Of(core::Cat("shared object ", i))).ok());
  }
}

TEST_F(ObjectBatchTest, FolderOfADeadBatchIsRemovedByCleanTemporaryFiles) {
  auto live = NewBatch();
  ASSERT_TRUE(live->Add("live").ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Dies without running destructors, like a killed process: folder and files stay.
    auto store = ObjectStore::Open(dir_ / "objects", {});
    if (!store.ok()) ::_exit(2);
    auto batch = ObjectBatch::Create(**store, {});
    if (!batch.ok()) ::_exit(3);
    for (int i = 0; i < 5; ++i) {
      if (!(*batch)->Add(core::Cat("dead ", i)).ok()) ::_exit(4);
    }
    ::_exit(0);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 2u);  // the live and the dead folder

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the grace period
  EXPECT_EQ(*store_->CleanTemporaryFiles(), 5u);
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 1u);  // the live batch is spared
  ASSERT_TRUE(live->Commit().ok());
  EXPECT_EQ(Objects(), std::set<Digest>{Sha256::Of("live")});
}

}  // namespace
}  // namespace ferry::store
