#include "store/manifest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/strings.h"
#include "testing/temp_dir.h"

namespace ferry::store {
namespace {

using core::Digest;
using core::Sha256;

Manifest ThreeChunks() {
  Manifest manifest;
  manifest.chunks = {{Sha256::Of("a"), 100}, {Sha256::Of("b"), 70000}, {Sha256::Of("a"), 100}};
  manifest.size = 70200;
  manifest.sha256 = Sha256::Of("the whole file");
  return manifest;
}

void PutLe(std::string& bytes, size_t offset, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[offset + i] = static_cast<char>(value >> (8 * i));
}

TEST(ManifestTest, EncodeThenDecodeRoundTrips) {
  for (const Manifest& manifest : {Manifest{0, Sha256::Of(""), {}}, ThreeChunks()}) {
    auto bytes = EncodeManifest(manifest);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(bytes->size(), kManifestHeaderSize + manifest.chunks.size() * kManifestEntrySize);
    auto decoded = DecodeManifest(*bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, manifest);
  }
}

// The layout of docs/manifest-format.md, byte by byte.
TEST(ManifestTest, EncodingFollowsTheDocumentedLayout) {
  const Manifest manifest = ThreeChunks();
  const std::string bytes = *EncodeManifest(manifest);
  EXPECT_EQ(bytes.substr(0, 8), "FERRYMAN");
  // Version 1, flags and reserved bytes zero.
  EXPECT_EQ(bytes.substr(8, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(bytes.substr(16, 8), std::string("\x38\x12\x01\0\0\0\0\0", 8));  // 70200
  EXPECT_EQ(bytes.substr(24, 8), std::string("\x03\0\0\0\0\0\0\0", 8));      // 3 chunks
  EXPECT_EQ(std::memcmp(bytes.data() + 32, manifest.sha256.bytes().data(), 32), 0);
  EXPECT_EQ(std::memcmp(bytes.data() + 64 + 36, Sha256::Of("b").bytes().data(), 32), 0);
  EXPECT_EQ(bytes.substr(64 + 36 + 32, 4), std::string("\x70\x11\x01\0", 4));  // 70000
}

TEST(ManifestTest, EncodeRejectsInconsistentManifests) {
  Manifest wrong_total = ThreeChunks();
  wrong_total.size += 1;
  Manifest empty_chunk = ThreeChunks();
  empty_chunk.chunks[1].size = 0;
  empty_chunk.size = 200;
  for (const Manifest& manifest : {wrong_total, empty_chunk}) {
    EXPECT_EQ(EncodeManifest(manifest).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ManifestTest, CorruptManifestsAreDataLossSayingWhy) {
  const std::string good = *EncodeManifest(ThreeChunks());
  // Damage by length.
  const struct {
    const char* name;
    std::string bytes;
    const char* why;
  } resized[] = {
      {"empty", "", "fewer than its 64-byte header"},
      {"truncated header", good.substr(0, 40), "fewer than"},
      {"truncated entries", good.substr(0, good.size() - 1), "chunks take"},
      {"trailing bytes", good + "x", "chunks take"},
  };
  for (const auto& c : resized) {
    absl::Status status = DecodeManifest(c.bytes).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.name;
    EXPECT_NE(core::View(status.message()).find(c.why), std::string::npos) << c.name << status;
  }
  // Damage by overwriting a little-endian field.
  const struct {
    const char* name;
    size_t offset;
    uint64_t value;
    int width;
    const char* why;
  } overwritten[] = {
      {"bad magic", 0, 'X', 1, "bad magic"},
      {"flags set", 10, 1, 2, "reserved bits"},
      {"reserved set", 13, 1, 1, "reserved bits"},
      {"huge count", 24, uint64_t{1} << 40, 8, "over the limit"},
      {"zero-size chunk", 64 + 32, 0, 4, "chunk 0 has size 0"},
      {"sizes do not add up", 16, 5, 8, "add up to 70200 bytes"},
  };
  for (const auto& c : overwritten) {
    std::string bytes = good;
    PutLe(bytes, c.offset, c.value, c.width);
    absl::Status status = DecodeManifest(bytes).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.name;
    EXPECT_NE(core::View(status.message()).find(c.why), std::string::npos) << c.name << status;
  }
  std::string newer = good;
  newer[8] = 2;
  EXPECT_EQ(DecodeManifest(newer).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ManifestTest, PutThenGetRoundTripsThroughTheStore) {
  testing::TempDir temp;
  auto store = std::move(*ObjectStore::Open(temp / "objects", {}));
  const Manifest manifest = ThreeChunks();
  auto digest = PutManifest(*store, manifest);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, Sha256::Of(*EncodeManifest(manifest)));
  EXPECT_EQ(*GetManifest(*store, *digest), manifest);

  EXPECT_EQ(GetManifest(*store, Sha256::Of("nothing")).status().code(),
            absl::StatusCode::kNotFound);
  // An object that is not a manifest: DataLoss naming the object.
  const Digest not_a_manifest = store->PutBytes("just some bytes")->digest;
  absl::Status status = GetManifest(*store, not_a_manifest).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(core::View(status.message()).find(not_a_manifest.ToHex()), std::string::npos);
}

}  // namespace
}  // namespace ferry::store
