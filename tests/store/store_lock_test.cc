#include "store/store_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

using std::chrono::milliseconds;
using Mode = StoreLock::Mode;

class StoreLockTest : public ::testing::Test {
 protected:
  absl::StatusOr<StoreLock> Take(Mode mode, milliseconds timeout = milliseconds(0)) {
    return StoreLock::Acquire(path_, mode, timeout);
  }

  testing::TempDir temp_;
  const std::filesystem::path path_ = temp_ / "store.lock";
};

TEST_F(StoreLockTest, SharedHoldersCoexist) {
  auto a = Take(Mode::kShared);
  auto b = Take(Mode::kShared);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->mode(), Mode::kShared);
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(StoreLockTest, ExclusiveAndSharedExcludeEachOther) {
  {
    auto shared = Take(Mode::kShared);
    ASSERT_TRUE(shared.ok());
    absl::Status status = Take(Mode::kExclusive).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(std::string(status.message()).find("data is being added"), std::string::npos);
  }
  auto exclusive = Take(Mode::kExclusive);
  ASSERT_TRUE(exclusive.ok()) << exclusive.status();
  EXPECT_EQ(Take(Mode::kShared).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Take(Mode::kExclusive).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(StoreLockTest, TimeoutWaitsThatLongThenGivesUp) {
  auto exclusive = Take(Mode::kExclusive);
  ASSERT_TRUE(exclusive.ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Take(Mode::kShared, milliseconds(120)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(120));
}

TEST_F(StoreLockTest, WaiterGetsTheLockWhenTheHolderLetsGo) {
  std::optional<absl::StatusOr<StoreLock>> exclusive(Take(Mode::kExclusive));
  ASSERT_TRUE(exclusive->ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(100));
    exclusive.reset();
  });
  auto shared = Take(Mode::kShared, milliseconds(10'000));
  releaser.join();
  EXPECT_TRUE(shared.ok()) << shared.status();
}

TEST_F(StoreLockTest, LockOfAnotherProcessHoldsUntilItDies) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = StoreLock::Acquire(path_, Mode::kExclusive, milliseconds(0));
    char byte = lock.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    while (true) ::pause();
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  EXPECT_EQ(Take(Mode::kShared).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(Take(Mode::kExclusive).ok());
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace ferry::store
