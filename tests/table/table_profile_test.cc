#include "table/table_profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "table/format.h"
#include "table/profile_diff.h"
#include "table/table_profiler.h"

namespace ferry::table {
namespace {

// A CSV with every column type, enough rows to push the sketches past their exact
// phases (HyperLogLog registers, KLL compaction and sampling, top-value evictions).
std::string MixedCsv(int rows, uint64_t seed, double amount_scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::string csv = "id,amount,flag,event_time,city,note,created_at\n";
  for (int i = 0; i < rows; ++i) {
    csv += std::to_string(i) + ",";
    csv += std::to_string(static_cast<double>(rng() % 100000) / 100.0 * amount_scale) + ",";
    csv += (rng() % 3 == 0 ? "true," : "false,");
    csv += "2026-01-0" + std::to_string(1 + rng() % 9) + "T12:00:0" + std::to_string(rng() % 10) + "Z,";
    csv += (rng() % 10 == 0 ? std::string() : "city" + std::to_string(rng() % 200)) + ",";
    csv += "\"note " + std::to_string(rng()) + ", \"\"quoted\"\"\",";
    csv += std::to_string(1767225600 + i) + "\n";
  }
  return csv;
}

TableProfile Profile(std::string_view bytes, Format format = Format::kCsv,
                     const ProfilerOptions& options = {}) {
  auto profile = ProfileBytes(format, bytes, options);
  EXPECT_TRUE(profile.ok()) << profile.status();
  return profile.ok() ? *std::move(profile) : TableProfile();
}

TEST(TableProfileTest, JsonRoundTripIsExact) {
  const TableProfile profile = Profile(MixedCsv(50'000, 1));
  ASSERT_EQ(profile.columns.size(), 7u);
  EXPECT_EQ(profile.column("amount")->type, ColumnType::kFloat64);
  EXPECT_EQ(profile.column("created_at")->time_encoding, TimeEncoding::kEpochSeconds);
  EXPECT_FALSE(profile.column("id")->distinct.exact());
  const std::string json = profile.ToJson();
  auto loaded = TableProfile::FromJson(json);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == profile);
  EXPECT_EQ(loaded->ToJson(), json);
  // Loaded sketches keep working: merging the reference with itself doubles counts.
  KllSketch quantiles = loaded->column("amount")->numeric->quantiles;
  ASSERT_TRUE(quantiles.Merge(profile.column("amount")->numeric->quantiles).ok());
  EXPECT_EQ(quantiles.n(), 100'000u);
}

TEST(TableProfileTest, LongColumnsRoundTrip) {
  // 400,000 values per column: the quantile sketches sample (a bug once counted values
  // twice there, and only FromJson noticed).
  std::string csv = "x,t\n";
  for (int i = 0; i < 400'000; ++i) {
    csv += std::to_string(i % 9973) + ".25,2026-01-01T00:00:" + std::to_string(10 + i % 50) + "Z\n";
  }
  const TableProfile profile = Profile(csv);
  EXPECT_EQ(profile.column("x")->numeric->quantiles.n(), 400'000u);
  auto loaded = TableProfile::FromJson(profile.ToJson());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == profile);
}

TEST(TableProfileTest, LongStringsSharingTheirFirstBytesRoundTripAndCountAsDistinct) {
  // Found by the csv_reader fuzz harness: two values longer than the top-value limit with
  // the same first 256 bytes gave a profile that did not read back.
  const std::string base(300, 'x');
  const TableProfile profile = Profile("a\n" + base + "1\n" + base + "2\n" + base + "1\n");
  const ColumnProfile* a = profile.column("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->distinct.Estimate(), 2.0);  // the whole values, not their shared prefix
  auto loaded = TableProfile::FromJson(profile.ToJson());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == profile);
}

TEST(TableProfileTest, JsonLinesProfileRoundTrips) {
  std::string jsonl;
  for (int i = 0; i < 3000; ++i) {
    jsonl += "{\"id\": " + std::to_string(i) + ", \"v\": " + std::to_string(i * 0.5) +
             ", \"tags\": [" + std::to_string(i % 5) + "], \"s\": \"x" + std::to_string(i % 70) + "\"}\n";
  }
  const TableProfile profile = Profile(jsonl, Format::kJsonLines);
  EXPECT_EQ(profile.format, Format::kJsonLines);
  EXPECT_EQ(profile.row_count, 3000);
  auto loaded = TableProfile::FromJson(profile.ToJson());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == profile);
}

TEST(TableProfileTest, FromJsonNamesWhatIsWrong) {
  const std::string json = Profile("a,b\n1,x\n2,y\n").ToJson();
  const auto replaced = [&](std::string_view from, std::string_view to) {
    std::string s = json;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_EQ(TableProfile::FromJson("{").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TableProfile::FromJson(replaced("\"format_version\":1", "\"format_version\":9")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TableProfile::FromJson(replaced("\"hash_version\":1", "\"hash_version\":2")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TableProfile::FromJson(replaced("\"type\":\"int64\"", "\"type\":\"decimal\"")).status().message(),
            "profile JSON: $.columns[0].type: unknown type \"decimal\"");
  EXPECT_EQ(TableProfile::FromJson(replaced("\"k\":200,\"n\":2,", "\"k\":200,\"n\":3,")).status().message(),
            "profile JSON: $.columns[0].sketches.kll: kll: retained items weigh 2 but n is 3");
  EXPECT_EQ(TableProfile::FromJson(replaced("\"row_count\":2", "\"row_count\":\"2\"")).status().message(),
            "profile JSON: $.row_count: expected an integer");
}

TEST(TableProfileTest, HistogramCountsSumToTheValues) {
  const TableProfile profile = Profile(MixedCsv(20'000, 2));
  for (const char* name : {"amount", "id", "event_time", "created_at"}) {
    const Histogram h = profile.column(name)->MakeHistogram(32);
    ASSERT_EQ(h.edges.size(), h.counts.size() + 1) << name;
    int64_t total = 0;
    for (int64_t c : h.counts) total += c;
    EXPECT_EQ(total, 20'000) << name;
  }
  // Small integer ranges get one bin per value, with exact counts while the sketch is.
  const TableProfile small = Profile("x\n1\n2\n2\n3\n3\n3\n");
  const Histogram h = small.column("x")->MakeHistogram();
  EXPECT_EQ(h.counts, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(h.edges, (std::vector<double>{0.5, 1.5, 2.5, 3.5}));
  EXPECT_TRUE(small.column("x")->MakeHistogram().edges.size() == 4);
  EXPECT_TRUE(Profile("s\na\n").column("s")->MakeHistogram().counts.empty());
}

TEST(TableProfileTest, LateTypeChangesKeepExactCounts) {
  // Column "v" is int64 for 2,000 rows (many batches), float64 for 500 more, then a
  // string turns it into a string column 2,501 rows in; "w" widens from int64 to float64
  // only. Every 7th row is null in both. Whatever batches the fields came in, the
  // counts, lengths and distinct values are those of the text, and the top values keep
  // their guarantee.
  std::string csv = "v,w\n";
  std::map<std::string, int64_t> truth;
  LengthStats lengths{1 << 30, 0, 0};
  double w_min = 1e300, w_max = -1e300, w_sum = 0;
  int64_t w_count = 0;
  const auto add = [&](const std::string& v, const std::string& w) {
    csv += v + "," + w + "\n";
    if (!v.empty()) {
      ++truth[v];
      const auto size = static_cast<int64_t>(v.size());
      lengths = {std::min(lengths.min, size), std::max(lengths.max, size), lengths.total + size};
    }
    if (!w.empty()) {
      const double x = std::stod(w);
      w_min = std::min(w_min, x);
      w_max = std::max(w_max, x);
      w_sum += x;
      ++w_count;
    }
  };
  for (int i = 0; i < 3000; ++i) {
    const bool null = i % 7 == 3;
    const std::string v = i < 2000 ? std::to_string(i % 50) : i < 2500 ? std::to_string(i) + ".5"
                          : i == 2500                        ? "n/a"
                                                             : std::to_string(i % 3);
    const std::string w = i < 2900 ? std::to_string(i) : std::to_string(i) + ".25";
    add(null ? "" : v, null ? "" : w);
  }
  const TableProfile whole = Profile(csv);
  const ColumnProfile& v = *whole.column("v");
  EXPECT_EQ(v.type, ColumnType::kString);
  EXPECT_FALSE(v.numeric.has_value());
  int64_t count = 0;
  for (const auto& [text, n] : truth) count += n;
  EXPECT_EQ(v.count, count);
  EXPECT_EQ(v.null_count, 3000 - count);
  EXPECT_EQ(v.length, lengths);
  ASSERT_TRUE(v.distinct.exact());
  EXPECT_EQ(v.distinct.Estimate(), static_cast<double>(truth.size()));
  ASSERT_TRUE(v.top_values.has_value());
  for (const TopValues::Item& item : v.top_values->Items()) {
    EXPECT_LE(item.count, truth[item.value]) << item.value;
    EXPECT_GE(item.count + v.top_values->max_error(), truth[item.value]) << item.value;
  }
  const ColumnProfile& w = *whole.column("w");
  EXPECT_EQ(w.type, ColumnType::kFloat64);
  EXPECT_EQ(w.count, w_count);
  ASSERT_TRUE(w.numeric.has_value());
  EXPECT_EQ(w.numeric->min, w_min);
  EXPECT_EQ(w.numeric->max, w_max);
  EXPECT_NEAR(w.numeric->moments.mean, w_sum / static_cast<double>(w_count), 1e-9);
  // Any split into blocks gives the same profile, to the byte.
  for (size_t block : {size_t{1}, size_t{100}, size_t{4096}}) {
    auto profiler = TableProfiler::Create(Format::kCsv, {});
    ASSERT_TRUE(profiler.ok());
    for (size_t at = 0; at < csv.size(); at += block) {
      ASSERT_TRUE((*profiler)->Consume(std::string_view(csv).substr(at, block)).ok());
    }
    auto profile = (*profiler)->Finish();
    ASSERT_TRUE(profile.ok()) << profile.status();
    EXPECT_EQ(profile->ToJson(), whole.ToJson()) << "block " << block;
  }
}

TEST(TableProfileTest, StringColumnsKeepNoNumericJunk) {
  std::string csv = "code\n";
  for (int i = 0; i < 1000; ++i) csv += std::to_string(i) + "\n";
  csv += "N/A\n";
  const TableProfile profile = Profile(csv);
  const ColumnProfile& code = *profile.column("code");
  EXPECT_EQ(code.type, ColumnType::kString);
  EXPECT_FALSE(code.numeric.has_value());
  EXPECT_EQ(code.count, 1001);
  EXPECT_EQ(code.distinct.Estimate(), 1001);
  // Top values stopped at the 65th distinct number, so their counts may fall short by
  // the 936 values never counted; the bound says so.
  ASSERT_TRUE(code.top_values.has_value());
  EXPECT_GE(code.top_values->max_error(), 936);
}

TEST(TableProfileTest, ColumnsThatStopLookingBooleanRoundTrip) {
  // Found by fuzz/csv_reader: "true" then "yes please" made a string column that kept
  // the bool counts, which ToJson leaves out, so the profile did not read back equal.
  for (const char* csv : {"flag\ntrue\nyes please\n", "flag,n\nfalse,1\n7,2\n"}) {
    SCOPED_TRACE(csv);
    const TableProfile profile = Profile(csv);
    const ColumnProfile& flag = *profile.column("flag");
    EXPECT_NE(flag.type, ColumnType::kBool);
    EXPECT_EQ(flag.true_count, 0);
    EXPECT_EQ(flag.false_count, 0);
    auto loaded = TableProfile::FromJson(profile.ToJson());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(*loaded == profile);
  }
}

TEST(TableProfileTest, LowCardinalityNumbersKeepExactTopValues) {
  std::string csv = "is_fraud,amount\n";
  for (int i = 0; i < 5000; ++i) csv += (i % 50 == 0 ? "1," : "0,") + std::to_string(i) + ".5\n";
  const TableProfile profile = Profile(csv);
  const ColumnProfile& fraud = *profile.column("is_fraud");
  ASSERT_TRUE(fraud.top_values.has_value());
  EXPECT_EQ(fraud.top_values->max_error(), 0);
  EXPECT_EQ(fraud.top_values->Items(),
            (std::vector<TopValues::Item>{{"0", 4900, false}, {"1", 100, false}}));
  EXPECT_FALSE(profile.column("amount")->top_values.has_value());
}

TEST(TableProfileTest, SampleIsBoundedAndDeterministic) {
  ProfilerOptions options;
  options.sample_rows = 100;
  options.seed = 7;
  const std::string csv = MixedCsv(5000, 3);
  const TableProfile a = Profile(csv, Format::kCsv, options);
  EXPECT_EQ(a.sample.rows().size(), 100u);
  EXPECT_EQ(a.sample.seen(), 5000u);
  EXPECT_TRUE(a == Profile(csv, Format::kCsv, options));
  options.seed = 8;
  EXPECT_FALSE(a.sample == Profile(csv, Format::kCsv, options).sample);
  // Wide tables sample fewer rows: rows x columns <= max_sample_cells.
  options.max_sample_cells = 70;
  EXPECT_EQ(Profile(csv, Format::kCsv, options).sample.capacity(), 10u);
}

TEST(TableProfileTest, LenientKeepsTheFirstBadLines) {
  std::string csv = "a,b\n";
  for (int i = 0; i < 30; ++i) csv += i % 2 ? "1,2\n" : "1\n";
  ProfilerOptions options;
  options.lenient = true;
  const TableProfile profile = Profile(csv, Format::kCsv, options);
  EXPECT_EQ(profile.row_count, 15);
  EXPECT_EQ(profile.bad_row_count, 15);
  ASSERT_EQ(profile.bad_rows.size(), BadRowLog::kKept);
  EXPECT_EQ(profile.bad_rows[1], (BadRow{4, "expected 2 fields, got 1"}));
}

TEST(TableProfilerTest, BytesMayChangeOnceConsumeReturns) {
  // Unique notes keep the top-value counters churning, so values are kept (and must be
  // copied) in every block.
  const std::string csv = MixedCsv(20'000, 5);
  for (size_t block : {size_t{1000}, size_t{4096}, size_t{65'536}}) {
    auto profiler = TableProfiler::Create(Format::kCsv, {});
    ASSERT_TRUE(profiler.ok());
    std::string scratch;
    for (size_t at = 0; at < csv.size(); at += block) {
      scratch.assign(csv, at, block);
      ASSERT_TRUE((*profiler)->Consume(scratch).ok());
      scratch.assign(scratch.size(), '#');
    }
    auto profile = (*profiler)->Finish();
    ASSERT_TRUE(profile.ok()) << profile.status();
    EXPECT_EQ(profile->ToJson(), Profile(csv).ToJson()) << "block " << block;
  }
}

TEST(TableProfilerTest, CreateAndFinishContracts) {
  EXPECT_EQ(TableProfiler::Create(Format::kOpaque, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ProfilerOptions bad;
  bad.kll_k = 2;
  EXPECT_FALSE(TableProfiler::Create(Format::kCsv, bad).ok());
  auto profiler = TableProfiler::Create(Format::kCsv, {});
  ASSERT_TRUE(profiler.ok());
  ASSERT_TRUE((*profiler)->Consume("a\n1\n").ok());
  ASSERT_TRUE((*profiler)->Finish().ok());
  EXPECT_EQ((*profiler)->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TableProfilerTest, JsonLinesColumnLimit) {
  ProfilerOptions options;
  options.limits.max_columns = 2;
  EXPECT_EQ(ProfileBytes(Format::kJsonLines, "{\"a\":1,\"b\":2}\n{\"c\":3}\n", options).status().message(),
            "line 2: more than 2 distinct keys in the file");
}

TEST(FormatTest, DetectedFromTheFileName) {
  EXPECT_EQ(DetectFormat("data.csv"), Format::kCsv);
  EXPECT_EQ(DetectFormat("/x/y/DATA.CSV"), Format::kCsv);
  EXPECT_EQ(DetectFormat("events.jsonl"), Format::kJsonLines);
  EXPECT_EQ(DetectFormat("events.NDJSON"), Format::kJsonLines);
  for (const char* opaque : {"model.bin", "data.csv.gz", "data.json", "csv", ".csv", "dir.csv/file",
                             "data.parquet", ""}) {
    EXPECT_EQ(DetectFormat(opaque), Format::kOpaque) << opaque;
  }
  EXPECT_EQ(FormatName(Format::kJsonLines), "jsonl");
  EXPECT_EQ(ParseFormatName("csv"), Format::kCsv);
}

TEST(ProfileDiffTest, SameBytesGiveAnEmptyDiff) {
  const std::string csv = MixedCsv(2000, 4);
  const ProfileDiff diff = DiffProfiles(Profile(csv), Profile(csv));
  EXPECT_TRUE(diff.empty());
  EXPECT_EQ(diff.ToText(), "no changes\n");
}

TEST(ProfileDiffTest, ListsSchemaRowAndStatisticChanges) {
  const TableProfile before = Profile("id,amount,city,gone\n1,10,a,x\n2,20,b,y\n3,30,,z\n");
  const TableProfile after =
      Profile("id,amount,city,extra\n1,10.5,a,1\nx,40,b,2\n3,60,c,3\n4,80,d,4\n");
  const ProfileDiff diff = DiffProfiles(before, after);
  EXPECT_FALSE(diff.empty());
  EXPECT_EQ(diff.rows_before, 3);
  EXPECT_EQ(diff.rows_after, 4);
  ASSERT_EQ(diff.added_columns.size(), 1u);
  EXPECT_EQ(diff.added_columns[0].name, "extra");
  ASSERT_EQ(diff.removed_columns.size(), 1u);
  EXPECT_EQ(diff.removed_columns[0].name, "gone");
  ASSERT_EQ(diff.type_changes.size(), 2u);
  EXPECT_EQ(diff.type_changes[0].column, "id");
  EXPECT_EQ(diff.type_changes[0].after, ColumnType::kString);
  EXPECT_EQ(diff.type_changes[1].column, "amount");
  EXPECT_EQ(diff.type_changes[1].after, ColumnType::kFloat64);
  const auto find = [&](const std::string& column, const std::string& statistic) -> const StatisticChange* {
    for (const auto& c : diff.changes) {
      if (c.column == column && c.statistic == statistic) return &c;
    }
    return nullptr;
  };
  ASSERT_NE(find("amount", "mean"), nullptr);
  EXPECT_EQ(find("amount", "mean")->before, 20);
  EXPECT_EQ(find("amount", "mean")->after, 47.625);
  ASSERT_NE(find("city", "null_rate"), nullptr);
  EXPECT_DOUBLE_EQ(find("city", "null_rate")->before, 1.0 / 3);
  EXPECT_EQ(find("city", "null_rate")->after, 0);
  EXPECT_EQ(find("id", "mean"), nullptr);  // retyped: only null rate and distinct compared
  ASSERT_NE(find("id", "distinct"), nullptr);
  const std::string text = diff.ToText();
  EXPECT_NE(text.find("rows: 3 -> 4 (+33.3%)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("+ column extra: int64\n"), std::string::npos) << text;
  EXPECT_NE(text.find("- column gone: string\n"), std::string::npos) << text;
  EXPECT_NE(text.find("~ column amount: int64 -> float64\n"), std::string::npos) << text;
  EXPECT_NE(text.find("amount.mean: 20 -> 47.625 (+138.1%)\n"), std::string::npos) << text;
  EXPECT_NE(diff.ToJson().find("\"added_columns\":[{\"name\":\"extra\",\"type\":\"int64\"}]"),
            std::string::npos);
}

TEST(ProfileDiffTest, TimestampStatisticsPrintAsTimes) {
  const ProfileDiff diff = DiffProfiles(Profile("t\n2026-01-01\n2026-01-03\n"),
                                        Profile("t\n2026-01-02\n2026-01-04\n"));
  const std::string text = diff.ToText();
  EXPECT_NE(text.find("t.mean: 2026-01-02T00:00:00.000000Z -> 2026-01-03T00:00:00.000000Z (+1.0d)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("t.stddev"), std::string::npos) << text;  // both 1.4d: unchanged
}

}  // namespace
}  // namespace ferry::table
