// table_profile_file: profiles a file the way `ferry data add` will, for measuring
// throughput by hand (not a test):
//
//   table_profile_file FILE [--block BYTES] [--lenient] [--json] [--batches COLUMNS]
//
// reads FILE in blocks (4 MiB by default) on one thread, feeds a TableProfiler, and prints
// bytes, rows, seconds and MB/s to stderr; --json prints the profile to stdout;
// --batches "a,b" reads the file instead through a RecordBatchReader projecting those
// columns (types from a first profiling pass).

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "table/format.h"
#include "table/record_batch.h"
#include "table/table_profiler.h"

namespace {

using ferry::table::Format;

template <typename Feed>
bool ReadFile(const char* path, size_t block, Feed feed) {
  const int fd = ::open(path, O_RDONLY);
  if (fd < 0) {
    std::perror(path);
    return false;
  }
  std::vector<char> buffer(block);
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      std::perror("read");
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (!feed(std::string_view(buffer.data(), static_cast<size_t>(n)))) {
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: table_profile_file FILE [--block BYTES] [--json] [--batches a,b]\n");
    return 2;
  }
  size_t block = size_t{4} << 20;
  bool json = false;
  ferry::table::ProfilerOptions options;
  const char* batches = nullptr;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--block") == 0 && i + 1 < argc) block = std::stoull(argv[++i]);
    else if (std::strcmp(argv[i], "--json") == 0) json = true;
    else if (std::strcmp(argv[i], "--lenient") == 0) options.lenient = true;
    else if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) batches = argv[++i];
  }
  const Format format = ferry::table::DetectFormat(argv[1]);
  auto profiler = ferry::table::TableProfiler::Create(format, options);
  if (!profiler.ok()) {
    std::fprintf(stderr, "%s\n", std::string(profiler.status().message()).c_str());
    return 1;
  }
  size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  bool ok = ReadFile(argv[1], block, [&](std::string_view b) {
    bytes += b.size();
    const absl::Status s = (*profiler)->Consume(b);
    if (!s.ok()) std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return s.ok();
  });
  if (!ok) return 1;
  auto profile = (*profiler)->Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!profile.ok()) {
    std::fprintf(stderr, "%s\n", std::string(profile.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "profile: %zu bytes, %lld rows (%lld bad), %zu columns, %.3f s, %.1f MB/s\n",
               bytes, static_cast<long long>(profile->row_count),
               static_cast<long long>(profile->bad_row_count), profile->columns.size(), seconds,
               static_cast<double>(bytes) / seconds / 1e6);
  if (json) std::printf("%s\n", profile->ToJson().c_str());
  if (batches != nullptr) {
    std::vector<std::string> projection;
    std::string list = batches;
    for (size_t at = 0; at <= list.size();) {
      const size_t comma = std::min(list.find(',', at), list.size());
      projection.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
    int64_t rows = 0;
    ferry::table::RecordBatchOptions batch_options;
    batch_options.lenient = options.lenient;
    auto reader = ferry::table::RecordBatchReader::Create(
        format, profile->schema(), projection, batch_options, [&](ferry::table::RecordBatch batch) {
          rows += batch.num_rows;
          return absl::OkStatus();
        });
    if (!reader.ok()) {
      std::fprintf(stderr, "%s\n", std::string(reader.status().message()).c_str());
      return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    ok = ReadFile(argv[1], block, [&](std::string_view b) { return (*reader)->Consume(b).ok(); });
    const absl::Status s = (*reader)->Finish();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!ok || !s.ok()) {
      std::fprintf(stderr, "batches failed: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "batches: %lld rows, %.3f s, %.1f MB/s\n", static_cast<long long>(rows), t,
                 static_cast<double>(bytes) / t / 1e6);
  }
  return 0;
}
