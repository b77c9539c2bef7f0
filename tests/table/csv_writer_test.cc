#include "table/csv_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#include "table/value_parse.h"

namespace ferry::table {
namespace {

// Writes one row through a pipe and returns the text.
template <typename Fill>
std::string Row(Fill fill) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  {
    CsvWriter writer(fds[1]);
    fill(writer);
    EXPECT_TRUE(writer.EndRow().ok());
    EXPECT_TRUE(writer.Flush().ok());
  }
  ::close(fds[1]);
  std::string text;
  char buffer[256];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
  ::close(fds[0]);
  return text;
}

TEST(CsvWriterTest, QuotesOnlyWhatMustBeQuoted) {
  EXPECT_EQ(Row([](CsvWriter& w) {
              w.String("plain");
              w.String("a,b");
              w.String("say \"hi\"");
              w.String("two\nlines");
              w.String("");
              w.String(" padded");
              w.Null();
            }),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\",\" padded\",\n");
}

TEST(CsvWriterTest, NumbersRoundTripAndStayTyped) {
  EXPECT_EQ(Row([](CsvWriter& w) {
              w.Int64(-42);
              w.Float64(13.0);
              w.Float64(0.1);
              w.Float64(1e300);
              w.Float64(std::numeric_limits<double>::quiet_NaN());
              w.Bool(true);
            }),
            "-42,13.0,0.1,1e+300,,true\n");
  for (double v : {0.1, 1.0 / 3.0, 123456789.125, -2.5e-10}) {
    std::string text = Row([v](CsvWriter& w) { w.Float64(v); });
    text.pop_back();
    EXPECT_EQ(ParseFloat64(text), v) << text;
  }
}

TEST(CsvWriterTest, TimestampsAreIso8601Utc) {
  std::string out;
  AppendIsoTimestamp(out, 0);
  EXPECT_EQ(out, "1970-01-01T00:00:00Z");
  out.clear();
  AppendIsoTimestamp(out, 1'767'225'600'250'000);
  EXPECT_EQ(out, "2026-01-01T00:00:00.250000Z");
  out.clear();
  AppendIsoTimestamp(out, -1);
  EXPECT_EQ(out, "1969-12-31T23:59:59.999999Z");
  out.clear();
  AppendIsoTimestamp(out, 951'782'400'000'000);  // a leap day
  EXPECT_EQ(out, "2000-02-29T00:00:00Z");
  for (int64_t micros : {int64_t{0}, int64_t{1'767'225'622'000'000}, int64_t{-86'400'000'001}}) {
    out.clear();
    AppendIsoTimestamp(out, micros);
    EXPECT_EQ(ParseTimestamp(out), micros) << out;
  }
}

}  // namespace
}  // namespace ferry::table
