#include "table/column_profile_builder.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "table/hash.h"
#include "table/value_parse.h"

namespace ferry::table {
namespace {

// Plausible epoch times, 1971-01-01 to 2200-01-01, in seconds: a column of durations or
// counts named "..._time" stays numeric.
constexpr double kEpochLowSeconds = 31'536'000;
constexpr double kEpochHighSeconds = 7'258'118'400;

}  // namespace

ColumnProfileBuilder::ColumnProfileBuilder(std::string name, int kll_k, uint64_t seed)
    : name_(std::move(name)), quantiles_(kll_k, seed) {}

uint64_t ColumnProfileBuilder::HashText(std::string_view text) { return HashBytes(text); }

template <typename Add>
const std::string_view* ColumnProfileBuilder::AddRun(const std::string_view* it,
                                                     const std::string_view* end, Add add) {
  for (; it != end; ++it) {
    if (!it->empty() && !add(*it)) return it;
  }
  return end;
}

void ColumnProfileBuilder::AddTexts(std::span<const std::string_view> texts) {
  // Int64 and timestamp values: exact integers, told apart by their parse.
  const auto exact = [this](auto parse) {
    return [this, parse](std::string_view text) {
      const auto v = parse(text);
      if (!v) return false;
      const uint64_t hash = Note(text);
      AddExactInt(*v);
      CountNumeric(hash, text);
      return true;
    };
  };
  const std::string_view* it = texts.data();
  const std::string_view* const end = it + texts.size();
  while (it != end) {
    switch (family_) {
      case Family::kInt:
        it = AddRun(it, end, exact([](std::string_view text) { return ParseInt64(text); }));
        break;
      case Family::kFloat:
        it = AddRun(it, end, [this](std::string_view text) {
          double value;
          if (!ParseFloat64Into(text, value)) return false;
          const uint64_t hash = Note(text);
          AddDouble(value);
          CountNumeric(hash, text);
          return true;
        });
        break;
      case Family::kTimestamp:
        it = AddRun(it, end, exact([this](std::string_view text) { return timestamps_.Parse(text); }));
        break;
      case Family::kBool:
        it = AddRun(it, end, [this](std::string_view text) {
          const auto v = ParseBool(text);
          if (!v) return false;
          const uint64_t hash = Note(text);
          ++(*v ? true_count_ : false_count_);
          CountString(hash, text);
          return true;
        });
        break;
      case Family::kString:
        it = AddRun(it, end, [this](std::string_view text) {
          CountString(Note(text), text);
          return true;
        });
        break;
      case Family::kNone:
        it = AddRun(it, end, [](std::string_view) { return false; });
        break;
    }
    if (it == end) break;
    // The first value, or one that does not fit the column's type.
    Reclassify(*it, Note(*it));
    ++it;
  }
  top_.OwnValues();  // before the texts go away
}

void ColumnProfileBuilder::Reclassify(std::string_view text, uint64_t hash) {
  if (family_ == Family::kNone) {
    if (const auto b = ParseBool(text)) {
      family_ = Family::kBool;
      ++(*b ? true_count_ : false_count_);
      CountString(hash, text);
      return;
    }
    if (const auto v = ParseInt64(text)) {
      StartNumeric(Family::kInt);
      AddExactInt(*v);
      CountNumeric(hash, text);
      return;
    }
    if (const auto v = ParseFloat64(text)) {
      StartNumeric(Family::kFloat);
      AddDouble(*v);
      CountNumeric(hash, text);
      return;
    }
    if (const auto v = timestamps_.Parse(text)) {
      StartNumeric(Family::kTimestamp);
      AddExactInt(*v);
      CountNumeric(hash, text);
      return;
    }
  } else if (family_ == Family::kInt) {
    if (const auto v = ParseFloat64(text)) {
      family_ = Family::kFloat;  // int64 values are float64 values: the stats carry over
      AddDouble(*v);
      CountNumeric(hash, text);
      return;
    }
  }
  BecomeString(text, hash);
}

void ColumnProfileBuilder::StartNumeric(Family family) {
  family_ = family;
  // Only numeric columns buffer numbers (wide tables keep a few KiB per column less).
  batch_.resize(kBuffered);
}

void ColumnProfileBuilder::BecomeString(std::string_view text, uint64_t hash) {
  family_ = Family::kString;
  // Numeric statistics describe values that are now strings: drop them.
  numeric_count_ = 0;
  batch_size_ = 0;
  moments_ = Moments();
  quantiles_ = KllSketch(quantiles_.k(), quantiles_.rng_state());
  non_finite_ = 0;
  if (top_paused_) {
    top_.AddUncounted(top_skipped_);
    top_paused_ = false;
    top_skipped_ = 0;
  }
  CountString(hash, text);
}

void ColumnProfileBuilder::AddInt(int64_t value, std::string_view text) {
  const uint64_t hash = Note(text);
  if (family_ == Family::kNone) StartNumeric(Family::kInt);
  if (family_ == Family::kInt) {
    AddExactInt(value);
    CountNumeric(hash, text);
  } else if (family_ == Family::kFloat) {
    AddDouble(static_cast<double>(value));
    CountNumeric(hash, text);
  } else {
    CountAsString(hash, text);
  }
  top_.OwnValues();
}

void ColumnProfileBuilder::AddFloat(double value, std::string_view text) {
  const uint64_t hash = Note(text);
  if (family_ == Family::kNone) StartNumeric(Family::kFloat);
  if (family_ == Family::kInt) family_ = Family::kFloat;
  if (family_ == Family::kFloat) {
    AddDouble(value);
    CountNumeric(hash, text);
  } else {
    CountAsString(hash, text);
  }
  top_.OwnValues();
}

void ColumnProfileBuilder::AddBool(bool value, std::string_view text) {
  const uint64_t hash = Note(text);
  if (family_ == Family::kNone) family_ = Family::kBool;
  if (family_ == Family::kBool) {
    ++(value ? true_count_ : false_count_);
    CountString(hash, text);
  } else {
    CountAsString(hash, text);
  }
  top_.OwnValues();
}

void ColumnProfileBuilder::AddString(std::string_view text) {
  const uint64_t hash = Note(text);
  std::optional<int64_t> time;
  if (family_ == Family::kNone || family_ == Family::kTimestamp) time = timestamps_.Parse(text);
  if (time) {
    if (family_ == Family::kNone) StartNumeric(Family::kTimestamp);
    AddExactInt(*time);
    CountNumeric(hash, text);
  } else {
    CountAsString(hash, text);
  }
  top_.OwnValues();
}

void ColumnProfileBuilder::AddNested(std::string_view text) {
  CountAsString(Note(text), text);
  top_.OwnValues();
}

void ColumnProfileBuilder::CountAsString(uint64_t hash, std::string_view text) {
  if (family_ == Family::kString) {
    CountString(hash, text);
  } else {
    BecomeString(text, hash);
  }
}

void ColumnProfileBuilder::AddDouble(double value) {
  if (!std::isfinite(value)) {
    ++non_finite_;
    return;
  }
  AddNumber(value);
}

void ColumnProfileBuilder::FlushBatch() {
  // The quantile sketch keeps the exact min and max.
  moments_.AddBatches(batch_.data(), batch_size_, kBatch);
  quantiles_.UpdateBatch(batch_.data(), batch_size_);
  batch_size_ = 0;
}

TimeEncoding ColumnProfileBuilder::EpochEncoding() const {
  if (!IsTimeLikeName(name_) || numeric_count_ == 0 || non_finite_ > 0) return TimeEncoding::kNone;
  for (TimeEncoding e : {TimeEncoding::kEpochSeconds, TimeEncoding::kEpochMillis,
                         TimeEncoding::kEpochMicros}) {
    const double per_second = 1e6 / static_cast<double>(MicrosPerUnit(e));
    if (quantiles_.min() >= kEpochLowSeconds * per_second &&
        quantiles_.max() < kEpochHighSeconds * per_second) {
      return e;
    }
  }
  return TimeEncoding::kNone;
}

ColumnProfile ColumnProfileBuilder::Finish(int64_t row_count) && {
  FlushBatch();
  ColumnProfile p;
  p.count = count_;
  p.null_count = row_count - count_;
  p.distinct = std::move(distinct_);
  p.length = count_ > 0 ? length_ : LengthStats{};
  // Counted while the column looked boolean; a later value that is not keeps them out of
  // the profile (ToJson writes them for bool columns only, so they would not read back).
  if (family_ == Family::kBool) {
    p.true_count = true_count_;
    p.false_count = false_count_;
  }
  const bool numeric =
      family_ == Family::kInt || family_ == Family::kFloat || family_ == Family::kTimestamp;
  if (numeric) {
    if (!top_paused_) p.top_values = std::move(top_);
    p.time_encoding = family_ == Family::kTimestamp ? TimeEncoding::kIso8601 : EpochEncoding();
    NumericStats stats;
    stats.non_finite = non_finite_;
    stats.moments = moments_;
    if (numeric_count_ > 0) {
      stats.min = quantiles_.min();
      stats.max = quantiles_.max();
      if (family_ != Family::kFloat) {
        stats.int_min = int_min_;
        stats.int_max = int_max_;
      }
    }
    stats.quantiles = std::move(quantiles_);
    stats.quantiles.Flush();
    p.type = family_ == Family::kInt ? ColumnType::kInt64
             : family_ == Family::kFloat ? ColumnType::kFloat64
                                         : ColumnType::kTimestamp;
    if (p.time_encoding != TimeEncoding::kIso8601 && p.time_encoding != TimeEncoding::kNone) {
      // Epoch numbers: restate every statistic in microseconds.
      const auto factor = MicrosPerUnit(p.time_encoding);
      const auto f = static_cast<double>(factor);
      p.type = ColumnType::kTimestamp;
      stats.min *= f;
      stats.max *= f;
      stats.int_min = family_ == Family::kInt ? int_min_ * factor : std::llround(stats.min);
      stats.int_max = family_ == Family::kInt ? int_max_ * factor : std::llround(stats.max);
      stats.moments.mean *= f;
      stats.moments.m2 *= f * f;
      stats.quantiles.Scale(f);
    }
    p.numeric = std::move(stats);
  } else {
    p.type = family_ == Family::kBool ? ColumnType::kBool : ColumnType::kString;
    p.top_values = std::move(top_);
  }
  p.name = std::move(name_);
  return p;
}

}  // namespace ferry::table
