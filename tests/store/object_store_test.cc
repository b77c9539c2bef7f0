#include "store/object_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Digest;
using core::Sha256;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

constexpr size_t kMiB = size_t{1} << 20;

// Deterministic, compressible bytes that look like log lines: tokens from a small
// table picked by a SplitMix64 stream. Fast enough to stream a GiB through a test.
class PatternSource : public ByteSource {
 public:
  PatternSource(uint64_t size, uint64_t seed) : remaining_(size), state_(seed) {}

  // Makes Read fail with `error` once `bytes` have been produced.
  void FailAfter(uint64_t bytes, absl::Status error) {
    fail_after_ = bytes;
    error_ = std::move(error);
  }

  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    if (fail_after_ && produced_ >= *fail_after_) return error_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(size, remaining_));
    if (fail_after_) n = static_cast<size_t>(std::min<uint64_t>(n, *fail_after_ - produced_));
    // Serve bytes from the current line, making new lines as needed.
    for (size_t done = 0; done < n;) {
      if (line_pos_ == line_.size()) NextLine();
      size_t take = std::min(n - done, line_.size() - line_pos_);
      std::memcpy(buffer + done, line_.data() + line_pos_, take);
      line_pos_ += take;
      done += take;
    }
    hasher_.Update(buffer, n);
    remaining_ -= n;
    produced_ += n;
    return n;
  }

  // SHA-256 of everything produced so far (call once, at the end).
  Digest Finish() { return hasher_.Finish(); }
  uint64_t produced() const { return produced_; }

 private:
  void NextLine() {
    static constexpr const char* kTokens[] = {
        "alpha", "beta",  "gamma", "delta",   "epsilon", "zeta", "eta",  "theta",
        "iota",  "kappa", "lambda", "mu",     "nu",      "xi",   "omicron", "pi"};
    uint64_t r = Next();
    line_.clear();
    line_ += core::Cat(line_number_++, ",", r % 100000, ",");
    for (int i = 0; i < 8; ++i, r >>= 4) {
      line_ += kTokens[r & 15];
      line_ += ' ';
    }
    line_.back() = '\n';
    line_pos_ = 0;
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t remaining_;
  uint64_t state_;
  uint64_t produced_ = 0;
  uint64_t line_number_ = 0;
  std::string line_;
  size_t line_pos_ = 0;
  Sha256 hasher_;
  std::optional<uint64_t> fail_after_;
  absl::Status error_;
};

class HashingSink : public ByteSink {
 public:
  absl::Status Write(std::string_view data) override {
    hasher_.Update(data);
    size_ += data.size();
    return absl::OkStatus();
  }
  Digest Finish() { return hasher_.Finish(); }
  uint64_t size() const { return size_; }

 private:
  Sha256 hasher_;
  uint64_t size_ = 0;
};

std::string Pattern(uint64_t size, uint64_t seed) {
  PatternSource source(size, seed);
  std::string out(size, '\0');
  EXPECT_EQ(*source.Read(out.data(), out.size()), size);
  return out;
}

// Bytes zstd cannot compress, so frames hold raw blocks.
std::string Noise(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed | 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

size_t EntriesIn(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(dir_ / "objects"); }

  static std::unique_ptr<ObjectStore> OpenStore(const fs::path& root,
                                                ObjectStore::Options options = {}) {
    auto store = ObjectStore::Open(root, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<Digest> ListObjects() {
    std::vector<Digest> digests;
    absl::Status status = store_->ForEachObject([&](const Digest& d) {
      digests.push_back(d);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return digests;
  }

  // Makes an object file writable (objects are stored read-only) and rewrites it.
  void ReplaceObjectFile(const Digest& digest, std::string_view contents) {
    fs::path path = store_->PathOf(digest);
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    WriteFile(path, contents);
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, PutBytesThenGetBytesRoundTripsEverySize) {
  const size_t kBlock = 2 * kMiB;  // the put pipeline's block size
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, kBlock - 1, kBlock, kBlock + 1,
                      5 * kMiB + 7}) {
    SCOPED_TRACE(size);
    const std::string content = Pattern(size, size);
    auto put = store_->PutBytes(content);
    ASSERT_TRUE(put.ok()) << put.status();
    EXPECT_EQ(put->digest, Sha256::Of(content));
    EXPECT_EQ(put->size, size);
    EXPECT_FALSE(put->already_existed);
    EXPECT_EQ(put->stored_size, fs::file_size(store_->PathOf(put->digest)));
    auto got = store_->GetBytes(put->digest, size);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(*got == content);
    auto info = store_->Stat(put->digest);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->size, size);
    EXPECT_EQ(info->stored_size, put->stored_size);
    EXPECT_TRUE(store_->Verify(put->digest).ok());
  }
  EXPECT_EQ(EntriesIn(dir_ / "objects" / "tmp"), 0u);
}

TEST_F(ObjectStoreTest, CompressibleContentIsStoredSmaller) {
  const std::string content = Pattern(8 * kMiB, 1);
  auto put = store_->PutBytes(content);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_LT(put->stored_size, content.size() / 2);
}

TEST_F(ObjectStoreTest, PutFileThenGetToFileRoundTrips) {
  const std::string content = Pattern(7 * kMiB + 3, 7);
  WriteFile(dir_ / "in.csv", content);
  auto put = store_->PutFile(dir_ / "in.csv");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->digest, Sha256::Of(content));
  ASSERT_TRUE(store_->GetToFile(put->digest, dir_ / "out.csv").ok());
  EXPECT_TRUE(ReadFile(dir_ / "out.csv") == content);
  // GetToFile replaces an existing destination.
  WriteFile(dir_ / "out.csv", "old");
  ASSERT_TRUE(store_->GetToFile(put->digest, dir_ / "out.csv").ok());
  EXPECT_TRUE(ReadFile(dir_ / "out.csv") == content);
}

TEST_F(ObjectStoreTest, PutFdReadsFromTheCurrentOffsetToTheEnd) {
  WriteFile(dir_ / "in", "skip-me:keep me");
  core::UniqueFd fd(::open((dir_ / "in").c_str(), O_RDONLY));
  ASSERT_EQ(::lseek(fd.get(), 8, SEEK_SET), 8);
  auto put = store_->PutFd(fd.get());
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(*store_->GetBytes(put->digest, 100), "keep me");
}

TEST_F(ObjectStoreTest, PutFileOfAFolderOrMissingFileFails) {
  EXPECT_EQ(store_->PutFile(dir_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutFile(dir_ / "missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ObjectStoreTest, EmptyObjectRoundTrips) {
  PatternSource source(0, 1);
  auto put = store_->Put(source);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->digest, Sha256::Of(""));
  EXPECT_EQ(put->size, 0u);
  EXPECT_GT(put->stored_size, 64u);  // header plus one empty frame
  EXPECT_EQ(*store_->GetBytes(put->digest, 0), "");
  EXPECT_TRUE(store_->Verify(put->digest).ok());
  ASSERT_TRUE(store_->GetToFile(put->digest, dir_ / "empty").ok());
  EXPECT_EQ(fs::file_size(dir_ / "empty"), 0u);
}

TEST_F(ObjectStoreTest, PuttingSameContentTwiceStoresOneObject) {
  const std::string content = Pattern(3 * kMiB, 3);
  auto first = store_->PutBytes(content);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->already_existed);
  auto second = store_->PutBytes(content);  // short-cut: hashed, found, not written
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->already_existed);
  EXPECT_EQ(second->digest, first->digest);
  EXPECT_EQ(second->stored_size, first->stored_size);
  PatternSource source(3 * kMiB, 3);  // a streamed put finds out when publishing
  auto third = store_->Put(source);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->already_existed);
  EXPECT_EQ(third->digest, first->digest);
  EXPECT_EQ(ListObjects(), std::vector<Digest>{first->digest});
  EXPECT_EQ(EntriesIn(store_->PathOf(first->digest).parent_path()), 1u);
  EXPECT_EQ(EntriesIn(dir_ / "objects" / "tmp"), 0u);
}

// Every kind of damage, in the header or the frames, of compressible or raw content,
// fails loudly and never yields bytes at a GetToFile destination.
TEST_F(ObjectStoreTest, FlippedByteMakesReadsFailWithDataLoss) {
  for (const std::string& content : {Pattern(3 * kMiB, 11), Noise(3 * kMiB, 12)}) {
    auto put = store_->PutBytes(content);
    ASSERT_TRUE(put.ok()) << put.status();
    const std::string original = ReadFile(store_->PathOf(put->digest));
    struct Case {
      const char* where;
      size_t offset;
    };
    const std::vector<Case> cases = {
        {"magic", 0},           {"version", 8},
        {"size", 16},           {"digest", 30},
        {"header check", 60},   {"frame header", 66},
        {"middle", original.size() / 2},
        {"frame checksum", original.size() - 1},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(c.where);
      std::string damaged = original;
      damaged[c.offset] ^= 0x20;
      ReplaceObjectFile(put->digest, damaged);
      EXPECT_EQ(store_->Verify(put->digest).code(), absl::StatusCode::kDataLoss);
      HashingSink sink;
      absl::Status got = store_->Get(put->digest, sink);
      EXPECT_EQ(got.code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(core::View(got.message()).find(put->digest.ToHex()), std::string_view::npos)
          << got;
      EXPECT_EQ(store_->GetBytes(put->digest, 4 * kMiB).status().code(),
                absl::StatusCode::kDataLoss);
      EXPECT_EQ(store_->GetToFile(put->digest, dir_ / "out").code(),
                absl::StatusCode::kDataLoss);
      EXPECT_FALSE(fs::exists(dir_ / "out"));
    }
    ReplaceObjectFile(put->digest, original);
    EXPECT_TRUE(store_->Verify(put->digest).ok());
  }
  EXPECT_EQ(EntriesIn(dir_), 1u);  // only the store: no leftover GetToFile temporaries
}

TEST_F(ObjectStoreTest, TruncatedObjectFailsWithDataLoss) {
  const std::string content = Pattern(5 * kMiB, 13);
  auto put = store_->PutBytes(content);
  ASSERT_TRUE(put.ok()) << put.status();
  const std::string original = ReadFile(store_->PathOf(put->digest));
  for (size_t length : {size_t{0}, size_t{10}, size_t{64}, size_t{70}, original.size() / 2,
                        original.size() - 1}) {
    SCOPED_TRACE(length);
    ReplaceObjectFile(put->digest, std::string_view(original).substr(0, length));
    EXPECT_EQ(store_->Verify(put->digest).code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(store_->GetToFile(put->digest, dir_ / "out").code(), absl::StatusCode::kDataLoss);
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
}

TEST_F(ObjectStoreTest, ObjectFileUnderAnotherNameFailsWithDataLoss) {
  auto a = store_->PutBytes("content a");
  auto b = store_->PutBytes("content b");
  ASSERT_TRUE(a.ok() && b.ok());
  ReplaceObjectFile(a->digest, ReadFile(store_->PathOf(b->digest)));
  EXPECT_EQ(store_->Stat(a->digest).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->Verify(a->digest).code(), absl::StatusCode::kDataLoss);
}

// A well-formed header with a version this ferry does not know was written by a newer
// ferry: that is not damage, and fsck must not call it so.
TEST_F(ObjectStoreTest, NewerFormatVersionIsFailedPrecondition) {
  auto put = store_->PutBytes("from the future");
  ASSERT_TRUE(put.ok());
  std::string file = ReadFile(store_->PathOf(put->digest));
  file[8] = 2;  // format version, little-endian
  const Digest check = Sha256::Of(std::string_view(file).substr(0, 56));
  std::memcpy(file.data() + 56, check.bytes().data(), 8);
  ReplaceObjectFile(put->digest, file);
  EXPECT_EQ(store_->Stat(put->digest).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Verify(put->digest).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ObjectStoreTest, SourceFailingHalfWayLeavesNoObject) {
  PatternSource source(64 * kMiB, 5);
  source.FailAfter(9 * kMiB, absl::UnavailableError("network dropped"));
  auto put = store_->Put(source);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(core::View(put.status().message()), "network dropped");
  EXPECT_TRUE(ListObjects().empty());
  EXPECT_EQ(EntriesIn(dir_ / "objects" / "tmp"), 0u);
  EXPECT_EQ(*store_->CleanTemporaryFiles(), 0u);
  // The store still works afterwards.
  EXPECT_TRUE(store_->PutBytes("after").ok());
}

TEST_F(ObjectStoreTest, KilledPutLeavesOnlyATemporaryFileThatOpenRemoves) {
  const fs::path tmp = dir_ / "objects" / "tmp";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // An endless, slow put: it is killed long before it could finish.
    class SlowSource : public ByteSource {
     public:
      absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        size = std::min(size, kMiB);
        std::memset(buffer, 'x', size);
        return size;
      }
    } source;
    auto store = ObjectStore::Open(dir_ / "objects", {});
    if (store.ok()) (void)(*store)->Put(source);
    ::_exit(1);
  }
  // Wait for the child's temporary file, then kill the child mid-put.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (EntriesIn(tmp) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));

  EXPECT_TRUE(ListObjects().empty());
  EXPECT_EQ(EntriesIn(tmp), 1u);
  // Past the grace period for freshly created files, nothing holds the file's lock.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  store_ = OpenStore(dir_ / "objects");
  EXPECT_EQ(EntriesIn(tmp), 0u);
}

TEST_F(ObjectStoreTest, CleanTemporaryFilesSparesRunningPuts) {
  // A source that stops after 3 MiB until released.
  class GatedSource : public ByteSource {
   public:
    absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
      if (produced_ >= 3 * kMiB) {
        std::unique_lock<std::mutex> lock(mu_);
        waiting_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
        if (produced_ >= 6 * kMiB) return 0;
      }
      size = std::min(size, kMiB);
      std::memset(buffer, 'g', size);
      produced_ += size;
      return size;
    }
    void WaitUntilWaiting() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return waiting_; });
    }
    void Release() {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
      cv_.notify_all();
    }

   private:
    size_t produced_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    bool waiting_ = false;
    bool released_ = false;
  } source;

  absl::StatusOr<PutResult> put;
  std::thread putter([&] { put = store_->Put(source); });
  source.WaitUntilWaiting();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the grace period
  EXPECT_EQ(*store_->CleanTemporaryFiles(), 0u);
  EXPECT_EQ(EntriesIn(dir_ / "objects" / "tmp"), 1u);
  source.Release();
  putter.join();
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->size, 6 * kMiB);
  EXPECT_EQ(put->digest, Sha256::Of(std::string(6 * kMiB, 'g')));
  EXPECT_TRUE(store_->Verify(put->digest).ok());
}

TEST_F(ObjectStoreTest, ConcurrentPutsOfSameContentAllSucceedWithOneObject) {
  constexpr int kThreads = 6;
  std::vector<absl::StatusOr<PutResult>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      PatternSource source(5 * kMiB + 123, 99);
      results[i] = store_->Put(source);
    });
  }
  for (std::thread& t : threads) t.join();
  int created = 0;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->digest, results[0]->digest);
    created += result->already_existed ? 0 : 1;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ListObjects().size(), 1u);
  EXPECT_EQ(EntriesIn(dir_ / "objects" / "tmp"), 0u);
  EXPECT_TRUE(store_->Verify(results[0]->digest).ok());
}

TEST_F(ObjectStoreTest, MissingObjectIsNotFound) {
  const Digest missing = Sha256::Of("never stored");
  HashingSink sink;
  EXPECT_EQ(store_->Get(missing, sink).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetBytes(missing, 100).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetToFile(missing, dir_ / "out").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_EQ(store_->Verify(missing).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Stat(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(missing).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Exists(missing));
}

TEST_F(ObjectStoreTest, SinkErrorStopsTheReadAndIsReturned) {
  class FailingSink : public ByteSink {
   public:
    absl::Status Write(std::string_view data) override {
      taken_ += data.size();
      return taken_ > kMiB ? absl::ResourceExhaustedError("disk full") : absl::OkStatus();
    }

   private:
    size_t taken_ = 0;
  };
  // Decoded on the calling thread, and on a helper thread.
  for (size_t size : {2 * kMiB, 40 * kMiB}) {
    SCOPED_TRACE(size);
    auto put = store_->PutBytes(Pattern(size, size));
    ASSERT_TRUE(put.ok()) << put.status();
    FailingSink sink;
    absl::Status got = store_->Get(put->digest, sink);
    EXPECT_EQ(got.code(), absl::StatusCode::kResourceExhausted) << got;
  }
}

TEST_F(ObjectStoreTest, DeleteRemovesTheObject) {
  auto put = store_->PutBytes("short-lived");
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(*store_->Exists(put->digest));
  ASSERT_TRUE(store_->Delete(put->digest).ok());
  EXPECT_FALSE(*store_->Exists(put->digest));
  EXPECT_EQ(store_->Delete(put->digest).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ListObjects().empty());
  // Putting it again recreates it.
  auto again = store_->PutBytes("short-lived");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->already_existed);
}

TEST_F(ObjectStoreTest, GetBytesRefusesObjectsOverTheLimit) {
  auto put = store_->PutBytes(std::string(1000, 'a'));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(store_->GetBytes(put->digest, 999).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->GetBytes(put->digest, 1000).ok());
}

TEST_F(ObjectStoreTest, ForEachObjectVisitsObjectsInDigestOrderAndSkipsStrays) {
  std::set<Digest> expected;
  for (int i = 0; i < 20; ++i) {
    auto put = store_->PutBytes(core::Cat("object ", i));
    ASSERT_TRUE(put.ok());
    expected.insert(put->digest);
  }
  const fs::path root = dir_ / "objects";
  WriteFile(root / "README", "stray");
  fs::create_directories(root / "zz");
  const std::string hex = expected.begin()->ToHex();
  WriteFile(root / hex.substr(0, 2) / (hex + ".partial"), "stray");
  WriteFile(root / "tmp" / "put-1-0.tmp", "stray temporary");
  std::vector<Digest> listed = ListObjects();
  EXPECT_EQ(listed, std::vector<Digest>(expected.begin(), expected.end()));

  int visited = 0;
  absl::Status stopped = store_->ForEachObject([&](const Digest&) {
    return ++visited == 3 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(visited, 3);
}

TEST_F(ObjectStoreTest, OpenCreatesFoldersAndRejectsBadOptions) {
  EXPECT_TRUE(fs::is_directory(dir_ / "objects" / "tmp"));
  EXPECT_TRUE(ObjectStore::Open(dir_ / "a" / "b", {}).ok());
  EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b" / "tmp"));
  for (auto options : {ObjectStore::Options{.compression_level = 20},
                       ObjectStore::Options{.compression_level = -51},
                       ObjectStore::Options{.threads = -1},
                       ObjectStore::Options{.threads = 17}}) {
    EXPECT_EQ(ObjectStore::Open(dir_ / "c", options).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(ObjectStoreTest, EveryLevelAndThreadCountRoundTrips) {
  const std::string content = Pattern(5 * kMiB, 21);
  for (int level : {-50, -5, -1, 1, 3, 9}) {
    for (int threads : {1, 3}) {
      SCOPED_TRACE(core::Cat("level ", level, " threads ", threads));
      auto store = OpenStore(dir_ / core::Cat("level", level, "_", threads),
                             {.compression_level = level, .threads = threads});
      auto put = store->PutBytes(content);
      ASSERT_TRUE(put.ok()) << put.status();
      EXPECT_TRUE(*store->GetBytes(put->digest, content.size()) == content);
    }
  }
  // The slowest level, kept to two blocks.
  auto store = OpenStore(dir_ / "level19", {.compression_level = 19, .threads = 2});
  const std::string small = content.substr(0, 2 * kMiB + 1);
  auto put = store->PutBytes(small);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(*store->GetBytes(put->digest, small.size()) == small);
}

// tmpfs refuses O_DIRECT; puts there fall back to ordinary writes.
TEST_F(ObjectStoreTest, PutWorksWithoutDirectIo) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const fs::path root = core::Cat("/dev/shm/ferry_object_store_test_", ::getpid());
  fs::remove_all(root);
  {
    auto store = OpenStore(root);
    const std::string content = Pattern(11 * kMiB + 5, 8);
    auto put = store->PutBytes(content);
    ASSERT_TRUE(put.ok()) << put.status();
    EXPECT_TRUE(*store->GetBytes(put->digest, content.size()) == content);
  }
  fs::remove_all(root);
}

uint64_t ProcStatusKiB(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field) + 1));
  }
  return 0;
}

// A GiB goes in and out through bounded buffers: it never sits in memory. Peak RSS
// growth is measured by resetting the high-water mark (VmHWM) first.
TEST_F(ObjectStoreTest, StreamedGibibyteRoundTripStaysUnder64MiB) {
  // Sanitizers make this slow and inflate memory; they check a smaller run for bugs.
  const uint64_t size = kSanitized ? 64 * kMiB : 1024 * kMiB;
  auto store = OpenStore(dir_ / "big", {.threads = 4});
  ::malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  const uint64_t baseline_kib = ProcStatusKiB("VmHWM:");

  PatternSource source(size, 2024);
  auto put = store->Put(source);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->size, size);
  EXPECT_EQ(put->digest, source.Finish());
  HashingSink sink;
  ASSERT_TRUE(store->Get(put->digest, sink).ok());
  EXPECT_EQ(sink.size(), size);
  EXPECT_EQ(sink.Finish(), put->digest);

  const uint64_t growth_kib = ProcStatusKiB("VmHWM:") - baseline_kib;
  RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
  if (!kSanitized && baseline_kib > 0) {
    EXPECT_LT(growth_kib, 64u * 1024) << "KiB";
  }
}

}  // namespace
}  // namespace ferry::store
