// ObjectStore: opening, naming, headers, inspection, deletion, listing and cleanup.
// Puts are in object_store_put.cc, reads in object_store_get.cc; the format they share
// is docs/object-format.md.

#include "store/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "store/object_encoding.h"
#include "store/temporary_files.h"

namespace ferry::store {
namespace {

namespace fs = std::filesystem;
using core::Cat;
using core::Digest;

using object_encoding::GetLittleEndian;
using object_encoding::HeaderCheck;
using object_encoding::kCheckOffset;
using object_encoding::kCodecZstd;
using object_encoding::kFormatVersion;
using object_encoding::kMagic;

constexpr char kTempDirName[] = "tmp";

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

absl::Status MakeDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), Cat("create folder ", dir.string()));
  return absl::OkStatus();
}

}  // namespace

ObjectStore::ObjectStore(fs::path root, const Options& options)
    : root_(std::move(root)),
      tmp_dir_(root_ / kTempDirName),
      options_(options),
      threads_(options.threads > 0
                   ? options.threads
                   : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                kMaxThreads)) {
  static_assert(kHeaderSize == object_encoding::kHeaderSize);
}

ObjectStore::~ObjectStore() = default;

absl::StatusOr<std::unique_ptr<ObjectStore>> ObjectStore::Open(const fs::path& root,
                                                               const Options& options) {
  if (options.compression_level < kMinCompressionLevel ||
      options.compression_level > kMaxCompressionLevel) {
    return absl::InvalidArgumentError(Cat("object store compression level must be in [",
                                          kMinCompressionLevel, ", ", kMaxCompressionLevel,
                                          "], got ", options.compression_level));
  }
  if (options.threads < 0 || options.threads > kMaxThreads) {
    return absl::InvalidArgumentError(Cat("object store threads must be in [0, ", kMaxThreads,
                                          "], got ", options.threads));
  }
  std::unique_ptr<ObjectStore> store(new ObjectStore(root, options));
  const bool tmp_existed = fs::is_directory(store->tmp_dir_);
  RETURN_IF_ERROR(MakeDirectory(store->tmp_dir_));
  if (!tmp_existed) RETURN_IF_ERROR(core::FsyncDirectory(store->root_));
  RETURN_IF_ERROR(store->CleanTemporaryFiles().status());
  return store;
}

fs::path ObjectStore::PathOf(const Digest& digest) const {
  std::string hex = digest.ToHex();
  return root_ / hex.substr(0, 2) / hex;
}

absl::StatusOr<ObjectStore::OpenedObject> ObjectStore::OpenObject(const Digest& digest) const {
  const fs::path path = PathOf(digest);
  const std::string hex = digest.ToHex();
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(Cat("object ", hex, " not found in ", root_.string()));
    }
    return core::ErrnoToStatus(errno, Cat("open object ", path.string()));
  }
  auto damaged = [&](std::string_view why) {
    return absl::DataLossError(Cat("object ", hex, " (", path.string(), ") is damaged: ", why));
  };
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return core::ErrnoToStatus(errno, Cat("stat ", path.string()));
  if (!S_ISREG(st.st_mode)) return damaged("not a regular file");
  char h[kHeaderSize];
  ASSIGN_OR_RETURN(size_t got, core::ReadFull(fd.get(), h, kHeaderSize));
  if (got < kHeaderSize) {
    return damaged(Cat("the file has ", got, " bytes, fewer than its ", kHeaderSize,
                       "-byte header"));
  }
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) return damaged("bad magic");
  char check[8];
  HeaderCheck(h, check);
  if (std::memcmp(check, h + kCheckOffset, sizeof(check)) != 0) {
    return damaged("header check mismatch");
  }
  // The check passed, so a version we do not know was written on purpose, by a newer
  // ferry: not damage.
  const uint64_t version = GetLittleEndian(h + 8, 2);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(Cat("object ", hex, " has format version ", version,
                                             "; this ferry reads version ", kFormatVersion));
  }
  if (static_cast<uint8_t>(h[10]) != kCodecZstd) {
    return damaged(Cat("unknown codec ", static_cast<int>(static_cast<uint8_t>(h[10]))));
  }
  if (h[11] != 0 || GetLittleEndian(h + 12, 4) != 0) return damaged("reserved bits set");
  const uint64_t size = GetLittleEndian(h + 16, 8);
  if (size > kMaxObjectSize) {
    return damaged(Cat("header claims ", size, " bytes, over the limit of ", kMaxObjectSize));
  }
  if (std::memcmp(h + 24, digest.bytes().data(), Digest::kSize) != 0) {
    return damaged("its header names another object");
  }
  return OpenedObject{std::move(fd), ObjectInfo{size, static_cast<uint64_t>(st.st_size)}};
}

absl::StatusOr<bool> ObjectStore::Exists(const Digest& digest) const {
  struct stat st {};
  const fs::path path = PathOf(digest);
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return core::ErrnoToStatus(errno, Cat("stat ", path.string()));
}

absl::StatusOr<ObjectInfo> ObjectStore::Stat(const Digest& digest) const {
  ASSIGN_OR_RETURN(OpenedObject object, OpenObject(digest));
  return object.info;
}

absl::Status ObjectStore::Delete(const Digest& digest) {
  const fs::path path = PathOf(digest);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          Cat("object ", digest.ToHex(), " not found in ", root_.string()));
    }
    return core::ErrnoToStatus(errno, Cat("delete ", path.string()));
  }
  return core::FsyncDirectory(path.parent_path());
}

absl::Status ObjectStore::ForEachObject(
    const std::function<absl::Status(const Digest&)>& visit) const {
  auto list = [](const fs::path& dir, auto keep) -> absl::StatusOr<std::vector<std::string>> {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (keep(name, *it)) names.push_back(std::move(name));
    }
    if (ec) return core::ErrnoToStatus(ec.value(), Cat("list ", dir.string()));
    std::sort(names.begin(), names.end());
    return names;
  };
  ASSIGN_OR_RETURN(std::vector<std::string> shards,
                   list(root_, [](const std::string& name, const fs::directory_entry& entry) {
                     std::error_code ec;
                     return name.size() == 2 && IsLowerHex(name) && entry.is_directory(ec);
                   }));
  for (const std::string& shard : shards) {
    ASSIGN_OR_RETURN(
        std::vector<std::string> names,
        list(root_ / shard, [&](const std::string& name, const fs::directory_entry&) {
          return name.size() == 2 * Digest::kSize && name.compare(0, 2, shard) == 0 &&
                 IsLowerHex(name);
        }));
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(Digest digest, Digest::FromHex(name));
      RETURN_IF_ERROR(visit(digest));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ObjectStore::CleanTemporaryFiles() {
  // A live put holds LOCK_EX on its file (a live ObjectBatch on its folder) until it
  // publishes or gives up.
  return RemoveFilesOfDeadWriters(tmp_dir_);
}

}  // namespace ferry::store
