// Puts one file into a fresh ObjectStore and prints what happened and how long it took:
//
//   object_put FILE [--store-parent DIR] [--level N] [--threads N] [--get-to PATH]
//                   [--verify 1]
//
// The store is created in a new folder under DIR (default: the temp folder) and removed
// afterwards, so every run is a real write, never a dedup hit. --get-to also times
// reading the object back through GetToFile (verified) into PATH, --verify 1 the
// time of a Verify (decompress and hash, no output).
// Stands in for `ferry data add` until that command exists (bench/object_put/run).

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "store/object_store.h"

namespace {

namespace fs = std::filesystem;

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "object_put: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               std::string(status.ToString()).c_str());
  return 1;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: object_put FILE [--store-parent DIR] [--level N] [--threads N] "
                 "[--get-to PATH] [--verify 1]\n");
    return 2;
  }
  const fs::path file = argv[1];
  fs::path parent = fs::temp_directory_path();
  fs::path get_to;
  bool verify = false;
  ferry::store::ObjectStore::Options options;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--store-parent") {
      parent = argv[i + 1];
    } else if (flag == "--level") {
      options.compression_level = std::atoi(argv[i + 1]);
    } else if (flag == "--threads") {
      options.threads = std::atoi(argv[i + 1]);
    } else if (flag == "--verify") {
      verify = std::string_view(argv[i + 1]) == "1";
    } else if (flag == "--get-to") {
      get_to = argv[i + 1];
    } else {
      std::fprintf(stderr, "object_put: unknown flag %s\n", argv[i]);
      return 2;
    }
  }

  std::string pattern = (parent / "object_put_store.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("object_put: mkdtemp");
    return 1;
  }
  const fs::path root = pattern;
  int rc = 0;
  {
    auto store = ferry::store::ObjectStore::Open(root, options);
    if (!store.ok()) return Fail("open", store.status());
    auto start = std::chrono::steady_clock::now();
    auto put = (*store)->PutFile(file);
    const double put_seconds = SecondsSince(start);
    if (!put.ok()) {
      rc = Fail("put", put.status());
    } else {
      std::printf("digest=%s size=%llu stored=%llu ratio=%.3f level=%d put_seconds=%.3f\n",
                  put->digest.ToHex().c_str(), static_cast<unsigned long long>(put->size),
                  static_cast<unsigned long long>(put->stored_size),
                  put->size == 0 ? 0.0 : static_cast<double>(put->stored_size) / put->size,
                  options.compression_level, put_seconds);
      if (verify) {
        start = std::chrono::steady_clock::now();
        absl::Status verified = (*store)->Verify(put->digest);
        if (!verified.ok()) return Fail("verify", verified);
        std::printf("verify_seconds=%.3f\n", SecondsSince(start));
      }
      if (!get_to.empty()) {
        start = std::chrono::steady_clock::now();
        absl::Status got = (*store)->GetToFile(put->digest, get_to);
        if (!got.ok()) {
          rc = Fail("get", got);
        } else {
          std::printf("get_seconds=%.3f\n", SecondsSince(start));
        }
      }
    }
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return rc;
}
