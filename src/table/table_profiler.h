#pragma once

// TableProfiler: computes a TableProfile (schema and statistics, table_profile.h) from a
// dataset file's bytes as they stream by, in one pass and bounded memory. The dataset
// layer feeds it the blocks it stores (`ferry data add`), in order, on its own thread:
//
//   ASSIGN_OR_RETURN(auto profiler, TableProfiler::Create(DetectFormat(path), {}));
//   for each block: RETURN_IF_ERROR(profiler->Consume(block));
//   ASSIGN_OR_RETURN(TableProfile profile, profiler->Finish());
//
// Input rules and errors are those of the format's reader (csv_tokenizer.h,
// jsonl_tokenizer.h): InvalidArgument naming the line, e.g. "line 1042: expected 9
// fields, got 8". With `lenient`, bad rows are skipped and counted in the profile instead.
//
// Memory: the sketches are bounded per column (about 20-30 KiB for a high-cardinality
// column: 4 KiB HyperLogLog or up to 16 KiB of exact hashes, ~5 KiB quantile sketch,
// ~2.3 KiB of top-value counters, a 4 KiB buffer of numbers), plus the row sample
// (sample_rows rows, fewer for wide tables: rows x columns <= max_sample_cells), the CSV
// tokenizer's batch of records (at most 65,536 field views, 1 MiB) and one record
// carried between blocks. Nothing grows with the number of rows: ~10 MB for a 9-column
// file of any size, ~32 MiB for 1,000 columns (docs/table-profile.md, "Throughput and
// memory").
//
// Thread-safety: not thread-safe; one thread feeds a profiler (any thread, one at a time).

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "table/format.h"
#include "table/input_limits.h"
#include "table/kll_sketch.h"
#include "table/table_profile.h"

namespace ferry::table {

struct ProfilerOptions {
  // Skip and count bad rows instead of failing on the first.
  bool lenient = false;
  // Rows in the reservoir sample, at most (see max_sample_cells).
  size_t sample_rows = 1000;
  // The sample keeps at most this many cells: a 10,000-column table samples 20 rows.
  size_t max_sample_cells = 200'000;
  // Seeds the sample and the quantile sketches: same bytes and seed, same profile.
  uint64_t seed = 42;
  // Accuracy of the quantile sketches (kll_sketch.h).
  int kll_k = KllSketch::kDefaultK;
  InputLimits limits;
};

class TableProfiler {
 public:
  // Errors: InvalidArgument for Format::kOpaque (nothing to profile) or options out of
  // range (limits of 0, kll_k outside [8, 65535]).
  static absl::StatusOr<std::unique_ptr<TableProfiler>> Create(Format format,
                                                               const ProfilerOptions& options);
  virtual ~TableProfiler() = default;

  // The file's next bytes. Errors: the reader's (see above); after an error, every
  // later call returns it again.
  virtual absl::Status Consume(std::string_view bytes) = 0;
  // Ends the file and returns its profile. Errors: as Consume, plus the end-of-file
  // checks (empty file, an unclosed quote); FailedPrecondition when called twice.
  virtual absl::StatusOr<TableProfile> Finish() = 0;
};

// Profiles a whole file held in memory (tests, small files).
absl::StatusOr<TableProfile> ProfileBytes(Format format, std::string_view bytes,
                                          const ProfilerOptions& options = {});

}  // namespace ferry::table
