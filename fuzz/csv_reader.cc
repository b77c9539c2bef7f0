// Fuzzes the CSV reader (table/csv_tokenizer.h) and the profiler on top of it
// (table/table_profiler.h) with a CSV file's bytes.
//
// Beyond "no crash, no sanitizer report" it checks:
//   - the records, their line numbers, the error and the bad-row log do not depend on how
//     the bytes are split into Consume() blocks (one block, one byte at a time, and an
//     irregular split that crosses the tokenizer's 64-byte SIMD blocks), in both modes;
//   - every record has as many fields as the header, and records' lines increase;
//   - strict success implies lenient success with the same records and no bad rows;
//   - what CsvWriter writes from the records reads back as the same records;
//   - the profile is the same whether the bytes come whole or in blocks, and survives
//     TableProfile's JSON round trip exactly.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/check.h"
#include "table/csv_tokenizer.h"
#include "table/csv_writer.h"
#include "table/table_profiler.h"

namespace {

using ferry::table::CsvRecords;
using ferry::table::CsvTokenizer;
using ferry::table::ErrorMode;
using ferry::table::InputLimits;

// Everything a tokenizer run reports.
struct Reading {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> lines;
  absl::Status status;
  int64_t bad_count = 0;
  std::vector<ferry::table::BadRow> bad_first;

  bool operator==(const Reading& other) const {
    return header == other.header && records == other.records && lines == other.lines &&
           status == other.status && bad_count == other.bad_count && bad_first == other.bad_first;
  }
};

class Collector final : public CsvTokenizer::Handler {
 public:
  explicit Collector(Reading& out) : out_(out) {}
  absl::Status OnHeader(std::span<const std::string> names) override {
    FERRY_CHECK(out_.header.empty());
    out_.header.assign(names.begin(), names.end());
    return absl::OkStatus();
  }
  absl::Status OnRecords(const CsvRecords& records) override {
    FERRY_CHECK(records.size() > 0);
    FERRY_CHECK(records.columns() == out_.header.size());
    for (size_t r = 0; r < records.size(); ++r) {
      std::vector<std::string> fields;
      for (size_t c = 0; c < records.columns(); ++c) {
        FERRY_CHECK(records.column(c).size() == records.size());
        FERRY_CHECK(records.column(c)[r] == records.field(r, c));
        fields.emplace_back(records.field(r, c));
      }
      out_.records.push_back(std::move(fields));
      out_.lines.push_back(records.line(r));
    }
    return absl::OkStatus();
  }

 private:
  Reading& out_;
};

// Small limits, so that inputs of a few KB reach the limit checks too.
constexpr InputLimits kLimits{.max_columns = 64, .max_field_bytes = 512, .max_record_bytes = 2048};
// For reading back what CsvWriter wrote: quoting makes records longer.
constexpr InputLimits kRewrittenLimits{
    .max_columns = 64, .max_field_bytes = 512, .max_record_bytes = 2 * 2048 + 2 * 64};

// Reads `bytes` handed over in blocks of the sizes `split` gives in turn (cycled).
Reading Read(std::string_view bytes, ErrorMode mode, std::span<const size_t> split,
             const InputLimits& limits = kLimits) {
  Reading out;
  Collector collector(out);
  CsvTokenizer tokenizer(mode, limits, collector);
  size_t at = 0;
  for (size_t i = 0; at < bytes.size() && out.status.ok(); ++i) {
    const size_t n = std::min(split[i % split.size()], bytes.size() - at);
    out.status = tokenizer.Consume(bytes.substr(at, n));
    at += n;
  }
  if (out.status.ok()) out.status = tokenizer.Finish();
  out.bad_count = tokenizer.bad_rows().count;
  out.bad_first = tokenizer.bad_rows().first;
  FERRY_CHECK(out.status.ok() || absl::IsInvalidArgument(out.status));
  FERRY_CHECK(tokenizer.records() >= static_cast<int64_t>(out.records.size()));
  for (size_t i = 1; i < out.lines.size(); ++i) FERRY_CHECK(out.lines[i] > out.lines[i - 1]);
  if (!out.lines.empty()) FERRY_CHECK(out.lines[0] >= 2);
  return out;
}

// Fails when two readings of the same bytes differ, saying how.
void CheckSame(const Reading& a, const Reading& b, const char* what) {
  if (a == b) return;
  std::fprintf(stderr, "%s: status \"%s\" vs \"%s\", %zu vs %zu records, %lld vs %lld bad rows\n",
               what, a.status.ToString().c_str(), b.status.ToString().c_str(), a.records.size(),
               b.records.size(), static_cast<long long>(a.bad_count),
               static_cast<long long>(b.bad_count));
  for (size_t i = 0; i < std::min(a.bad_first.size(), b.bad_first.size()); ++i) {
    std::fprintf(stderr, "bad row %zu: %lld %s | %lld %s\n", i,
                 static_cast<long long>(a.bad_first[i].line), a.bad_first[i].reason.c_str(),
                 static_cast<long long>(b.bad_first[i].line), b.bad_first[i].reason.c_str());
  }
  FERRY_CHECK(a == b);
}

// The records as CsvWriter writes them (every field a string).
std::string Write(const Reading& reading) {
  const int fd = memfd_create("csv", 0);
  FERRY_CHECK(fd >= 0);
  {
    ferry::table::CsvWriter writer(fd);
    for (const std::string& name : reading.header) writer.String(name);
    FERRY_CHECK(writer.EndRow().ok());
    for (const auto& record : reading.records) {
      for (const std::string& field : record) writer.String(field);
      FERRY_CHECK(writer.EndRow().ok());
    }
    FERRY_CHECK(writer.Flush().ok());
  }
  std::string text(static_cast<size_t>(lseek(fd, 0, SEEK_END)), '\0');
  FERRY_CHECK(pread(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
  close(fd);
  return text;
}

void CheckProfile(std::string_view bytes) {
  ferry::table::ProfilerOptions options;
  options.limits = kLimits;
  options.sample_rows = 16;
  auto whole = ferry::table::ProfileBytes(ferry::table::Format::kCsv, bytes, options);
  auto profiler = ferry::table::TableProfiler::Create(ferry::table::Format::kCsv, options);
  FERRY_CHECK(profiler.ok());
  absl::Status status;
  for (size_t at = 0; at < bytes.size() && status.ok(); at += 37) {
    status = (*profiler)->Consume(bytes.substr(at, 37));
  }
  auto blocks =
      status.ok() ? (*profiler)->Finish() : absl::StatusOr<ferry::table::TableProfile>(status);
  FERRY_CHECK(whole.ok() == blocks.ok());
  if (!whole.ok()) {
    FERRY_CHECK(whole.status() == blocks.status());
    return;
  }
  FERRY_CHECK(*whole == *blocks);
  const std::string json = whole->ToJson();
  auto back = ferry::table::TableProfile::FromJson(json);
  FERRY_CHECK(back.ok());
  if (!(*back == *whole)) {
    std::fprintf(stderr, "profile:\n%s\nread back:\n%s\n", json.c_str(), back->ToJson().c_str());
    FERRY_CHECK(*back == *whole);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Block sizes: the whole input, single bytes, and an irregular pattern around the
  // tokenizer's 64-byte SIMD blocks.
  const size_t whole[] = {size + 1};
  const size_t single[] = {1};
  const size_t irregular[] = {63, 1, 64, 65, 2, 130, 7};
  for (ErrorMode mode : {ErrorMode::kStrict, ErrorMode::kLenient}) {
    const Reading first = Read(bytes, mode, whole);
    CheckSame(first, Read(bytes, mode, single), "one block vs single bytes");
    CheckSame(first, Read(bytes, mode, irregular), "one block vs irregular blocks");
    if (mode == ErrorMode::kLenient) continue;
    if (!first.status.ok()) continue;
    const Reading lenient = Read(bytes, ErrorMode::kLenient, whole);
    FERRY_CHECK(lenient.status.ok() && lenient.bad_count == 0);
    FERRY_CHECK(lenient.records == first.records && lenient.header == first.header);

    // Written back out, the same header and records come back.
    const Reading again = Read(Write(first), ErrorMode::kStrict, whole, kRewrittenLimits);
    FERRY_CHECK(again.status.ok());
    FERRY_CHECK(again.header == first.header);
    FERRY_CHECK(again.records == first.records);
  }
  CheckProfile(bytes);
  return 0;
}
