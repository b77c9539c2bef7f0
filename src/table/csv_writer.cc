#include "table/csv_writer.h"

#include <charconv>
#include <cmath>

namespace ferry::table {
namespace {

void AppendDigits(std::string& out, int64_t value, int width) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  for (int pad = width - static_cast<int>(end - digits); pad > 0; --pad) out.push_back('0');
  out.append(digits, end);
}

}  // namespace

void AppendIsoTimestamp(std::string& out, int64_t micros) {
  int64_t seconds = micros / 1'000'000;
  int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  // Civil date from days since 1970-01-01 by the usual era/day-of-era arithmetic
  // (libstdc++ 12 lacks std::chrono's calendar conversions for this hot path).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  AppendDigits(out, year, 4);
  out.push_back('-');
  AppendDigits(out, month, 2);
  out.push_back('-');
  AppendDigits(out, day, 2);
  out.push_back('T');
  AppendDigits(out, second_of_day / 3600, 2);
  out.push_back(':');
  AppendDigits(out, second_of_day / 60 % 60, 2);
  out.push_back(':');
  AppendDigits(out, second_of_day % 60, 2);
  if (fraction != 0) {
    out.push_back('.');
    AppendDigits(out, fraction, 6);
  }
  out.push_back('Z');
}

void CsvWriter::String(std::string_view value) {
  Separate();
  // Quoted when it holds a delimiter, a quote or a line break, or is empty (so it is
  // not read back as null) or has surrounding spaces.
  const bool quote = value.empty() || value.find_first_of(",\"\r\n") != std::string_view::npos ||
                     value.front() == ' ' || value.back() == ' ';
  if (!quote) {
    buffer_ += value;
    return;
  }
  buffer_.push_back('"');
  for (char c : value) {
    if (c == '"') buffer_.push_back('"');
    buffer_.push_back(c);
  }
  buffer_.push_back('"');
}

void CsvWriter::Int64(int64_t value) {
  Separate();
  AppendDigits(buffer_, value, 0);
}

void CsvWriter::Float64(double value) {
  Separate();
  if (!std::isfinite(value)) return;  // written as null: ferry's reader knows no NaN
  char digits[32];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  buffer_.append(digits, end);
  // "13" would read back as an int64; keep whole floats recognisably float.
  if (std::string_view(digits, end - digits).find_first_of(".e") == std::string_view::npos) {
    buffer_ += ".0";
  }
}

void CsvWriter::Bool(bool value) {
  Separate();
  buffer_ += value ? "true" : "false";
}

void CsvWriter::Timestamp(int64_t micros) {
  Separate();
  AppendIsoTimestamp(buffer_, micros);
}

absl::Status CsvWriter::EndRow() {
  buffer_.push_back('\n');
  fields_ = 0;
  if (buffer_.size() >= kFlushBytes) return Flush();
  return absl::OkStatus();
}

absl::Status CsvWriter::Flush() {
  absl::Status status = core::WriteAll(fd_, buffer_.data(), buffer_.size());
  buffer_.clear();
  return status;
}

}  // namespace ferry::table
