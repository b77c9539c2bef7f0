#include "stats/ddsketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace ferry::stats {
namespace {

constexpr double kQuantiles[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};
// The bound is exact in real arithmetic; log and exp may each be off by an ulp.
constexpr double kRounding = 1e-12;

// The paper's lower quantile: the value at 0-based rank floor(q (n - 1)).
double ExactQuantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void ExpectWithinRelativeAccuracy(const DDSketch& sketch, std::vector<double> values,
                                  std::span<const double> quantiles) {
  std::sort(values.begin(), values.end());
  for (double q : quantiles) {
    const double exact = ExactQuantile(values, q);
    const std::optional<double> estimate = sketch.Quantile(q);
    ASSERT_TRUE(estimate.has_value()) << q;
    EXPECT_LE(std::abs(*estimate - exact), (sketch.relative_accuracy() + kRounding) * exact)
        << "q=" << q << " exact=" << exact << " estimate=" << *estimate;
  }
}

template <typename Distribution>
std::vector<double> Sample(Distribution distribution, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> values(n);
  for (double& v : values) v = distribution(rng);
  return values;
}

DDSketch SketchOf(const std::vector<double>& values, int max_buckets = 2048) {
  DDSketch sketch = DDSketch::Create(0.01, max_buckets).value();
  for (double v : values) sketch.Add(v);
  return sketch;
}

TEST(DDSketchTest, QuantilesAreWithinRelativeAccuracyOnUniformExponentialAndHeavyTails) {
  const std::vector<std::vector<double>> samples = {
      Sample(std::uniform_real_distribution<double>(0.5, 1000.0), 100'000, 1),
      Sample(std::exponential_distribution<double>(1 / 20.0), 100'000, 2),
      // Heavy tails: Pareto with shape 1.1 (x = 1 / U^(1/1.1)) and a lognormal.
      Sample(
          [](std::mt19937_64& rng) {
            return 1 / std::pow(1 - std::uniform_real_distribution<double>()(rng), 1 / 1.1);
          },
          100'000, 3),
      Sample(std::lognormal_distribution<double>(3.0, 2.5), 100'000, 4),
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(i);
    const DDSketch sketch = SketchOf(samples[i]);
    EXPECT_EQ(sketch.count(), 100'000u);
    EXPECT_FALSE(sketch.collapsed());
    ExpectWithinRelativeAccuracy(sketch, samples[i], kQuantiles);
    EXPECT_EQ(sketch.Quantile(0), *std::min_element(samples[i].begin(), samples[i].end()));
    EXPECT_EQ(sketch.Quantile(1), *std::max_element(samples[i].begin(), samples[i].end()));
  }
}

TEST(DDSketchTest, AccuracyHoldsForOtherAlphas) {
  const std::vector<double> values =
      Sample(std::lognormal_distribution<double>(0.0, 3.0), 20'000, 5);
  for (double alpha : {0.001, 0.05, 0.2}) {
    SCOPED_TRACE(alpha);
    DDSketch sketch = DDSketch::Create(alpha, 1 << 16).value();
    for (double v : values) sketch.Add(v);
    ExpectWithinRelativeAccuracy(sketch, values, kQuantiles);
  }
}

TEST(DDSketchTest, AddWithCountEqualsRepeatedAdds) {
  DDSketch once;
  DDSketch repeated;
  once.Add(12.5, 4);
  once.Add(0.25, 2);
  for (int i = 0; i < 4; ++i) repeated.Add(12.5);
  for (int i = 0; i < 2; ++i) repeated.Add(0.25);
  EXPECT_EQ(once, repeated);
  EXPECT_EQ(once.count(), 6u);
  EXPECT_DOUBLE_EQ(once.sum(), 50.5);
}

TEST(DDSketchTest, MergeEqualsTheSketchOfTheUnion) {
  // Whole numbers, so that sums are exact whatever the order of addition.
  std::vector<double> values = Sample(std::exponential_distribution<double>(1 / 300.0), 50'000, 6);
  for (double& v : values) v = std::floor(v);  // zeros included: the zero bucket merges too
  for (int max_buckets : {2048, 64}) {         // 64: both sides and the union collapse
    SCOPED_TRACE(max_buckets);
    DDSketch left = DDSketch::Create(0.01, max_buckets).value();
    DDSketch right = DDSketch::Create(0.01, max_buckets).value();
    for (size_t i = 0; i < values.size(); ++i) (i % 3 == 0 ? left : right).Add(values[i]);
    ASSERT_TRUE(left.Merge(right).ok());
    EXPECT_EQ(left, SketchOf(values, max_buckets));
  }
}

TEST(DDSketchTest, InsertionOrderDoesNotChangeACollapsedSketch) {
  std::vector<double> values = Sample(std::lognormal_distribution<double>(2, 3), 20'000, 12);
  for (double& v : values) v = std::floor(v);
  const DDSketch shuffled = SketchOf(values, 32);
  std::sort(values.begin(), values.end());
  const DDSketch ascending = SketchOf(values, 32);
  std::reverse(values.begin(), values.end());
  const DDSketch descending = SketchOf(values, 32);
  EXPECT_TRUE(shuffled.collapsed());
  EXPECT_EQ(shuffled, ascending);
  EXPECT_EQ(shuffled, descending);
}

TEST(DDSketchTest, MergeIntoAnEmptySketchCopies) {
  const DDSketch full = SketchOf(Sample(std::uniform_real_distribution<double>(1, 2), 100, 7));
  DDSketch empty;
  ASSERT_TRUE(empty.Merge(full).ok());
  EXPECT_EQ(empty, full);
  DDSketch copy = full;
  ASSERT_TRUE(copy.Merge(DDSketch()).ok());
  EXPECT_EQ(copy, full);
}

TEST(DDSketchTest, MergeRefusesADifferentAccuracyAndChangesNothing) {
  DDSketch sketch;
  sketch.Add(3);
  const DDSketch before = sketch;
  DDSketch coarse = DDSketch::Create(0.02, 2048).value();
  coarse.Add(5);
  const absl::Status status = sketch.Merge(coarse);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sketch, before);
}

TEST(DDSketchTest, CollapsingLowestBucketsKeepsHighQuantilesAccurate) {
  // Log-uniform over six decades spans ~690 buckets; 256 keep the top factor of ~160,
  // i.e. about the top 37% of the values.
  const std::vector<double> values = Sample(
      [](std::mt19937_64& rng) {
        return std::pow(10.0, std::uniform_real_distribution<double>(0, 6)(rng));
      },
      100'000, 8);
  const DDSketch sketch = SketchOf(values, 256);
  EXPECT_TRUE(sketch.collapsed());
  EXPECT_LE(sketch.bucket_span(), 256);
  const double high[] = {0.7, 0.9, 0.99, 0.999};
  ExpectWithinRelativeAccuracy(sketch, values, high);
  // Below the kept range estimates are too high, never wrong the other way.
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GT(*sketch.Quantile(0.1), ExactQuantile(sorted, 0.1));
  EXPECT_EQ(sketch.Quantile(0), sorted.front());
}

TEST(DDSketchTest, ZeroAndTinyValuesGoToTheZeroBucket) {
  DDSketch sketch;
  sketch.Add(0, 3);
  sketch.Add(std::numeric_limits<double>::denorm_min());
  sketch.Add(10, 2);
  EXPECT_EQ(sketch.zero_count(), 4u);
  EXPECT_EQ(sketch.count(), 6u);
  EXPECT_EQ(sketch.Quantile(0.5), 0);
  EXPECT_NEAR(*sketch.Quantile(0.99), 10, 0.1);
}

TEST(DDSketchTest, RejectsNegativeNanAndInfiniteValues) {
  DDSketch sketch;
  sketch.Add(-1);
  sketch.Add(std::numeric_limits<double>::quiet_NaN(), 2);
  sketch.Add(std::numeric_limits<double>::infinity());
  sketch.Add(std::numeric_limits<double>::max());
  EXPECT_EQ(sketch.rejected_count(), 5u);
  EXPECT_TRUE(sketch.empty());
  EXPECT_EQ(sketch.Quantile(0.5), std::nullopt);
  EXPECT_EQ(sketch.min(), std::nullopt);
}

TEST(DDSketchTest, QuantileOutsideZeroToOneIsNullopt) {
  DDSketch sketch;
  sketch.Add(1);
  EXPECT_EQ(sketch.Quantile(-0.1), std::nullopt);
  EXPECT_EQ(sketch.Quantile(1.1), std::nullopt);
  EXPECT_EQ(sketch.Quantile(std::numeric_limits<double>::quiet_NaN()), std::nullopt);
}

TEST(DDSketchTest, CreateRefusesBadParameters) {
  EXPECT_FALSE(DDSketch::Create(0, 2048).ok());
  EXPECT_FALSE(DDSketch::Create(1, 2048).ok());
  EXPECT_FALSE(DDSketch::Create(std::numeric_limits<double>::quiet_NaN(), 2048).ok());
  EXPECT_FALSE(DDSketch::Create(0.01, 4).ok());
}

TEST(DDSketchTest, ClearForgetsEverything) {
  DDSketch sketch = SketchOf(Sample(std::exponential_distribution<double>(1.0), 1000, 9), 64);
  sketch.Add(-1);
  sketch.Clear();
  EXPECT_EQ(sketch, SketchOf({}, 64));
  sketch.Add(2);
  EXPECT_NEAR(*sketch.Quantile(0.5), 2, 0.02);
}

TEST(DDSketchTest, BytesRoundTrip) {
  DDSketch collapsed = SketchOf(Sample(std::lognormal_distribution<double>(0, 4), 10'000, 10), 64);
  collapsed.Add(0, 7);
  collapsed.Add(-3);
  DDSketch low = SketchOf({1e-300, 2e-300, 0.5});
  for (const DDSketch& sketch : {DDSketch(), SketchOf({42}), low, collapsed}) {
    const std::string bytes = sketch.ToBytes();
    absl::StatusOr<DDSketch> read = DDSketch::FromBytes(bytes);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, sketch);
    EXPECT_EQ(read->ToBytes(), bytes);
  }
  // Compact: a varint per bucket of the range, not a double.
  EXPECT_LT(collapsed.ToBytes().size(), 64u * 3 + 64);
}

TEST(DDSketchTest, FromBytesRefusesDamagedBytes) {
  const std::string bytes =
      SketchOf(Sample(std::exponential_distribution<double>(1.0), 1000, 11)).ToBytes();
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_EQ(DDSketch::FromBytes(bytes.substr(0, length)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << length;
  }
  EXPECT_FALSE(DDSketch::FromBytes(bytes + '\0').ok());
  std::string wrong_magic = bytes;
  wrong_magic[0] = 'X';
  EXPECT_FALSE(DDSketch::FromBytes(wrong_magic).ok());
  std::string wrong_version = bytes;
  wrong_version[1] = 9;
  EXPECT_FALSE(DDSketch::FromBytes(wrong_version).ok());
  // Last bucket count 0: the range would not end with a non-empty bucket.
  std::string empty_last = bytes;
  empty_last.back() = 0;
  EXPECT_FALSE(DDSketch::FromBytes(empty_last).ok());
}

TEST(DDSketchTest, FromBytesSurvivesEveryFlippedByte) {
  const std::string bytes =
      SketchOf(Sample(std::exponential_distribution<double>(1.0), 1000, 13), 64).ToBytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (char flip : {'\x01', '\x80', '\xff'}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ flip);
      // Either refused or a well-formed sketch (a count may change); never a crash.
      absl::StatusOr<DDSketch> read = DDSketch::FromBytes(damaged);
      if (read.ok()) {
        EXPECT_TRUE(read->Quantile(0.5).has_value() || read->empty());
      }
    }
  }
}

TEST(DDSketchTest, JsonSummary) {
  DDSketch sketch;
  for (int i = 1; i <= 100; ++i) sketch.Add(i);
  const nlohmann::json json = sketch.ToJson();
  EXPECT_EQ(json["count"], 100);
  EXPECT_EQ(json["min"], 1.0);
  EXPECT_EQ(json["max"], 100.0);
  EXPECT_EQ(json["sum"], 5050.0);
  EXPECT_EQ(json["collapsed"], false);
  EXPECT_NEAR(json["quantiles"]["p50"].get<double>(), 50, 0.5);
  EXPECT_NEAR(json["quantiles"]["p99"].get<double>(), 99, 1);

  const nlohmann::json empty = DDSketch().ToJson();
  EXPECT_EQ(empty["count"], 0);
  EXPECT_TRUE(empty["min"].is_null());
  EXPECT_TRUE(empty["quantiles"]["p50"].is_null());
}

}  // namespace
}  // namespace ferry::stats
