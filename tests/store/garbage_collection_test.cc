#include "store/garbage_collection.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "store/chunked_file_reader.h"
#include "store/chunked_file_writer.h"
#include "test_sources.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

using core::Digest;
using testing_sources::CsvSource;
using testing_sources::HashingSink;
using testing_sources::LineSource;

constexpr ChunkerOptions kSmall{
    .min_size = 16 << 10, .average_size = 64 << 10, .max_size = 256 << 10};

class GarbageCollectionTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(*ObjectStore::Open(temp_ / "objects", {})); }

  ChunkedFileResult Add(uint64_t rows, uint64_t edit_begin = 0, uint64_t edit_end = 0) {
    LineSource source = CsvSource(rows, 3, edit_begin, edit_end);
    auto result = std::move(*ChunkedFileWriter::Create(*store_, {.chunker = kSmall})).Write(source);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }

  std::set<Digest> Objects() { return testing_sources::AllObjects(*store_); }

  static std::set<Digest> ObjectsOf(const ChunkedFileResult& result) {
    std::set<Digest> digests{result.manifest_digest};
    for (const ChunkRef& chunk : result.manifest.chunks) digests.insert(chunk.digest);
    return digests;
  }

  testing::TempDir temp_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(GarbageCollectionTest, RemovesExactlyTheObjectsNoLiveManifestReaches) {
  const ChunkedFileResult kept = Add(50'000);
  const ChunkedFileResult dropped = Add(50'000, 20'000, 20'010);  // shares most chunks
  const Digest loose = store_->PutBytes("unreferenced model file")->digest;
  const std::set<Digest> all = Objects();
  ASSERT_GT(dropped.new_chunks, 0u);
  ASSERT_GT(dropped.reused_chunks, 0u);

  const Digest manifests[] = {kept.manifest_digest};
  auto live = LiveObjectsOf(*store_, manifests);
  ASSERT_TRUE(live.ok()) << live.status();
  auto result = CollectGarbage(*store_, *live);
  ASSERT_TRUE(result.ok()) << result.status();

  const std::set<Digest> expected = ObjectsOf(kept);
  EXPECT_EQ(Objects(), expected);
  EXPECT_EQ(result->objects_kept, expected.size());
  EXPECT_EQ(result->objects_removed, all.size() - expected.size());
  EXPECT_EQ(result->objects_removed, dropped.new_chunks + 2);  // + its manifest + loose
  EXPECT_GT(result->bytes_removed, dropped.stored_bytes);
  EXPECT_FALSE(*store_->Exists(loose));
  HashingSink sink;
  EXPECT_TRUE(ReadChunkedFile(*store_, kept.manifest_digest, sink).ok());
  EXPECT_EQ(sink.Finish(), kept.manifest.sha256);

  // Nothing left to collect.
  result = CollectGarbage(*store_, *live);
  EXPECT_EQ(result->objects_removed, 0u);
  EXPECT_EQ(result->objects_kept, expected.size());
}

TEST_F(GarbageCollectionTest, PredicateDecidesWhatLives) {
  const Digest a = store_->PutBytes("a")->digest;
  const Digest b = store_->PutBytes("b")->digest;
  auto result = CollectGarbage(*store_, [&](const Digest& digest) { return digest == a; });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->objects_removed, 1u);
  EXPECT_EQ(Objects(), std::set<Digest>{a});
  EXPECT_FALSE(*store_->Exists(b));
}

TEST_F(GarbageCollectionTest, MissingManifestStopsBeforeAnythingIsDeleted) {
  const ChunkedFileResult kept = Add(10'000);
  const Digest manifests[] = {kept.manifest_digest, core::Sha256::Of("gone")};
  EXPECT_EQ(LiveObjectsOf(*store_, manifests).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Objects(), ObjectsOf(kept));
}

}  // namespace
}  // namespace ferry::store
