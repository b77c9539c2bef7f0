#pragma once

// ColumnProfileBuilder: accumulates one column's values, in one pass, into a
// ColumnProfile: its inferred type and the statistics of that type.
//
// Type inference tracks one "family" at a time: the first non-null value picks bool,
// int64, float64, timestamp or string (value_parse.h has the rules); a later value that
// does not fit widens int64 to float64 or, otherwise, turns the column into a string
// column for good. Numeric statistics (moments, quantiles) are kept while the column is
// numeric or timestamp and dropped if it becomes string, so a string column carries no
// numeric junk. The statistics every type needs (distinct count, lengths, top values)
// run on the value's text from the start, so a column that turns string late still has
// exact string statistics — except top values of a column that had more than 64
// distinct numbers before turning string: those counts may then fall short by the
// number of values not counted, which max_error() reports.
//
// Integer-valued or float columns whose name says they hold times (IsTimeLikeName)
// become timestamp columns at Finish when all their values are plausible epoch times in
// one unit (see docs/table-profile.md).
//
// Hot path: one hash per value (shared by the distinct and top-value sketches), one parse
// for the column's current type, and numeric values batched 128 at a time into the
// moments and the quantile sketch. CSV fields come a column's batch at a time (AddTexts)
// and run through a loop specialised for the column's type until one does not fit.
//
// Thread-safety: not thread-safe.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "table/table_profile.h"
#include "table/value_parse.h"

namespace ferry::table {

class ColumnProfileBuilder {
 public:
  ColumnProfileBuilder(std::string name, int kll_k, uint64_t seed);

  // Every Add copies what it keeps of the text before returning.
  //
  // A CSV field's text (non-empty: empty fields are nulls and are not added).
  void AddText(std::string_view text) { AddTexts({&text, 1}); }
  // A column's CSV fields, in order; empty ones are nulls and are skipped. Values of the
  // column's current type are added in a loop for that type; a misfit reclassifies.
  void AddTexts(std::span<const std::string_view> texts);
  // JSON values, with their text (jsonl_tokenizer.h).
  void AddInt(int64_t value, std::string_view text);
  void AddFloat(double value, std::string_view text);
  void AddBool(bool value, std::string_view text);
  void AddString(std::string_view text);  // a timestamp if it parses as one
  void AddNested(std::string_view text);

  // The profile, given how many rows the table has (the non-added ones are nulls).
  ColumnProfile Finish(int64_t row_count) &&;

 private:
  enum class Family : uint8_t { kNone, kBool, kInt, kFloat, kTimestamp, kString };
  // Numeric values are moments' batches of kBatch; kBuffered of them (several batches)
  // go to the moments and the quantile sketch at once.
  static constexpr size_t kBatch = 128;
  static constexpr size_t kBuffered = 4 * kBatch;

  // What every value costs: counts and lengths; returns the value's hash. The caller
  // then counts it in the distinct and top-value sketches (CountNumeric, CountString).
  uint64_t Note(std::string_view text) {
    ++count_;
    const auto size = static_cast<int64_t>(text.size());
    if (size < length_.min) length_.min = size;
    if (size > length_.max) length_.max = size;
    length_.total += size;
    return HashText(text);
  }
  static uint64_t HashText(std::string_view text);
  // A value the top-value sketch tracks was added to the distinct sketch when it was
  // first seen, so a hit there skips the distinct sketch. Numeric columns stop counting
  // top values at the first value that would need an eviction.
  void CountNumeric(uint64_t hash, std::string_view text) {
    if (!top_paused_) {
      const uint64_t key = TopValues::KeyOf(hash, text);
      if (top_.Increment(key)) {
        if (key != hash) distinct_.Add(hash);  // see CountString
        return;
      }
      distinct_.Add(hash);
      if (top_.InsertIfRoom(key, text)) return;
      top_paused_ = true;
    } else {
      distinct_.Add(hash);
    }
    ++top_skipped_;
  }
  void CountString(uint64_t hash, std::string_view text) {
    const uint64_t key = TopValues::KeyOf(hash, text);
    if (top_.Increment(key)) {
      // A long value shares its counter with every value of the same first bytes: only a
      // short value's hit proves the distinct sketch has seen it.
      if (key != hash) distinct_.Add(hash);
      return;
    }
    distinct_.Add(hash);
    top_.AddNew(key, text);
  }
  void AddExactInt(int64_t value) {
    if (value < int_min_) int_min_ = value;
    if (value > int_max_) int_max_ = value;
    AddNumber(static_cast<double>(value));
  }
  void AddDouble(double value);
  // Adds values from `it` on while `add` (one family's parse-and-count) takes them,
  // skipping nulls; returns where `add` refused one, or `end`.
  template <typename Add>
  static const std::string_view* AddRun(const std::string_view* it, const std::string_view* end,
                                        Add add);
  void AddNumber(double value) {
    ++numeric_count_;
    batch_[batch_size_++] = value;
    if (batch_size_ == kBuffered) FlushBatch();
  }
  void FlushBatch();
  // The slow path: the first value, a widening, or the switch to string.
  void Reclassify(std::string_view text, uint64_t hash);
  void BecomeString(std::string_view text, uint64_t hash);
  // A JSON value that makes or keeps the column a string column.
  void CountAsString(uint64_t hash, std::string_view text);
  void StartNumeric(Family family);
  // At Finish: epoch seconds/millis/micros for time-like names, if plausible.
  TimeEncoding EpochEncoding() const;

  std::string name_;
  Family family_ = Family::kNone;
  int64_t count_ = 0;
  LengthStats length_{std::numeric_limits<int64_t>::max(), 0, 0};
  DistinctSketch distinct_;
  TopValues top_;
  bool top_paused_ = false;
  int64_t top_skipped_ = 0;
  int64_t true_count_ = 0;
  int64_t false_count_ = 0;
  TimestampParser timestamps_;

  // Numeric families (int, float, timestamp).
  int64_t numeric_count_ = 0;
  int64_t int_min_ = std::numeric_limits<int64_t>::max();
  int64_t int_max_ = std::numeric_limits<int64_t>::min();
  int64_t non_finite_ = 0;
  Moments moments_;
  KllSketch quantiles_;
  size_t batch_size_ = 0;
  std::vector<double> batch_;  // kBuffered values, allocated by StartNumeric
};

}  // namespace ferry::table
