#include "alerts/exposition.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace {

using core::Cat;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsNameChar(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (colon && c == ':');
}

// A cursor over one line; errors name the line.
class LineReader {
 public:
  LineReader(std::string_view line, size_t number) : line_(line), number_(number) {}

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        Cat("metrics text line ", number_, ": ", what, ": \"", line_.substr(0, 200), "\""));
  }
  bool AtEnd() const { return pos_ >= line_.size(); }
  char Peek() const { return AtEnd() ? '\0' : line_[pos_]; }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(line_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  std::string_view Name(bool colon) {
    const size_t start = pos_;
    while (!AtEnd() && IsNameChar(line_[pos_], colon)) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  std::string_view Token() {
    const size_t start = pos_;
    while (!AtEnd() && !IsBlank(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  absl::StatusOr<std::string> QuotedValue() {
    if (!Consume('"')) return Error("expected a quoted label value");
    std::string value;
    while (true) {
      if (AtEnd()) return Error("unterminated label value");
      const char c = line_[pos_++];
      if (c == '"') return value;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (AtEnd()) return Error("unterminated escape in a label value");
      const char escaped = line_[pos_++];
      if (escaped == 'n') {
        value += '\n';
      } else if (escaped == '\\' || escaped == '"') {
        value += escaped;
      } else {
        return Error(Cat("unknown escape \\", std::string(1, escaped), " in a label value"));
      }
    }
  }

 private:
  std::string_view line_;
  size_t number_;
  size_t pos_ = 0;
};

absl::StatusOr<double> ParseValue(const LineReader& at, std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  // from_chars also reads "inf" and "nan" spellings; the format has only the ones above.
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      !std::isfinite(value)) {
    return at.Error(Cat("\"", text, "\" is not a sample value"));
  }
  return value;
}

absl::Status ParseLabels(LineReader& reader, Labels& labels) {
  while (true) {
    reader.SkipBlanks();
    if (reader.Consume('}')) return absl::OkStatus();
    const std::string_view name = reader.Name(false);
    if (name.empty() || !IsValidLabelName(name)) return reader.Error("expected a label name");
    reader.SkipBlanks();
    if (!reader.Consume('=')) return reader.Error(Cat("expected = after label ", name));
    reader.SkipBlanks();
    ASSIGN_OR_RETURN(std::string value, reader.QuotedValue());
    if (!labels.emplace(std::string(name), std::move(value)).second) {
      return reader.Error(Cat("label ", name, " appears twice"));
    }
    reader.SkipBlanks();
    if (reader.Consume(',')) continue;
    if (reader.Consume('}')) return absl::OkStatus();
    return reader.Error("expected , or } after a label");
  }
}

// "# HELP name ..." and "# TYPE name type" must name a metric; other comments are free.
absl::Status CheckComment(LineReader& reader) {
  reader.Consume('#');
  reader.SkipBlanks();
  const std::string_view keyword = reader.Name(false);
  if (keyword != "HELP" && keyword != "TYPE") return absl::OkStatus();
  reader.SkipBlanks();
  if (!IsValidMetricName(reader.Name(true))) {
    return reader.Error(Cat("# ", keyword, " without a metric name"));
  }
  if (keyword == "TYPE") {
    reader.SkipBlanks();
    static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                      "untyped"};
    if (!kTypes.contains(reader.Token())) return reader.Error("unknown metric type");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParseExposition(std::string_view text, size_t max_series) {
  std::vector<Sample> samples;
  std::set<Labels> seen;
  size_t number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++number;
    LineReader reader(line, number);
    reader.SkipBlanks();
    if (reader.AtEnd()) continue;
    if (reader.Peek() == '#') {
      RETURN_IF_ERROR(CheckComment(reader));
      continue;
    }
    Sample sample;
    const std::string_view name = reader.Name(true);
    if (!IsValidMetricName(name)) return reader.Error("expected a metric name");
    sample.labels[kMetricNameLabel] = std::string(name);
    reader.SkipBlanks();
    if (reader.Consume('{')) RETURN_IF_ERROR(ParseLabels(reader, sample.labels));
    reader.SkipBlanks();
    ASSIGN_OR_RETURN(sample.value, ParseValue(reader, reader.Token()));
    reader.SkipBlanks();
    if (!reader.AtEnd()) {
      const std::string_view stamp = reader.Token();
      int64_t ms = 0;
      const auto [end, ec] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), ms);
      if (ec != std::errc() || end != stamp.data() + stamp.size()) {
        return reader.Error(Cat("\"", stamp, "\" is not a timestamp in milliseconds"));
      }
      sample.timestamp_ms = ms;
      reader.SkipBlanks();
      if (!reader.AtEnd()) return reader.Error("unexpected text after the timestamp");
    }
    if (samples.size() >= max_series) {
      return absl::ResourceExhaustedError(Cat("the metrics text has more than ", max_series,
                                              " series, the most one alert"
                                              " evaluation reads"));
    }
    if (!seen.insert(sample.labels).second) {
      return reader.Error(Cat("series ", FormatLabels(sample.labels), " appears twice"));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace ferry::alerts
