// ChunkedFileWriter and ChunkedFileReader: round trips, deduplication across versions,
// the observer, failures that must leave nothing visible, and damage detection.

#include <gtest/gtest.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "store/chunked_file_reader.h"
#include "store/chunked_file_writer.h"
#include "test_sources.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Digest;
using core::Sha256;
using testing_sources::CsvSource;
using testing_sources::HashFile;
using testing_sources::HashingSink;
using testing_sources::kMiB;
using testing_sources::kSanitized;
using testing_sources::LineSource;
using testing_sources::PatternSource;

// ~200 MB of CSV (4 million rows); sanitizers check a 20x smaller file with 16x smaller
// chunks, which keeps the same ratios.
const uint64_t kCsvRows = kSanitized ? 200'000 : 4'000'000;
const ChunkerOptions kCsvChunker =
    kSanitized
        ? ChunkerOptions{.min_size = 32 << 10, .average_size = 64 << 10, .max_size = 512 << 10}
        : ChunkerOptions{};

size_t EntriesIn(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

void WriteFile(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

uint64_t ProcStatusKiB(std::string_view key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size()));
  }
  return 0;
}

class ChunkedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ObjectStore::Open(dir_ / "objects", {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  ChunkedFileWriter Writer(ChunkedFileOptions options = {}) {
    auto writer = ChunkedFileWriter::Create(*store_, options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    return std::move(*writer);
  }

  ChunkedFileResult Add(ByteSource& source, ChunkedFileOptions options = {}) {
    auto result = Writer(std::move(options)).Write(source);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? std::move(*result) : ChunkedFileResult{};
  }

  std::set<Digest> Objects() { return testing_sources::AllObjects(*store_); }

  // Reads the file back through the sink API and checks it against `expected`.
  void ExpectReadsBackAs(const Digest& manifest, const Digest& expected, uint64_t size) {
    HashingSink sink;
    absl::Status status = ReadChunkedFile(*store_, manifest, sink);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(sink.size(), size);
    EXPECT_EQ(sink.Finish(), expected);
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ChunkedFileTest, RoundTripIsByteIdenticalThroughEveryReadPath) {
  const uint64_t lines = kSanitized ? 200'000 : 2'000'000;  // ~12 / ~120 MiB
  LineSource source = PatternSource(lines, 11);
  const ChunkedFileResult result = Add(source);
  const Digest expected = source.Finish();
  const uint64_t size = source.produced();
  EXPECT_EQ(result.manifest.size, size);
  EXPECT_EQ(result.manifest.sha256, expected);
  EXPECT_EQ(result.new_chunks, result.manifest.chunks.size());
  EXPECT_EQ(result.new_bytes, size);
  EXPECT_LT(result.stored_bytes, size / 2);  // compressible text
  EXPECT_EQ(result.reused_chunks, 0u);
  // The chunks and the manifest, nothing else; no temporary file left.
  std::set<Digest> expected_objects{result.manifest_digest};
  for (const ChunkRef& chunk : result.manifest.chunks) expected_objects.insert(chunk.digest);
  EXPECT_EQ(Objects(), expected_objects);
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);

  ExpectReadsBackAs(result.manifest_digest, expected, size);

  // As a ByteSource, read in odd-sized pieces.
  auto reader = ChunkedFileReader::Open(*store_, result.manifest_digest, {.threads = 3});
  ASSERT_TRUE(reader.ok()) << reader.status();
  Sha256 hasher;
  uint64_t total = 0;
  std::string buffer(777777, '\0');
  while (true) {
    auto n = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    hasher.Update(buffer.data(), *n);
    total += *n;
  }
  EXPECT_EQ(total, size);
  EXPECT_EQ(hasher.Finish(), expected);

  // To a file, atomically.
  ASSERT_TRUE(ExportChunkedFile(*store_, result.manifest_digest, dir_ / "out.txt").ok());
  EXPECT_EQ(HashFile(dir_ / "out.txt"), std::make_pair(expected, size));
}

TEST_F(ChunkedFileTest, EmptyAndTinyFilesRoundTrip) {
  for (std::string_view contents :
       {std::string_view(), std::string_view("x"), std::string_view("one short line\n")}) {
    WriteFile(dir_ / "in", contents);
    auto result = Writer().WriteFile(dir_ / "in");
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->manifest.chunks.size(), contents.empty() ? 0u : 1u);
    EXPECT_EQ(result->manifest.sha256, Sha256::Of(contents));
    ASSERT_TRUE(ExportChunkedFile(*store_, result->manifest_digest, dir_ / "out").ok());
    EXPECT_EQ(HashFile(dir_ / "out"), std::make_pair(Sha256::Of(contents), contents.size()));
  }
}

TEST_F(ChunkedFileTest, AddingTheSameBytesAgainWritesNoChunk) {
  LineSource first = CsvSource(kCsvRows / 10, 1);
  const ChunkedFileResult a = Add(first, {.chunker = kCsvChunker});
  LineSource second = CsvSource(kCsvRows / 10, 1);
  const ChunkedFileResult b = Add(second, {.chunker = kCsvChunker});
  EXPECT_EQ(b.manifest_digest, a.manifest_digest);
  EXPECT_EQ(b.new_chunks, 0u);
  EXPECT_EQ(b.reused_chunks, a.manifest.chunks.size());
  EXPECT_EQ(b.reused_bytes, a.manifest.size);
}

// The acceptance test of chunked storage: one more percent of rows at the end of a
// ~200 MB CSV stores under 3% of the file again (a whole copy would be 100%).
TEST_F(ChunkedFileTest, AppendingOnePercentOfRowsWritesUnderThreePercent) {
  LineSource base = CsvSource(kCsvRows, 42);
  const ChunkedFileResult v1 = Add(base, {.chunker = kCsvChunker});
  LineSource appended = CsvSource(kCsvRows + kCsvRows / 100, 42);
  const ChunkedFileResult v2 = Add(appended, {.chunker = kCsvChunker});
  const double ratio = static_cast<double>(v2.new_bytes) / v2.manifest.size;
  RecordProperty("file_bytes", std::to_string(v2.manifest.size));
  RecordProperty("new_bytes", std::to_string(v2.new_bytes));
  RecordProperty("new_chunks", std::to_string(v2.new_chunks));
  RecordProperty("first_stored_bytes", std::to_string(v1.stored_bytes));
  EXPECT_GT(v1.manifest.size, kSanitized ? 9'000'000u : 190'000'000u);
  EXPECT_LT(ratio, 0.03) << v2.new_bytes << " new of " << v2.manifest.size;
  EXPECT_EQ(v2.reused_chunks + v2.new_chunks, v2.manifest.chunks.size());
  // Every chunk of v1 but its last is reused, in place.
  for (size_t i = 0; i + 1 < v1.manifest.chunks.size(); ++i) {
    ASSERT_EQ(v2.manifest.chunks[i], v1.manifest.chunks[i]) << i;
  }
  ExpectReadsBackAs(v2.manifest_digest, appended.Finish(), appended.produced());
}

TEST_F(ChunkedFileTest, EditingRowsInTheMiddleWritesOnlyTheChunksAroundThem) {
  LineSource base = CsvSource(kCsvRows, 42);
  const ChunkedFileResult v1 = Add(base, {.chunker = kCsvChunker});
  // Five rows changed half-way through.
  LineSource edited = CsvSource(kCsvRows, 42, kCsvRows / 2, kCsvRows / 2 + 5);
  const ChunkedFileResult v2 = Add(edited, {.chunker = kCsvChunker});
  EXPECT_NE(v2.manifest.sha256, v1.manifest.sha256);
  RecordProperty("new_chunks", std::to_string(v2.new_chunks));
  RecordProperty("new_bytes", std::to_string(v2.new_bytes));
  EXPECT_GE(v2.new_chunks, 1u);
  EXPECT_LE(v2.new_chunks, 2u);
  EXPECT_LE(v2.new_bytes, 2 * kCsvChunker.max_size);
  ExpectReadsBackAs(v2.manifest_digest, edited.Finish(), edited.produced());
}

TEST_F(ChunkedFileTest, RepeatedContentWithinAFileIsStoredOnce) {
  // Constant bytes are cut at max_size into identical chunks.
  WriteFile(dir_ / "zeros", std::string(5 * 64 * 1024 + 100, '\0'));
  const ChunkerOptions small{.min_size = 1024, .average_size = 4096, .max_size = 64 * 1024};
  auto result = Writer({.chunker = small}).WriteFile(dir_ / "zeros");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->manifest.chunks.size(), 6u);
  EXPECT_EQ(result->new_chunks, 2u);  // one full chunk and the tail
  EXPECT_EQ(result->reused_chunks, 4u);
  EXPECT_EQ(Objects().size(), 3u);  // with the manifest
}

TEST_F(ChunkedFileTest, ObserverSeesEveryByteInOrderOnItsOwnThread) {
  LineSource source = CsvSource(kCsvRows / 10, 5);
  Sha256 observed;
  uint64_t observed_size = 0;
  std::atomic<bool> on_caller_thread = false;
  const auto caller = std::this_thread::get_id();
  std::vector<uint64_t> progress;
  const ChunkedFileResult result =
      Add(source, {.observer =
                       [&](std::string_view bytes) {
                         if (std::this_thread::get_id() == caller) on_caller_thread = true;
                         observed.Update(bytes);
                         observed_size += bytes.size();
                         return absl::OkStatus();
                       },
                   .progress = [&](uint64_t done) { progress.push_back(done); }});
  EXPECT_EQ(observed_size, source.produced());
  const Digest content = source.Finish();
  EXPECT_EQ(observed.Finish(), content);
  EXPECT_EQ(result.manifest.sha256, content);  // hashed beside the observer, not by it
  EXPECT_EQ(result.manifest.size, observed_size);
  EXPECT_FALSE(on_caller_thread);
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), observed_size);
}

TEST_F(ChunkedFileTest, ObserverErrorAbortsAndNothingBecomesVisible) {
  ASSERT_TRUE(store_->PutBytes("there before").ok());
  const std::set<Digest> before = Objects();
  LineSource source = CsvSource(1'000'000, 6);  // ~50 MB
  uint64_t seen = 0;
  auto result = Writer({.observer = [&](std::string_view bytes) -> absl::Status {
                  seen += bytes.size();
                  if (seen > 20 * kMiB) return absl::InvalidArgumentError("bad row 1234");
                  return absl::OkStatus();
                }}).Write(source);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core::View(result.status().message()), "bad row 1234");
  EXPECT_EQ(Objects(), before);
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);
}

TEST_F(ChunkedFileTest, SourceErrorAbortsAndNothingBecomesVisible) {
  LineSource source = CsvSource(1'000'000, 7);
  source.FailAfter(20 * kMiB + 5, absl::UnavailableError("disk went away"));
  auto result = Writer().Write(source);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(core::View(result.status().message()), "disk went away");
  EXPECT_TRUE(Objects().empty());
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);
  // The store works afterwards.
  LineSource again = CsvSource(1000, 7);
  const ChunkedFileResult stored = Add(again);
  EXPECT_EQ(stored.manifest.sha256, again.Finish());
}

TEST_F(ChunkedFileTest, KilledWriteLeavesNoVisibleObjectAndCleaningRemovesItsFiles) {
  ASSERT_TRUE(store_->PutBytes("there before").ok());
  const std::set<Digest> before = Objects();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Produces 32 MiB quickly, then hangs until killed.
    auto store = ObjectStore::Open(dir_ / "objects", {});
    if (!store.ok()) ::_exit(2);
    LineSource source = CsvSource(1'000'000, 8);
    source.StallAfter(32 * kMiB, [] {
      while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
    });
    auto writer = ChunkedFileWriter::Create(**store, {});
    if (writer.ok()) (void)writer->Write(source);
    ::_exit(1);
  }
  // Wait until the child's batch holds chunk files, then kill it mid-write.
  auto batch_files = [&]() -> size_t {
    size_t files = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(store_->temp_dir(), ec)) {
      if (entry.is_directory()) files += EntriesIn(entry.path());
    }
    return files;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (batch_files() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));

  EXPECT_EQ(Objects(), before);
  const size_t left = batch_files();
  EXPECT_GE(left, 10u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the grace period
  EXPECT_EQ(*store_->CleanTemporaryFiles(), left);
  EXPECT_EQ(EntriesIn(store_->temp_dir()), 0u);
  EXPECT_EQ(Objects(), before);
}

class DamagedChunkTest : public ChunkedFileTest {
 protected:
  void SetUp() override {
    ChunkedFileTest::SetUp();
    LineSource source = PatternSource(300'000, 12);  // ~18 MiB, a dozen chunks
    stored_ = Add(
        source, {.chunker = {.min_size = 256 << 10, .average_size = 1 << 20, .max_size = 4 << 20}});
    ASSERT_GT(stored_.manifest.chunks.size(), 4u);
    victim_ = stored_.manifest.chunks[3].digest;
  }

  // Export must fail with `code`, name the chunk and leave nothing at the destination.
  void ExpectExportFails(absl::StatusCode code) {
    absl::Status status = ExportChunkedFile(*store_, stored_.manifest_digest, dir_ / "out");
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_NE(core::View(status.message()).find(victim_.ToHex()), std::string::npos) << status;
    EXPECT_NE(core::View(status.message()).find("chunk 3 of"), std::string::npos) << status;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
    EXPECT_EQ(EntriesIn(dir_), 1u);  // objects/ only: no temporary file left
  }

  ChunkedFileResult stored_;
  Digest victim_;
};

TEST_F(DamagedChunkTest, MissingChunkIsNotFoundNamingIt) {
  ASSERT_TRUE(store_->Delete(victim_).ok());
  ExpectExportFails(absl::StatusCode::kNotFound);
}

TEST_F(DamagedChunkTest, FlippedByteInAChunkIsDataLossNamingIt) {
  const fs::path path = store_->PathOf(victim_);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(fs::file_size(path) / 2));
  file.put('\x7f');
  file.close();
  ExpectExportFails(absl::StatusCode::kDataLoss);
}

TEST_F(DamagedChunkTest, ManifestWhoseChunksDoNotMakeTheFileIsDataLoss) {
  // Consistent sizes but the chunks swapped: every chunk verifies, the file does not.
  Manifest swapped = stored_.manifest;
  std::swap(swapped.chunks[0], swapped.chunks[1]);
  const Digest digest = *PutManifest(*store_, swapped);
  absl::Status status = ExportChunkedFile(*store_, digest, dir_ / "out");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_FALSE(fs::exists(dir_ / "out"));

  // A chunk listed with a size other than its own.
  Manifest resized = stored_.manifest;
  resized.chunks[0].size -= 1;
  resized.chunks[1].size += 1;
  status = ExportChunkedFile(*store_, *PutManifest(*store_, resized), dir_ / "out");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(core::View(status.message()).find("chunk 0 of"), std::string::npos) << status;
}

TEST_F(ChunkedFileTest, BadOptionsAndPathsAreRejected) {
  EXPECT_EQ(ChunkedFileWriter::Create(*store_, {.compression_level = 50}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChunkedFileWriter::Create(*store_, {.threads = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChunkedFileWriter::Create(*store_, {.chunker = {.min_size = 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ChunkedFileWriter writer = Writer({.compression_level = 3, .threads = 1});
  EXPECT_EQ(writer.compression_level(), 3);
  EXPECT_EQ(writer.threads(), 1);
  EXPECT_EQ(writer.WriteFile(dir_ / "missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(writer.WriteFile(dir_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChunkedFileReader::Open(*store_, Sha256::Of("no manifest"), {}).status().code(),
            absl::StatusCode::kNotFound);
}

// A GiB goes in and comes back out to a file, byte-identical, through bounded buffers.
TEST_F(ChunkedFileTest, GibibyteExportIsByteIdenticalInBoundedMemory) {
  const uint64_t size = kSanitized ? 32 * kMiB : 1024 * kMiB;
  ::malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  const uint64_t baseline_kib = ProcStatusKiB("VmHWM:");

  testing_sources::LetterSource source(size, 2024);
  const ChunkedFileResult result = Add(source);
  const Digest expected = source.Finish();
  ASSERT_EQ(result.manifest.sha256, expected);
  ASSERT_TRUE(ExportChunkedFile(*store_, result.manifest_digest, dir_ / "big").ok());
  EXPECT_EQ(HashFile(dir_ / "big"), std::make_pair(expected, source.produced()));

  const uint64_t growth_kib = ProcStatusKiB("VmHWM:") - baseline_kib;
  RecordProperty("bytes", std::to_string(source.produced()));
  RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
  if (!kSanitized && baseline_kib > 0) {
    EXPECT_LT(growth_kib, 200u * 1024) << "KiB";
  }
}

}  // namespace
}  // namespace ferry::store
