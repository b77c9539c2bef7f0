#pragma once

// Format: which reader a dataset file goes through, chosen from its name.
//
// Thread-safety: pure functions.

#include <optional>
#include <string_view>

namespace ferry::table {

enum class Format {
  kCsv,        // RFC 4180 with a header row (csv_tokenizer.h)
  kJsonLines,  // one JSON object per line (jsonl_tokenizer.h)
  kOpaque,     // not tabular: stored as bytes, never profiled
};

// By extension, case-insensitive: ".csv" is kCsv; ".jsonl", ".ndjson" are kJsonLines;
// anything else (no extension, ".json", ".parquet", ".csv.gz", ...) is kOpaque.
Format DetectFormat(std::string_view file_name);

// "csv", "jsonl", "opaque".
std::string_view FormatName(Format format);
std::optional<Format> ParseFormatName(std::string_view name);

}  // namespace ferry::table
