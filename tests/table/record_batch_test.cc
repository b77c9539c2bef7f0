#include "table/record_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "table/table_profiler.h"

namespace ferry::table {
namespace {

struct ReadResult {
  absl::Status status;
  std::vector<RecordBatch> batches;
  BadRowLog bad_rows;
};

ReadResult Read(Format format, std::string_view bytes, const std::vector<std::string>& projection,
                RecordBatchOptions options = {}, size_t block = 1 << 20) {
  ProfilerOptions profiler_options;
  profiler_options.lenient = options.lenient;
  auto profile = ProfileBytes(format, bytes, profiler_options);
  EXPECT_TRUE(profile.ok()) << profile.status();
  ReadResult result;
  auto reader = RecordBatchReader::Create(format, profile->schema(), projection, options,
                                          [&](RecordBatch batch) {
                                            result.batches.push_back(std::move(batch));
                                            return absl::OkStatus();
                                          });
  EXPECT_TRUE(reader.ok()) << reader.status();
  for (size_t at = 0; at < bytes.size() && result.status.ok(); at += block) {
    result.status = (*reader)->Consume(bytes.substr(at, block));
  }
  if (result.status.ok()) result.status = (*reader)->Finish();
  result.bad_rows = (*reader)->bad_rows();
  return result;
}

constexpr std::string_view kCsv =
    "id,amount,ok,when,name,created_at\n"
    "1,1.5,true,2026-01-01T00:00:09Z,ann,1767225609\n"
    "2,,false,2026-01-02,\"b, \"\"q\"\"\",1767225610\n"
    "3,-2,TRUE,,,1767225611\n";

TEST(RecordBatchReaderTest, CsvProjectionReadsOnlyTheNamedColumnsInOrder) {
  const ReadResult r = Read(Format::kCsv, kCsv, {"name", "amount", "id", "when", "ok", "created_at"});
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.batches.size(), 1u);
  const RecordBatch& b = r.batches[0];
  EXPECT_EQ(b.num_rows, 3);
  ASSERT_EQ(b.columns.size(), 6u);
  EXPECT_EQ(b.columns[0].name, "name");

  const ColumnArray& name = *b.column("name");
  EXPECT_EQ(name.type, ColumnType::kString);
  EXPECT_EQ(name.StringAt(0), "ann");
  EXPECT_EQ(name.StringAt(1), "b, \"q\"");
  EXPECT_TRUE(name.IsNull(2));
  EXPECT_EQ(name.offsets.size(), 4u);

  const ColumnArray& amount = *b.column("amount");
  EXPECT_EQ(amount.type, ColumnType::kFloat64);
  EXPECT_EQ(amount.float64_values, (std::vector<double>{1.5, 0, -2}));
  EXPECT_EQ(amount.valid, (std::vector<uint8_t>{1, 0, 1}));

  const ColumnArray& id = *b.column("id");
  EXPECT_EQ(id.type, ColumnType::kInt64);
  EXPECT_EQ(id.int64_values, (std::vector<int64_t>{1, 2, 3}));

  const ColumnArray& ok = *b.column("ok");
  EXPECT_EQ(ok.bool_values, (std::vector<uint8_t>{1, 0, 1}));

  constexpr int64_t kNewYear = 1767225600LL * 1'000'000;
  const ColumnArray& when = *b.column("when");
  EXPECT_EQ(when.type, ColumnType::kTimestamp);
  EXPECT_EQ(when.int64_values[0], kNewYear + 9'000'000);
  EXPECT_EQ(when.int64_values[1], kNewYear + 86'400'000'000);
  EXPECT_TRUE(when.IsNull(2));

  const ColumnArray& created = *b.column("created_at");  // epoch seconds, read as micros
  EXPECT_EQ(created.int64_values, (std::vector<int64_t>{kNewYear + 9'000'000, kNewYear + 10'000'000,
                                                         kNewYear + 11'000'000}));
  // Unprojected columns are not in the batch.
  EXPECT_EQ(Read(Format::kCsv, kCsv, {"id"}).batches[0].columns.size(), 1u);
}

TEST(RecordBatchReaderTest, BatchesOfTheRequestedSizeWhateverTheBlocks) {
  std::string csv = "n,s\n";
  for (int i = 0; i < 1000; ++i) csv += std::to_string(i) + ",v" + std::to_string(i % 7) + "\n";
  RecordBatchOptions options;
  options.batch_rows = 300;
  for (size_t block : {size_t{1}, size_t{64}, csv.size()}) {
    const ReadResult r = Read(Format::kCsv, csv, {}, options, block);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.batches.size(), 4u);
    EXPECT_EQ(r.batches[3].num_rows, 100);
    int64_t expected = 0;
    for (const RecordBatch& b : r.batches) {
      for (int64_t v : b.column("n")->int64_values) EXPECT_EQ(v, expected++);
    }
    EXPECT_EQ(r.batches[1].column("s")->StringAt(0), "v6");  // row 300
  }
  // Big strings end batches early.
  options.batch_rows = 1000;
  options.max_batch_bytes = 100;
  EXPECT_GT(Read(Format::kCsv, csv, {"s"}, options).batches.size(), 10u);
}

TEST(RecordBatchReaderTest, JsonLinesMissingKeysAreNulls) {
  const std::string jsonl =
      "{\"a\": 1, \"b\": \"x\", \"c\": [1, 2]}\n"
      "{\"b\": null, \"a\": 2.5, \"skip\": {\"deep\": true}}\n"
      "{\"c\": {\"k\": \"v\"}, \"t\": \"2026-01-01\"}\n";
  const ReadResult r = Read(Format::kJsonLines, jsonl, {"c", "a", "b", "t"});
  ASSERT_TRUE(r.status.ok()) << r.status;
  const RecordBatch& b = r.batches.at(0);
  EXPECT_EQ(b.num_rows, 3);
  const ColumnArray& a = *b.column("a");
  EXPECT_EQ(a.type, ColumnType::kFloat64);
  EXPECT_EQ(a.float64_values, (std::vector<double>{1, 2.5, 0}));
  EXPECT_EQ(a.valid, (std::vector<uint8_t>{1, 1, 0}));
  const ColumnArray& c = *b.column("c");
  EXPECT_EQ(c.StringAt(0), "[1,2]");
  EXPECT_EQ(c.StringAt(2), "{\"k\":\"v\"}");
  EXPECT_TRUE(c.IsNull(1));
  EXPECT_EQ(b.column("b")->valid, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(b.column("t")->int64_values[2], 1767225600LL * 1'000'000);
}

TEST(RecordBatchReaderTest, ValuesThatDoNotFitTheSchemaNameTheLine) {
  // The schema comes from a profile of other data (say, last week's file).
  auto profile = ProfileBytes(Format::kCsv, "id,amount\n1,2.5\n");
  ASSERT_TRUE(profile.ok());
  const std::string today = "id,amount\n1,2.5\n2,n/a\n3,4\n";
  for (bool lenient : {false, true}) {
    std::vector<RecordBatch> batches;
    RecordBatchOptions options;
    options.lenient = lenient;
    auto reader = RecordBatchReader::Create(Format::kCsv, profile->schema(), {"amount"}, options,
                                            [&](RecordBatch b) {
                                              batches.push_back(std::move(b));
                                              return absl::OkStatus();
                                            });
    ASSERT_TRUE(reader.ok());
    absl::Status s = (*reader)->Consume(today);
    if (s.ok()) s = (*reader)->Finish();
    if (!lenient) {
      EXPECT_EQ(s.message(), "line 3: column \"amount\": expected float64, got \"n/a\"");
      continue;
    }
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(batches.at(0).column("amount")->float64_values, (std::vector<double>{2.5, 4}));
    EXPECT_EQ((*reader)->bad_rows().count, 1);
    EXPECT_EQ((*reader)->bad_rows().first.at(0).line, 3);
    EXPECT_EQ((*reader)->rows(), 2);
  }
}

TEST(RecordBatchReaderTest, CreateAndHeaderErrors) {
  Schema schema{{{"a", ColumnType::kInt64, TimeEncoding::kNone}}};
  const auto sink = [](RecordBatch) { return absl::OkStatus(); };
  EXPECT_EQ(RecordBatchReader::Create(Format::kCsv, schema, {"b"}, {}, sink).status().message(),
            "projected column \"b\" is not in the schema");
  EXPECT_FALSE(RecordBatchReader::Create(Format::kCsv, schema, {"a", "a"}, {}, sink).ok());
  EXPECT_FALSE(RecordBatchReader::Create(Format::kOpaque, schema, {}, {}, sink).ok());
  auto reader = RecordBatchReader::Create(Format::kCsv, schema, {"a"}, {}, sink);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Consume("x,y\n1,2\n").message(), "the CSV header has no column \"a\"");
}

TEST(RecordBatchReaderTest, SinkErrorsStopReading) {
  auto profile = ProfileBytes(Format::kCsv, "a\n1\n2\n");
  RecordBatchOptions options;
  options.batch_rows = 1;
  auto reader = RecordBatchReader::Create(Format::kCsv, profile->schema(), {}, options,
                                          [](RecordBatch) { return absl::CancelledError("enough"); });
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Consume("a\n1\n2\n").code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ferry::table
