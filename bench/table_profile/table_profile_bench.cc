// In-process throughput of the CSV statistics behind `ferry data add` (Google Benchmark):
//
//   table_profile_bench [--benchmark_...]     (bench/table_profile/run runs it)
//
// Data: `ferry demo transactions` card transactions (seed 42, 365 days, 1,000,000 rows, 70 MiB),
// written once to a temporary file and held in memory. Each benchmark feeds all of it in
// 4 MiB blocks, as the dataset layer does, and reports bytes per second:
//   BM_ProfileCsv   TableProfiler: tokenizing, type inference, every statistic;
//   BM_TokenizeCsv  the CSV tokenizer alone, handing records to a handler that keeps none;
//   BM_FindLines    the floor: one memchr pass finding every line end.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "demo/transactions.h"
#include "table/csv_tokenizer.h"
#include "table/table_profiler.h"

namespace {

using ferry::table::CsvTokenizer;

constexpr size_t kBlock = size_t{4} << 20;

const std::string& Transactions() {
  static const std::string* bytes = [] {
    const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                       ("ferry-table-profile-bench-" + std::to_string(::getpid()) + ".csv");
    ferry::demo::TransactionOptions options;
    options.rows = 1'000'000;
    options.days = 365;
    const auto written = ferry::demo::WriteTransactionsCsv(path, options);
    if (!written.ok()) {
      std::fprintf(stderr, "table_profile_bench: %s\n", std::string(written.status().message()).c_str());
      std::exit(1);
    }
    std::ifstream in(path, std::ios::binary);
    auto* data = new std::string(std::istreambuf_iterator<char>(in), {});
    std::filesystem::remove(path);
    return data;
  }();
  return *bytes;
}

template <typename Feed>
void FeedBlocks(const std::string& bytes, Feed feed) {
  for (size_t at = 0; at < bytes.size(); at += kBlock) {
    feed(std::string_view(bytes).substr(at, kBlock));
  }
}

void BM_ProfileCsv(benchmark::State& state) {
  const std::string& bytes = Transactions();
  for (auto _ : state) {
    auto profiler = ferry::table::TableProfiler::Create(ferry::table::Format::kCsv, {});
    FeedBlocks(bytes, [&](std::string_view block) {
      if (!(*profiler)->Consume(block).ok()) state.SkipWithError("Consume failed");
    });
    auto profile = (*profiler)->Finish();
    if (!profile.ok()) state.SkipWithError("Finish failed");
    benchmark::DoNotOptimize(profile);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_ProfileCsv)->Unit(benchmark::kMillisecond);

// Counts what it is handed, so the tokenizer's work is all that is measured.
class CountingHandler : public CsvTokenizer::Handler {
 public:
  absl::Status OnHeader(std::span<const std::string>) override { return absl::OkStatus(); }
  absl::Status OnRecords(const ferry::table::CsvRecords& records) override {
    fields_ += records.size() * records.columns();
    return absl::OkStatus();
  }
  size_t fields_ = 0;
};

void BM_TokenizeCsv(benchmark::State& state) {
  const std::string& bytes = Transactions();
  for (auto _ : state) {
    CountingHandler handler;
    CsvTokenizer tokenizer(ferry::table::ErrorMode::kStrict, {}, handler);
    FeedBlocks(bytes, [&](std::string_view block) {
      if (!tokenizer.Consume(block).ok()) state.SkipWithError("Consume failed");
    });
    if (!tokenizer.Finish().ok()) state.SkipWithError("Finish failed");
    benchmark::DoNotOptimize(handler.fields_);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_TokenizeCsv)->Unit(benchmark::kMillisecond);

void BM_FindLines(benchmark::State& state) {
  const std::string& bytes = Transactions();
  for (auto _ : state) {
    size_t lines = 0;
    FeedBlocks(bytes, [&](std::string_view block) {
      const char* p = block.data();
      const char* const end = p + block.size();
      while (const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p))) {
        ++lines;
        p = static_cast<const char*>(nl) + 1;
      }
    });
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_FindLines)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
