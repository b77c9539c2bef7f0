#include "store/chunker.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/sha256.h"
#include "test_sources.h"

namespace ferry::store {
namespace {

using testing_sources::kMiB;
using testing_sources::Noise;

// Small bounds so that a few MiB hold hundreds of chunks.
constexpr ChunkerOptions kSmall{.min_size = 2048, .average_size = 8192, .max_size = 65536};

Chunker MakeChunker(const ChunkerOptions& options) {
  auto chunker = Chunker::Create(options);
  EXPECT_TRUE(chunker.ok()) << chunker.status();
  return *chunker;
}

// The chunks of `data`, as their bytes.
std::vector<std::string_view> Chunks(const ChunkerOptions& options, std::string_view data) {
  std::vector<std::string_view> chunks;
  for (uint32_t size : ChunkSizes(MakeChunker(options), data)) {
    chunks.push_back(data.substr(0, size));
    data.remove_prefix(size);
  }
  return chunks;
}

// How many chunks of `after` do not occur in `before` (by content).
size_t NewChunks(const std::vector<std::string_view>& before,
                 const std::vector<std::string_view>& after) {
  absl::flat_hash_set<std::string_view> known(before.begin(), before.end());
  size_t fresh = 0;
  for (std::string_view chunk : after) fresh += known.contains(chunk) ? 0 : 1;
  return fresh;
}

TEST(ChunkerTest, CreateRejectsBoundsThatBreakTheRules) {
  const ChunkerOptions bad[] = {
      {.min_size = 32, .average_size = 1024, .max_size = 4096},     // min below the window
      {.min_size = 1024, .average_size = 3000, .max_size = 8192},   // average not a power of 2
      {.min_size = 64, .average_size = 128, .max_size = 4096},      // average below 256
      {.min_size = 8192, .average_size = 4096, .max_size = 16384},  // min > average
      {.min_size = 1024, .average_size = 4096, .max_size = 2048},   // average > max
      {.min_size = 1024, .average_size = 4096, .max_size = (1u << 30) + 1},  // max too large
  };
  for (size_t i = 0; i < std::size(bad); ++i) {
    EXPECT_EQ(Chunker::Create(bad[i]).status().code(), absl::StatusCode::kInvalidArgument)
        << "case " << i;
  }
  EXPECT_TRUE(Chunker::Create({}).ok());
  EXPECT_TRUE(Chunker::Create({.min_size = 64, .average_size = 256, .max_size = 256}).ok());
}

TEST(ChunkerTest, SameBytesAlwaysGiveTheSameBoundaries) {
  const std::string data = Noise(4 * kMiB, 1);
  const std::vector<uint32_t> first = ChunkSizes(MakeChunker(kSmall), data);
  EXPECT_EQ(ChunkSizes(MakeChunker(kSmall), data), first);
  EXPECT_EQ(std::accumulate(first.begin(), first.end(), uint64_t{0}), data.size());
  EXPECT_GT(first.size(), 200u);
}

// The gear table, masks and bounds decide where chunks of stored files were cut;
// changing them silently stops deduplication against every existing store.
TEST(ChunkerTest, BoundariesArePinnedForTheDefaultParameters) {
  const std::string data = Noise(16 * kMiB, 7);
  const std::vector<uint32_t> sizes = ChunkSizes(MakeChunker({}), data);
  const std::vector<uint32_t> expected = {1705585, 1303545, 807794,  1123119, 1084162,
                                          1275970, 1142069, 1375534, 1055159, 1154849,
                                          1060536, 1380906, 1089465, 1095228, 123295};
  EXPECT_EQ(sizes, expected);
}

TEST(ChunkerTest, FeedingInPiecesOfAnySizeGivesTheSameBoundaries) {
  const std::string data = Noise(2 * kMiB, 2);
  const std::vector<uint32_t> whole = ChunkSizes(MakeChunker(kSmall), data);
  std::mt19937_64 rng(3);
  for (size_t max_piece : {size_t{1}, size_t{7}, size_t{100}, size_t{5000}, size_t{100000}}) {
    Chunker chunker = MakeChunker(kSmall);
    std::vector<uint32_t> sizes;
    uint64_t chunk = 0;
    for (std::string_view rest = data; !rest.empty();) {
      std::string_view piece = rest.substr(0, 1 + rng() % max_piece);
      rest.remove_prefix(piece.size());
      while (!piece.empty()) {
        std::optional<size_t> cut = chunker.Next(piece);
        if (!cut) {
          chunk += piece.size();
          break;
        }
        sizes.push_back(static_cast<uint32_t>(chunk + *cut));
        chunk = 0;
        piece.remove_prefix(*cut);
      }
    }
    EXPECT_EQ(chunk, chunker.pending());
    if (chunk > 0) sizes.push_back(static_cast<uint32_t>(chunk));
    EXPECT_EQ(sizes, whole) << "pieces of up to " << max_piece << " bytes";
  }
}

TEST(ChunkerTest, EveryChunkButTheLastRespectsTheBounds) {
  struct Case {
    ChunkerOptions options;
    std::string data;
  };
  const Case cases[] = {
      {kSmall, Noise(8 * kMiB, 4)},
      {{}, Noise(64 * kMiB, 5)},
      // Constant bytes never match a mask: every chunk is cut at max_size.
      {kSmall, std::string(kMiB + 5, 'a')},
      {{.min_size = 64, .average_size = 256, .max_size = 1024}, Noise(kMiB, 6)},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const ChunkerOptions& options = cases[i].options;
    const std::vector<uint32_t> sizes = ChunkSizes(MakeChunker(options), cases[i].data);
    ASSERT_FALSE(sizes.empty());
    for (size_t k = 0; k + 1 < sizes.size(); ++k) {
      ASSERT_GE(sizes[k], options.min_size) << "case " << i << " chunk " << k;
      ASSERT_LE(sizes[k], options.max_size) << "case " << i << " chunk " << k;
    }
    EXPECT_LE(sizes.back(), options.max_size);
    const double average = static_cast<double>(cases[i].data.size()) / sizes.size();
    if (i == 2) {
      EXPECT_EQ(sizes.front(), options.max_size);
    } else {
      // Normalized chunking keeps the mean near the average (+ the skipped minimum).
      EXPECT_GT(average, 0.9 * options.average_size) << "case " << i;
      EXPECT_LT(average, 1.6 * options.average_size) << "case " << i;
    }
  }
}

TEST(ChunkerTest, EditsInTheMiddleChangeOnlyTheChunksAroundThem) {
  for (const ChunkerOptions& options : {kSmall, ChunkerOptions{}}) {
    const std::string original =
        Noise(options.average_size == kSmall.average_size ? 8 * kMiB : 64 * kMiB, 8);
    const auto before = Chunks(options, original);
    ASSERT_GT(before.size(), 40u);
    const size_t middle = original.size() / 2 + 12345;

    std::string inserted = original;
    inserted.insert(middle, "a few inserted bytes");
    std::string overwritten = original;
    for (size_t i = 0; i < 100; ++i) overwritten[middle + i] ^= 0x5a;
    std::string removed = original;
    removed.erase(middle, 3000);

    for (const std::string* edited : {&inserted, &overwritten, &removed}) {
      const auto after = Chunks(options, *edited);
      // One chunk holds the edit; at most one more differs before the cuts line up again.
      EXPECT_LE(NewChunks(before, after), 2u) << "average " << options.average_size;
      EXPECT_GE(after.size() + 2, before.size());
    }
  }
}

TEST(ChunkerTest, AppendingChangesOnlyTheLastChunk) {
  const std::string original = Noise(8 * kMiB, 9);
  const auto before = Chunks(kSmall, original);
  const std::string appended = original + Noise(80000, 10);
  const auto after = Chunks(kSmall, appended);
  // All chunks but the old last one are kept, in order, at the start.
  for (size_t i = 0; i + 1 < before.size(); ++i) ASSERT_EQ(after[i], before[i]) << i;
  // The old last chunk (cut by the end of the data) grows into the appended bytes.
  size_t appended_chunks = after.size() - (before.size() - 1);
  EXPECT_EQ(NewChunks(before, after), appended_chunks);
  EXPECT_LE(appended_chunks, 80000 / kSmall.min_size + 2);
}

}  // namespace
}  // namespace ferry::store
