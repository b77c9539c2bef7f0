#include "store/manifest.h"

#include <array>
#include <cstring>

#include "core/status.h"
#include "core/strings.h"
#include "store/object_encoding.h"

namespace ferry::store {
namespace {

using core::Cat;
using core::Digest;
using object_encoding::GetLittleEndian;
using object_encoding::PutLittleEndian;

constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'M', 'A', 'N'};
constexpr uint16_t kVersion = 1;

absl::Status CheckInvariants(const Manifest& manifest) {
  if (manifest.chunks.size() > kMaxManifestChunks) {
    return absl::InvalidArgumentError(Cat("a manifest holds at most ", kMaxManifestChunks,
                                          " chunks, got ", manifest.chunks.size()));
  }
  uint64_t total = 0;
  for (size_t i = 0; i < manifest.chunks.size(); ++i) {
    if (manifest.chunks[i].size == 0) {
      return absl::InvalidArgumentError(Cat("manifest chunk ", i, " is empty"));
    }
    total += manifest.chunks[i].size;
  }
  if (total != manifest.size) {
    return absl::InvalidArgumentError(
        Cat("manifest chunks add up to ", total, " bytes, its size is ", manifest.size));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodeManifest(const Manifest& manifest) {
  RETURN_IF_ERROR(CheckInvariants(manifest));
  std::string out(kManifestHeaderSize + manifest.chunks.size() * kManifestEntrySize, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  PutLittleEndian(p + 8, kVersion, 2);
  // p[10..12) flags and p[12..16) reserved stay zero.
  PutLittleEndian(p + 16, manifest.size, 8);
  PutLittleEndian(p + 24, manifest.chunks.size(), 8);
  std::memcpy(p + 32, manifest.sha256.bytes().data(), Digest::kSize);
  p += kManifestHeaderSize;
  for (const ChunkRef& chunk : manifest.chunks) {
    std::memcpy(p, chunk.digest.bytes().data(), Digest::kSize);
    PutLittleEndian(p + Digest::kSize, chunk.size, 4);
    p += kManifestEntrySize;
  }
  return out;
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view bytes) {
  auto corrupt = [](std::string_view why) {
    return absl::DataLossError(Cat("corrupt manifest: ", why));
  };
  if (bytes.size() < kManifestHeaderSize) {
    return corrupt(Cat("it has ", bytes.size(), " bytes, fewer than its ", kManifestHeaderSize,
                       "-byte header"));
  }
  const char* h = bytes.data();
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic");
  const uint64_t version = GetLittleEndian(h + 8, 2);
  if (version != kVersion) {
    return absl::FailedPreconditionError(
        Cat("manifest has format version ", version, "; this ferry reads version ", kVersion));
  }
  if (GetLittleEndian(h + 10, 2) != 0 || GetLittleEndian(h + 12, 4) != 0) {
    return corrupt("reserved bits set");
  }
  Manifest manifest;
  manifest.size = GetLittleEndian(h + 16, 8);
  const uint64_t count = GetLittleEndian(h + 24, 8);
  std::array<uint8_t, Digest::kSize> digest_bytes;
  std::memcpy(digest_bytes.data(), h + 32, Digest::kSize);
  manifest.sha256 = Digest(digest_bytes);
  if (count > kMaxManifestChunks) {
    return corrupt(Cat("it claims ", count, " chunks, over the limit of ", kMaxManifestChunks));
  }
  const uint64_t expected = kManifestHeaderSize + count * kManifestEntrySize;
  if (bytes.size() != expected) {
    return corrupt(Cat("it has ", bytes.size(), " bytes, but ", count, " chunks take ", expected));
  }
  manifest.chunks.resize(count);
  uint64_t total = 0;
  const char* p = h + kManifestHeaderSize;
  for (uint64_t i = 0; i < count; ++i, p += kManifestEntrySize) {
    ChunkRef& chunk = manifest.chunks[i];
    std::memcpy(digest_bytes.data(), p, Digest::kSize);
    chunk.digest = Digest(digest_bytes);
    chunk.size = static_cast<uint32_t>(GetLittleEndian(p + Digest::kSize, 4));
    if (chunk.size == 0) return corrupt(Cat("chunk ", i, " has size 0"));
    total += chunk.size;  // at most 2^22 * 2^32: no overflow
  }
  if (total != manifest.size) {
    return corrupt(Cat("its chunks add up to ", total, " bytes, its header says ", manifest.size));
  }
  return manifest;
}

absl::StatusOr<Digest> PutManifest(ObjectStore& store, const Manifest& manifest) {
  ASSIGN_OR_RETURN(std::string bytes, EncodeManifest(manifest));
  ASSIGN_OR_RETURN(PutResult put, store.PutBytes(bytes));
  return put.digest;
}

absl::StatusOr<Manifest> GetManifest(const ObjectStore& store, const Digest& digest) {
  absl::StatusOr<std::string> bytes = store.GetBytes(digest, kMaxManifestSize);
  if (!bytes.ok()) {
    if (bytes.status().code() == absl::StatusCode::kResourceExhausted) {
      return absl::DataLossError(Cat("manifest ", digest.ToHex(), " is too large to be one: ",
                                     core::View(bytes.status().message())));
    }
    return bytes.status();
  }
  absl::StatusOr<Manifest> manifest = DecodeManifest(*bytes);
  if (!manifest.ok()) {
    return absl::Status(manifest.status().code(), Cat("object ", digest.ToHex(), ": ",
                                                      core::View(manifest.status().message())));
  }
  return manifest;
}

}  // namespace ferry::store
