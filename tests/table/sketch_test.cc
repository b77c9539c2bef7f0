// The table sketches against exact answers, with fixed seeds: KLL rank error,
// HyperLogLog relative error, Misra-Gries guarantees, merges, serialized parts.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "table/base64.h"
#include "table/distinct_sketch.h"
#include "table/hash.h"
#include "table/kll_sketch.h"
#include "table/moments.h"
#include "table/row_sample.h"
#include "table/top_values.h"

namespace ferry::table {
namespace {

// The KLL bound documented in kll_sketch.h for k = 200.
constexpr double kKllRankError = 0.0133;

// Largest |estimated rank - true rank| over 1,000 query points spread over the data.
double MaxRankError(const KllSketch& sketch, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const KllSketch::SortedView view = sketch.View();
  double worst = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = values[values.size() * static_cast<size_t>(i) / 1000];
    const double truth = static_cast<double>(std::upper_bound(values.begin(), values.end(), x) -
                                             values.begin()) / static_cast<double>(values.size());
    worst = std::max(worst, std::fabs(view.Rank(x) - truth));
  }
  return worst;
}

std::vector<double> Stream(const std::string& kind, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(n);
  if (kind == "uniform") {
    for (double& x : v) x = std::uniform_real_distribution<double>(0, 1)(rng);
  } else if (kind == "ascending") {
    std::iota(v.begin(), v.end(), 0.0);
  } else if (kind == "descending") {
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(n - i);
  } else if (kind == "lognormal_duplicates") {
    for (double& x : v) x = std::round(std::lognormal_distribution<double>(3, 1)(rng));
  }
  return v;
}

TEST(KllSketchTest, RankErrorWithinBoundOnAMillionValues) {
  for (const std::string kind : {"uniform", "ascending", "descending", "lognormal_duplicates"}) {
    for (uint64_t seed : {1, 2}) {
      const std::vector<double> values = Stream(kind, 1'000'000, seed);
      KllSketch sketch(KllSketch::kDefaultK, seed);
      for (double x : values) sketch.Update(x);
      sketch.Flush();
      EXPECT_EQ(sketch.n(), values.size());
      EXPECT_EQ(sketch.min(), *std::min_element(values.begin(), values.end()));
      EXPECT_EQ(sketch.max(), *std::max_element(values.begin(), values.end()));
      EXPECT_LT(MaxRankError(sketch, values), kKllRankError) << kind << " seed " << seed;
      // Bounded memory: about 3k items (the capacities' sum), not a million.
      size_t retained = 0;
      for (const auto& level : sketch.levels()) retained += level.size();
      EXPECT_LT(retained, 3u * KllSketch::kDefaultK + 100) << kind;
    }
  }
}

TEST(KllSketchTest, BatchUpdatesEqualSingleUpdates) {
  // Long enough for the sampler to start and to change its block size mid-batch.
  const std::vector<double> values = Stream("uniform", 2'000'000, 11);
  KllSketch single(KllSketch::kDefaultK, 11);
  for (double x : values) single.Update(x);
  KllSketch batched(KllSketch::kDefaultK, 11);
  for (size_t batch : {size_t{128}, size_t{512}, size_t{1000}}) {
    batched = KllSketch(KllSketch::kDefaultK, 11);
    for (size_t i = 0; i < values.size(); i += batch) {
      batched.UpdateBatch(&values[i], std::min<size_t>(batch, values.size() - i));
    }
    EXPECT_TRUE(batched == single) << "batch " << batch;
  }
  batched.Flush();
  EXPECT_EQ(batched.n(), values.size());
  EXPECT_TRUE(KllSketch::FromParts(batched.k(), batched.n(), batched.min(), batched.max(),
                                   batched.levels(), batched.rng_state())
                  .ok());
}

TEST(KllSketchTest, SmallStreamsAreExact) {
  KllSketch sketch;
  for (int i = 1; i <= 100; ++i) sketch.Update(i);
  EXPECT_EQ(sketch.Quantile(0.5), 50);
  EXPECT_EQ(sketch.Quantile(0.01), 1);
  EXPECT_EQ(sketch.Quantile(0.0), 1);
  EXPECT_EQ(sketch.Quantile(1.0), 100);
  EXPECT_DOUBLE_EQ(sketch.Rank(25), 0.25);
  EXPECT_EQ(sketch.Rank(0), 0);
  EXPECT_EQ(sketch.Rank(1000), 1);
  EXPECT_TRUE(std::isnan(KllSketch().Quantile(0.5)));
}

TEST(KllSketchTest, MergeOfPartsIsAsAccurateAsOneSketch) {
  const std::vector<double> values = Stream("uniform", 1'000'000, 3);
  KllSketch merged(KllSketch::kDefaultK, 10);
  for (int part = 0; part < 4; ++part) {
    KllSketch sketch(KllSketch::kDefaultK, 20 + part);
    for (size_t i = part; i < values.size(); i += 4) sketch.Update(values[i]);
    ASSERT_TRUE(merged.Merge(sketch).ok());
  }
  merged.Flush();
  EXPECT_EQ(merged.n(), values.size());
  EXPECT_EQ(merged.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_LT(MaxRankError(merged, values), kKllRankError);
  EXPECT_FALSE(merged.Merge(KllSketch(100)).ok());
}

TEST(KllSketchTest, SameSeedSameSketchAndPartsRoundTrip) {
  KllSketch a(KllSketch::kDefaultK, 5);
  KllSketch b(KllSketch::kDefaultK, 5);
  for (double x : Stream("uniform", 300'000, 9)) {
    a.Update(x);
    b.Update(x);
  }
  EXPECT_TRUE(a == b);
  a.Flush();
  auto rebuilt = KllSketch::FromParts(a.k(), a.n(), a.min(), a.max(), a.levels(), a.rng_state());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_TRUE(*rebuilt == a);
  // The rebuilt sketch continues exactly as the original would.
  for (double x : Stream("uniform", 100'000, 10)) {
    a.Update(x);
    rebuilt->Update(x);
  }
  EXPECT_TRUE(*rebuilt == a);
}

TEST(KllSketchTest, FromPartsRejectsInconsistentParts) {
  EXPECT_FALSE(KllSketch::FromParts(200, 3, 1, 2, {{1, 2}}, 0).ok());       // weight 2, n 3
  EXPECT_FALSE(KllSketch::FromParts(200, 4, 1, 2, {{}, {2, 1}}, 0).ok());   // unsorted level
  EXPECT_FALSE(KllSketch::FromParts(200, 2, 1, 1.5, {{1, 2}}, 0).ok());     // above max
  EXPECT_FALSE(KllSketch::FromParts(4, 0, 0, 0, {}, 0).ok());               // k too small
  EXPECT_TRUE(KllSketch::FromParts(200, 4, 1, 2, {{1, 2}, {1.5}}, 0).ok());
}

TEST(KllSketchTest, ScaleChangesUnitsNotRanks) {
  KllSketch sketch;
  for (int i = 1; i <= 1000; ++i) sketch.Update(i);
  const double before = sketch.Rank(500);
  sketch.Scale(1000);
  EXPECT_EQ(sketch.min(), 1000);
  EXPECT_EQ(sketch.max(), 1'000'000);
  EXPECT_EQ(sketch.Rank(500'000), before);
}

TEST(DistinctSketchTest, ExactUpTo1024DistinctValues) {
  DistinctSketch sketch;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1024; ++i) sketch.Add(HashBytes(std::to_string(i)));
  }
  EXPECT_TRUE(sketch.exact());
  EXPECT_EQ(sketch.Estimate(), 1024);
  sketch.Add(HashBytes("one more"));
  EXPECT_FALSE(sketch.exact());
  EXPECT_NEAR(sketch.Estimate(), 1025, 1025 * 0.03);
}

TEST(DistinctSketchTest, ErrorWithinThreePercentAcrossCardinalities) {
  for (int n : {2'000, 20'000, 100'000, 1'000'000}) {
    DistinctSketch sketch;
    for (int i = 0; i < n; ++i) {
      const std::string value = "user-" + std::to_string(i);
      sketch.Add(HashBytes(value));
      sketch.Add(HashBytes(value));  // duplicates change nothing
    }
    EXPECT_NEAR(sketch.Estimate(), n, n * 0.03) << n;
  }
}

TEST(DistinctSketchTest, MergeEqualsFeedingAll) {
  for (int n : {300, 5'000, 50'000}) {
    DistinctSketch a, b, all;
    for (int i = 0; i < n; ++i) {
      const uint64_t h = HashBytes("v" + std::to_string(i));
      (i % 3 == 0 ? a : b).Add(h);
      all.Add(h);
      if (i % 5 == 0) a.Add(h);  // overlap
    }
    a.Merge(b);
    EXPECT_TRUE(a == all) << n;
    EXPECT_EQ(a.Estimate(), all.Estimate()) << n;
  }
}

TEST(DistinctSketchTest, SerializedPartsRoundTrip) {
  DistinctSketch exact;
  for (int i = 0; i < 100; ++i) exact.Add(HashBytes(std::to_string(i)));
  exact.Add(0);
  auto rebuilt = DistinctSketch::FromExactHashes(exact.ExactHashes());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_TRUE(*rebuilt == exact);
  EXPECT_EQ(rebuilt->Estimate(), 101);

  DistinctSketch hll;
  for (int i = 0; i < 10'000; ++i) hll.Add(HashBytes(std::to_string(i)));
  auto from_registers = DistinctSketch::FromRegisters(hll.registers());
  ASSERT_TRUE(from_registers.ok());
  EXPECT_TRUE(*from_registers == hll);
  EXPECT_FALSE(DistinctSketch::FromRegisters(std::vector<uint8_t>(10)).ok());
  EXPECT_FALSE(DistinctSketch::FromRegisters(std::vector<uint8_t>(4096, 60)).ok());
  EXPECT_FALSE(DistinctSketch::FromExactHashes(std::vector<uint64_t>(2000, 1)).ok());
}

TEST(TopValuesTest, ExactCountsWhileFewDistinctValues) {
  TopValues top;
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j <= i; ++j) top.Add(HashBytes(std::to_string(i)), std::to_string(i));
  }
  EXPECT_EQ(top.max_error(), 0);
  const auto items = top.Items();
  ASSERT_EQ(items.size(), 64u);
  EXPECT_EQ(items[0].value, "63");
  EXPECT_EQ(items[0].count, 64);
  EXPECT_EQ(items[63].value, "0");
  EXPECT_EQ(items[63].count, 1);
}

TEST(TopValuesTest, FindsTheHeavyHittersOfASkewedStream) {
  // Zipf-like: value i occurs about 200000 / i^1.2 times, shuffled, 30,000 distinct.
  std::vector<int> stream;
  std::vector<int64_t> truth(30'001, 0);
  for (int i = 1; i <= 30'000; ++i) {
    const auto times = std::max<int64_t>(1, std::llround(200'000 / std::pow(i, 1.2)));
    truth[static_cast<size_t>(i)] = times;
    stream.insert(stream.end(), static_cast<size_t>(times), i);
  }
  std::shuffle(stream.begin(), stream.end(), std::mt19937_64(4));
  TopValues top;
  for (int v : stream) top.Add(HashBytes(std::to_string(v)), std::to_string(v));
  const auto items = top.Items();
  EXPECT_GT(top.max_error(), 0);
  EXPECT_LE(top.max_error(), static_cast<int64_t>(stream.size() / (TopValues::kCapacity + 1)));
  // The 10 most frequent values come out first, in order, within the error bound.
  for (int rank = 1; rank <= 10; ++rank) {
    ASSERT_EQ(items[static_cast<size_t>(rank - 1)].value, std::to_string(rank));
    const int64_t count = items[static_cast<size_t>(rank - 1)].count;
    EXPECT_LE(count, truth[static_cast<size_t>(rank)]);
    EXPECT_GE(count + top.max_error(), truth[static_cast<size_t>(rank)]);
  }
}

TEST(TopValuesTest, MergeKeepsTheGuarantee) {
  std::vector<std::string> stream;
  for (int i = 0; i < 20'000; ++i) stream.push_back(std::to_string(i % 7 == 0 ? 1 : i % 500));
  TopValues a, b;
  for (size_t i = 0; i < stream.size(); ++i) (i % 2 ? a : b).Add(HashBytes(stream[i]), stream[i]);
  a.Merge(b);
  const auto items = a.Items();
  ASSERT_FALSE(items.empty());
  EXPECT_LE(items.size(), TopValues::kCapacity);
  const int64_t truth_of_1 = std::count(stream.begin(), stream.end(), "1");
  EXPECT_EQ(items[0].value, "1");
  EXPECT_LE(items[0].count, truth_of_1);
  EXPECT_GE(items[0].count + a.max_error(), truth_of_1);
}

TEST(TopValuesTest, LongValuesAreCountedByTheBytesTheyAreKeptBy) {
  TopValues top;
  const std::string a(1000, 'a');
  std::string b = a;
  b.back() = 'b';  // same 256-byte prefix, different value: they read the same
  const std::string prefix(TopValues::kMaxValueBytes, 'a');  // short, same bytes
  top.Add(HashBytes(a), a);
  top.Add(HashBytes(b), b);
  top.Add(HashBytes(a), a);
  top.Add(HashBytes(prefix), prefix);
  const auto items = top.Items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].count, 3);
  EXPECT_TRUE(items[0].truncated);
  EXPECT_EQ(items[0].value.size(), TopValues::kMaxValueBytes);
  EXPECT_EQ(items[1].count, 1);  // the short value stays apart
  EXPECT_FALSE(items[1].truncated);
  // Serialized items always read back (a profile of such a column once did not).
  auto rebuilt = TopValues::FromItems(items, top.max_error());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(*rebuilt, top);
  rebuilt->Add(HashBytes(b), b);  // and counts on where it left off
  EXPECT_EQ(rebuilt->Items()[0].count, 4);
  EXPECT_FALSE(TopValues::FromItems({items[0], items[0]}, 0).ok());  // true duplicates
}

TEST(TopValuesTest, BorrowedValuesAreCopiedByOwnValues) {
  TopValues top;
  std::string bytes = "alpha";
  top.AddNew(HashBytes(bytes), bytes);
  top.OwnValues();
  bytes = "omega";
  std::string other = "beta";
  top.AddNew(HashBytes(other), other);
  EXPECT_TRUE(top.Increment(HashBytes("alpha")));
  const TopValues copy = [&] {
    top.OwnValues();
    return top;
  }();
  other.assign(other.size(), '#');
  EXPECT_EQ(copy.Items(), (std::vector<TopValues::Item>{{"alpha", 2, false}, {"beta", 1, false}}));
  EXPECT_EQ(top.Items(), copy.Items());
}

TEST(TopValuesTest, EvictionsKeepTheOwnedValues) {
  // Misra-Gries with borrowed and owned counters mixed: a full table, then values that
  // each evict everything counted once, with OwnValues at irregular points.
  TopValues top;
  std::vector<std::string> values;
  for (int i = 0; i < 5000; ++i) values.push_back("v" + std::to_string(i % 7 == 0 ? 7 : i));
  TopValues reference;
  for (size_t i = 0; i < values.size(); ++i) {
    const uint64_t hash = HashBytes(values[i]);
    if (!top.Increment(hash)) top.AddNew(hash, values[i]);
    if (i % 13 == 0) top.OwnValues();
    reference.Add(hash, values[i]);
  }
  top.OwnValues();
  for (std::string& v : values) v.assign(v.size(), '#');
  EXPECT_TRUE(top == reference);
  EXPECT_EQ(top.Items().front(), (TopValues::Item{"v7", top.Items().front().count, false}));
}

TEST(MomentsTest, BatchesAtOnceEqualBatchByBatch) {
  // Bit for bit: the profile's mean and stddev must not depend on how many batches
  // the column builder hands over at once.
  std::mt19937_64 rng(3);
  std::vector<double> xs(5000);
  for (double& x : xs) x = std::lognormal_distribution<double>(3.4, 1.2)(rng);
  for (size_t count : {0, 1, 127, 128, 129, 511, 512, 513, 1000, 5000}) {
    Moments one_by_one, at_once;
    for (size_t i = 0; i < count; i += 128) one_by_one.AddBatch(&xs[i], std::min<size_t>(128, count - i));
    at_once.AddBatches(xs.data(), count, 128);
    EXPECT_EQ(at_once, one_by_one) << count << " values";
  }
}

TEST(MomentsTest, StableFarFromZeroAndMergeable) {
  std::mt19937_64 rng(1);
  std::vector<double> xs(100'000);
  for (double& x : xs) x = 1e9 + std::normal_distribution<double>(0, 0.01)(rng);
  // The reference in extended precision.
  long double sum = 0;
  for (double x : xs) sum += x;
  const long double mean = sum / xs.size();
  long double squares = 0;
  for (double x : xs) squares += (x - mean) * (x - mean);
  const double stddev = static_cast<double>(std::sqrt(squares / (xs.size() - 1)));

  Moments single, batched, merged;
  for (double x : xs) single.Add(x);
  for (size_t i = 0; i < xs.size(); i += 128) batched.AddBatch(&xs[i], std::min<size_t>(128, xs.size() - i));
  Moments halves[2];
  for (size_t i = 0; i < xs.size(); ++i) halves[i % 2].Add(xs[i]);
  merged = halves[0];
  merged.Merge(halves[1]);
  for (const Moments* m : {&single, &batched, &merged}) {
    EXPECT_EQ(m->n, 100'000);
    EXPECT_NEAR(m->mean, static_cast<double>(mean), 2e-5);  // ~100 ulps of 1e9
    EXPECT_NEAR(m->SampleStddev(), stddev, stddev * 1e-6);
  }
}

TEST(RowSampleTest, KeepsEveryRowInOrderWhileItFits) {
  RowSample sample(5, 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sample.WantsNext());
    const std::string text = std::to_string(i);
    const std::optional<std::string_view> cells[] = {text, std::nullopt};
    sample.Offer(cells);
  }
  ASSERT_EQ(sample.rows().size(), 3u);
  EXPECT_EQ(sample.rows()[2].cell(0), "2");
  EXPECT_EQ(sample.rows()[2].cell(1), std::nullopt);
  EXPECT_EQ(sample.rows()[2].cell(7), std::nullopt);
}

TEST(RowSampleTest, UniformAndDeterministicForASeed) {
  const auto run = [](uint64_t seed) {
    RowSample sample(1000, seed);
    for (int i = 0; i < 100'000; ++i) {
      if (sample.WantsNext()) {
        const std::string text = std::to_string(i);
        const std::optional<std::string_view> cells[] = {text};
        sample.Offer(cells);
      } else {
        sample.Skip();
      }
    }
    return sample;
  };
  const RowSample a = run(3);
  EXPECT_TRUE(a == run(3));
  EXPECT_FALSE(a == run(4));
  ASSERT_EQ(a.rows().size(), 1000u);
  // Each tenth of the table gets about a tenth of the sample.
  int deciles[10] = {};
  for (const auto& row : a.rows()) ++deciles[std::stoi(std::string(*row.cell(0))) / 10'000];
  for (int d : deciles) EXPECT_NEAR(d, 100, 40);

  RowSample merged = run(5);
  merged.Merge(run(6));
  EXPECT_EQ(merged.seen(), 200'000u);
  EXPECT_EQ(merged.rows().size(), 1000u);
}

TEST(Base64Test, RoundTripsAndRejectsNonCanonicalText) {
  for (std::string bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                            std::string("\0\xff\x10zz", 5)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  for (const char* bad : {"Zm9", "Zm9v!", "Zm9=", "Zm8x=", "Zh==", "=Zm8"}) {
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << bad;
  }
}

TEST(HashTest, OutputIsPinnedBecauseSketchesStoreIt) {
  // Serialized distinct sketches hold these hashes: a change here needs a new
  // kHashVersion (docs/table-profile.md).
  EXPECT_EQ(kHashVersion, 1);
  EXPECT_EQ(HashBytes(""), 0xdeda735344c48441ULL);
  EXPECT_EQ(HashBytes("abc"), 0x7b24e6de8c3bea1dULL);
  EXPECT_EQ(HashBytes("a longer value, over sixteen bytes"), 0x313a578d249ab9b0ULL);
  EXPECT_NE(HashBytes("ab"), HashBytes("ba"));
  EXPECT_NE(HashBytes(std::string("\0", 1)), HashBytes(""));
}

TEST(HashTest, EveryLengthIsPinned) {
  // Lengths 0 to 33 cover each way short values are read (bytes, 4-byte and 8-byte
  // words, 16-byte blocks); bytes >= 0x80 and 0x01 sit where the short forms read.
  const std::string text = "\xe9\x01\xff" "3456789abcdefghijklmnopqrstuvwxyz\x80";
  constexpr uint64_t kPinned[] = {
      0xdeda735344c48441ULL, 0x6d781b245fdedd16ULL, 0xd7f205a5281a4b78ULL,
      0x5622a2dcc566d523ULL, 0xef33478fbe757f5dULL, 0x800efede635f5392ULL,
      0xe80813d6dcee7e73ULL, 0xbf8e4d2360d1d6bfULL, 0x59e004a0243bbb53ULL,
      0x299b259a8fc45edaULL, 0x2c46148a85cdeb75ULL, 0x01a8a291296372a1ULL,
      0x342268e6545dd37aULL, 0x8e9e86d56fb8e817ULL, 0x3c0448ae86353b75ULL,
      0x39966c09aa8890d4ULL, 0xa1b2889857719b07ULL, 0x5d4234f538697389ULL,
      0x994055621a134a5dULL, 0x0173d23f989f1a52ULL, 0x387103cf32268a0aULL,
      0xb1cbaf2457d362c9ULL, 0xb4b74e6724581814ULL, 0x8b19d94b67492dd5ULL,
      0x71a197e33bf2cb5aULL, 0x6eb095c3603ada76ULL, 0x2a46227be37f62d7ULL,
      0x55773ae4657ed8d9ULL, 0x4576988975011ffbULL, 0x53370695575b4764ULL,
      0x18fbd1fe05c28591ULL, 0x3c458e08effa0fc9ULL, 0x18f175e1eb42047aULL,
      0xb4fb885718e96a0bULL};
  for (size_t size = 0; size < std::size(kPinned); ++size) {
    EXPECT_EQ(HashBytes(text.data(), size), kPinned[size]) << "length " << size;
  }
}

}  // namespace
}  // namespace ferry::table
