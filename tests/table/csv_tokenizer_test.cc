#include "table/csv_tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ferry::table {
namespace {

struct Record {
  int64_t line;
  std::vector<std::string> fields;
  friend bool operator==(const Record&, const Record&) = default;
};

// Collects what a tokenizer hands over.
class Collector : public CsvTokenizer::Handler {
 public:
  absl::Status OnHeader(std::span<const std::string> names) override {
    header.assign(names.begin(), names.end());
    return absl::OkStatus();
  }
  absl::Status OnRecords(const CsvRecords& batch) override {
    for (size_t r = 0; r < batch.size(); ++r) {
      Record& record = records.emplace_back(Record{batch.line(r), {}});
      for (size_t c = 0; c < batch.columns(); ++c) record.fields.emplace_back(batch.field(r, c));
    }
    return absl::OkStatus();
  }
  std::vector<std::string> header;
  std::vector<Record> records;
};

struct Result {
  absl::Status status;
  std::vector<std::string> header;
  std::vector<Record> records;
  int64_t bad_rows = 0;
};

Result Tokenize(std::string_view bytes, size_t block, ErrorMode mode = ErrorMode::kStrict,
                const InputLimits& limits = {}) {
  Collector collector;
  CsvTokenizer tokenizer(mode, limits, collector);
  Result result;
  for (size_t at = 0; at < bytes.size() && result.status.ok(); at += block) {
    result.status = tokenizer.Consume(bytes.substr(at, block));
  }
  if (result.status.ok()) result.status = tokenizer.Finish();
  result.header = collector.header;
  result.records = collector.records;
  result.bad_rows = tokenizer.bad_rows().count;
  return result;
}

// A deliberately simple reader of well-formed RFC 4180 text, to check the tokenizer on
// large random inputs against.
std::vector<Record> ReferenceParse(const std::string& text) {
  std::vector<Record> out;
  std::vector<std::string> fields;
  std::string field;
  int64_t line = 1;
  int64_t record_line = 1;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\n') {
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(field);
      if (fields.size() > 1 || !fields[0].empty() || any) out.push_back({record_line, fields});
      fields.clear();
      field.clear();
      any = false;
      record_line = ++line;
    } else {
      field += c;
    }
  }
  if (!field.empty() || !fields.empty() || any) {
    fields.push_back(field);
    out.push_back({record_line, fields});
  }
  return out;
}

// Random CSV: plain, empty, quoted (with commas, quotes, CR and LF inside) and long
// fields, CR inside unquoted fields, occasional non-ASCII text, and LF, CRLF or CR CRLF
// line ends (the last field then ends in a CR of its own), with empty lines between
// some records. With `kinds` above 11, plain numbers are more common, so quote-free
// 64-byte blocks (the fast path) alternate with quoted fields.
std::string RandomCsv(uint64_t seed, int rows, int columns, int kinds = 11) {
  std::mt19937_64 rng(seed);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::string out;
  for (int r = 0; r <= rows; ++r) {
    bool quoted_last = false;
    for (int c = 0; c < columns; ++c) {
      if (c > 0) out += ',';
      if (r == 0) {
        out += "col" + std::to_string(c);
        continue;
      }
      const int kind = pick(kinds);
      quoted_last = kind == 1 || kind == 2 || kind == 5;
      switch (kind) {
        case 0:
          break;  // empty
        case 1:
          out += "\"a,b\"\"c\"";
          break;
        case 2:
          out += "\"multi\nline\r\nfield\"";
          break;
        case 3:
          out += "caf\xc3\xa9-\xe6\x97\xa5";
          break;
        case 4:
          out += std::string(static_cast<size_t>(50 + pick(150)), static_cast<char>('a' + pick(26)));
          break;
        case 5:
          out += "\"\"";
          break;
        case 6:
          out += "x\ry";
          break;
        default:
          out += std::to_string(rng() % 100000);
      }
    }
    const int end = pick(8);
    out += end < 2 ? "\r\n" : end == 2 && !quoted_last && r > 0 ? "\r\r\n" : "\n";
    if (r > 0 && pick(20) == 0) out += pick(2) ? "\n" : "\r\n";  // an empty line
  }
  return out;
}

TEST(CsvTokenizerTest, MatchesReferenceOnRandomInputWhateverTheBlockSize) {
  for (uint64_t seed : {0, 1, 2, 3, 4, 5, 6}) {
    const std::string csv = RandomCsv(seed, 2000, 1 + static_cast<int>(seed % 4) * 3,
                                      seed < 4 ? 11 : 80);
    std::vector<Record> expected = ReferenceParse(csv);
    const std::vector<std::string> header = expected.front().fields;
    expected.erase(expected.begin());
    for (size_t block : {size_t{1}, size_t{7}, size_t{63}, size_t{64}, size_t{65}, size_t{1000},
                         size_t{65536}, csv.size()}) {
      const Result r = Tokenize(csv, block);
      ASSERT_TRUE(r.status.ok()) << r.status << " block " << block;
      EXPECT_EQ(r.header, header);
      ASSERT_EQ(r.records.size(), expected.size()) << "block " << block;
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(r.records[i], expected[i]) << "record " << i << " block " << block;
      }
    }
  }
}

TEST(CsvTokenizerTest, ErrorLineNumbersInLongInputs) {
  // Past the 64-byte fast path: the error sits far into the file, after multi-line
  // records, and must be reported at its own line.
  std::string csv = "a,b\n";
  int64_t line = 2;
  for (int i = 0; i < 500; ++i) {
    csv += i % 10 == 0 ? "\"x\ny\",1\n" : "12345,67890\n";
    line += i % 10 == 0 ? 2 : 1;
  }
  const std::string bad_line = std::to_string(line);
  for (const auto& [tail, message] : std::vector<std::pair<std::string, std::string>>{
           {"1,2,3\n", "expected 2 fields, got 3"},
           {"x\"y,2\n", "field 1: quote inside an unquoted field"},
           {"\"x\"y,2\n", "field 1: unexpected character after a closing quote"},
           {"1,\xff\n", "field 2: invalid UTF-8"},
           {"1,\"open\n2,3\n", "field 2: quoted field not closed at end of file"}}) {
    for (size_t block : {size_t{1}, size_t{64}, size_t{4096}}) {
      const Result r = Tokenize(csv + tail + "4,5\n", block);
      EXPECT_EQ(r.status.message(), "line " + bad_line + ": " + message) << "block " << block;
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(CsvTokenizerTest, NonAsciiInvalidBytesFoundInFastPathBlocks) {
  // An invalid byte in the middle of an otherwise quote-free 64-byte block, preceded by
  // valid multi-byte text in an earlier record of the same block.
  std::string csv = "a,b\n";
  for (int i = 0; i < 50; ++i) csv += "caf\xc3\xa9,1234567890\n";
  csv += "ok,12\xe2\x82\n";  // truncated 3-byte sequence
  for (int i = 0; i < 50; ++i) csv += "plain,1\n";
  const Result r = Tokenize(csv, csv.size());
  EXPECT_EQ(r.status.message(), "line 52: field 2: invalid UTF-8");
  const Result lenient = Tokenize(csv, 64, ErrorMode::kLenient);
  ASSERT_TRUE(lenient.status.ok());
  EXPECT_EQ(lenient.bad_rows, 1);
  EXPECT_EQ(lenient.records.size(), 100u);
}

TEST(CsvTokenizerTest, FieldAndRecordLimits) {
  InputLimits limits;
  limits.max_field_bytes = 10;
  limits.max_record_bytes = 100;
  limits.max_columns = 3;
  EXPECT_EQ(Tokenize("a,b\n12345678901,1\n", 4, ErrorMode::kStrict, limits).status.message(),
            "line 2: field 1 is longer than 10 bytes");
  const Result lenient = Tokenize("a,b\n12345678901,1\n1,2\n", 4, ErrorMode::kLenient, limits);
  EXPECT_TRUE(lenient.status.ok());
  EXPECT_EQ(lenient.bad_rows, 1);
  EXPECT_EQ(lenient.records.size(), 1u);
  EXPECT_EQ(Tokenize("a,b,c,d\n", 4, ErrorMode::kStrict, limits).status.message(),
            "line 1: header: 4 fields, more than the limit of 3");
  // A record longer than max_record_bytes is fatal even when lenient: it cannot be held.
  const std::string unterminated = "a\n\"" + std::string(200, 'x');
  for (size_t block : {size_t{7}, size_t{64}, unterminated.size()}) {
    const Result r = Tokenize(unterminated, block, ErrorMode::kLenient, limits);
    EXPECT_EQ(r.status.message(), "line 2: record longer than 100 bytes (is a quote never closed?)")
        << "block " << block;
  }
}

TEST(CsvTokenizerTest, RecordLimitDoesNotDependOnBlockSizes) {
  // Found by fuzz/csv_reader. The quote-free 64-byte fast path refused a record whose
  // 64-byte block merely reached past max_record_bytes, and a quoting error past the
  // limit was a skippable row in one block but the fatal limit in small blocks.
  InputLimits limits;
  limits.max_record_bytes = 100;
  // Records of 99 bytes (the most the limit allows) ending anywhere in a 64-byte block.
  std::string fits = "a,b\n";
  for (int i = 0; i < 64; ++i) fits += std::string(50, 'x') + "," + std::string(48, 'y') + "\n";
  // A quote error at byte 150 of a record: the record is too long before it.
  const std::string quote_past_limit = "a\n\"" + std::string(148, 'x') + "\"z\n1\n";
  for (size_t block : {size_t{1}, size_t{7}, size_t{64}, size_t{65}, size_t{1} << 20}) {
    SCOPED_TRACE(block);
    const Result r = Tokenize(fits, block, ErrorMode::kStrict, limits);
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.records.size(), 64u);
    for (ErrorMode mode : {ErrorMode::kStrict, ErrorMode::kLenient}) {
      EXPECT_EQ(Tokenize(quote_past_limit, block, mode, limits).status.message(),
                "line 2: record longer than 100 bytes (is a quote never closed?)");
    }
  }
}

TEST(CsvTokenizerTest, ErrorsAreSticky) {
  Collector collector;
  CsvTokenizer tokenizer(ErrorMode::kStrict, {}, collector);
  EXPECT_FALSE(tokenizer.Consume("a,b\n1\n").ok());
  EXPECT_FALSE(tokenizer.Consume("1,2\n").ok());
  EXPECT_FALSE(tokenizer.Finish().ok());
}

TEST(CsvTokenizerTest, HandlerErrorsStopReading) {
  class Failing : public Collector {
   public:
    absl::Status OnRecords(const CsvRecords&) override { return absl::CancelledError("stop"); }
  } failing;
  CsvTokenizer tokenizer(ErrorMode::kStrict, {}, failing);
  EXPECT_EQ(tokenizer.Consume("a\n1\n").code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ferry::table
