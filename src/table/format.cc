#include "table/format.h"

#include <cctype>
#include <string>

namespace ferry::table {

Format DetectFormat(std::string_view file_name) {
  const size_t slash = file_name.find_last_of('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const size_t dot = file_name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return Format::kOpaque;
  std::string extension(file_name.substr(dot + 1));
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension == "csv") return Format::kCsv;
  if (extension == "jsonl" || extension == "ndjson") return Format::kJsonLines;
  return Format::kOpaque;
}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kCsv:
      return "csv";
    case Format::kJsonLines:
      return "jsonl";
    case Format::kOpaque:
      return "opaque";
  }
  return "opaque";
}

std::optional<Format> ParseFormatName(std::string_view name) {
  for (Format f : {Format::kCsv, Format::kJsonLines, Format::kOpaque}) {
    if (FormatName(f) == name) return f;
  }
  return std::nullopt;
}

}  // namespace ferry::table
