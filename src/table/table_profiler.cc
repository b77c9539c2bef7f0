#include "table/table_profiler.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "table/column_profile_builder.h"
#include "table/csv_tokenizer.h"
#include "table/jsonl_tokenizer.h"

namespace ferry::table {
namespace {

// What the CSV and JSON Lines profilers share: the columns' builders, the row count and
// the sample, and turning them into a profile.
class ProfileState {
 public:
  ProfileState(Format format, const ProfilerOptions& options)
      : format_(format), options_(options) {}

  void AddColumn(std::string_view name) {
    builders_.emplace_back(std::string(name), options_.kll_k,
                           options_.seed ^ (0x9e3779b97f4a7c15ULL * (builders_.size() + 1)));
  }
  void StartSample(size_t columns) {
    const size_t by_cells = options_.max_sample_cells / std::max<size_t>(columns, 1);
    sample_.emplace(std::min(options_.sample_rows, std::max<size_t>(by_cells, 1)), options_.seed);
  }

  absl::StatusOr<TableProfile> Finish(const BadRowLog& bad_rows) {
    if (finished_) return absl::FailedPreconditionError("TableProfiler::Finish called twice");
    finished_ = true;
    TableProfile profile;
    profile.format = format_;
    profile.row_count = rows_;
    profile.bad_row_count = bad_rows.count;
    profile.bad_rows = bad_rows.first;
    profile.columns.reserve(builders_.size());
    for (ColumnProfileBuilder& b : builders_) profile.columns.push_back(std::move(b).Finish(rows_));
    if (!sample_) StartSample(builders_.size());
    profile.sample = std::move(*sample_);
    return profile;
  }

 protected:
  const Format format_;
  const ProfilerOptions options_;
  std::vector<ColumnProfileBuilder> builders_;
  std::optional<RowSample> sample_;
  std::vector<std::optional<std::string_view>> cells_;
  int64_t rows_ = 0;
  bool finished_ = false;
};

// Records come from the tokenizer in batches, column by column: one column's sketches
// then stay in cache over many values, where a wide table would otherwise miss the cache
// on every field, and each column's builder takes its values in one call.
class CsvProfiler final : public TableProfiler, CsvTokenizer::Handler, ProfileState {
 public:
  explicit CsvProfiler(const ProfilerOptions& options)
      : ProfileState(Format::kCsv, options),
        tokenizer_(options.lenient ? ErrorMode::kLenient : ErrorMode::kStrict, options.limits,
                   *this) {}

  absl::Status Consume(std::string_view bytes) override { return tokenizer_.Consume(bytes); }
  absl::StatusOr<TableProfile> Finish() override {
    if (!finished_) RETURN_IF_ERROR(tokenizer_.Finish());
    return ProfileState::Finish(tokenizer_.bad_rows());
  }

 private:
  absl::Status OnHeader(std::span<const std::string> names) override {
    builders_.reserve(names.size());
    for (const std::string& name : names) AddColumn(name);
    StartSample(names.size());
    cells_.resize(names.size());
    return absl::OkStatus();
  }

  absl::Status OnRecords(const CsvRecords& records) override {
    for (size_t c = 0; c < builders_.size(); ++c) builders_[c].AddTexts(records.column(c));
    for (size_t r = 0; r < records.size(); ++r) {
      if (!sample_->WantsNext()) {
        sample_->Skip();
        continue;
      }
      for (size_t c = 0; c < cells_.size(); ++c) {
        const std::string_view field = records.field(r, c);
        cells_[c] = field.empty() ? std::nullopt : std::optional<std::string_view>(field);
      }
      sample_->Offer(cells_);
    }
    rows_ += static_cast<int64_t>(records.size());
    return absl::OkStatus();
  }

  CsvTokenizer tokenizer_;
};

class JsonLinesProfiler final : public TableProfiler, JsonLinesTokenizer::Handler, ProfileState {
 public:
  explicit JsonLinesProfiler(const ProfilerOptions& options)
      : ProfileState(Format::kJsonLines, options),
        tokenizer_(options.lenient ? ErrorMode::kLenient : ErrorMode::kStrict, options.limits,
                   *this) {}

  absl::Status Consume(std::string_view bytes) override { return tokenizer_.Consume(bytes); }
  absl::StatusOr<TableProfile> Finish() override {
    if (!finished_) RETURN_IF_ERROR(tokenizer_.Finish());
    return ProfileState::Finish(tokenizer_.bad_rows());
  }

 private:
  using Cell = JsonLinesTokenizer::Cell;
  using Kind = JsonLinesTokenizer::ValueKind;

  absl::Status OnColumn(size_t, std::string_view name) override {
    AddColumn(name);
    return absl::OkStatus();
  }

  absl::Status OnRow(int64_t, std::span<const Cell> cells) override {
    // The sample's width is set by the first row (see ProfilerOptions).
    if (!sample_) StartSample(cells.size());
    for (const Cell& c : cells) {
      ColumnProfileBuilder& b = builders_[c.column];
      switch (c.kind) {
        case Kind::kNull:
          break;
        case Kind::kBool:
          b.AddBool(c.bool_value, c.text);
          break;
        case Kind::kInt:
          b.AddInt(c.int_value, c.text);
          break;
        case Kind::kFloat:
          b.AddFloat(c.float_value, c.text);
          break;
        case Kind::kString:
          b.AddString(c.text);
          break;
        case Kind::kNested:
          b.AddNested(c.text);
          break;
      }
    }
    if (sample_->WantsNext()) {
      cells_.assign(builders_.size(), std::nullopt);
      for (const Cell& c : cells) {
        if (c.kind != Kind::kNull) cells_[c.column] = c.text;
      }
      sample_->Offer(cells_);
    } else {
      sample_->Skip();
    }
    ++rows_;
    return absl::OkStatus();
  }

  JsonLinesTokenizer tokenizer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TableProfiler>> TableProfiler::Create(
    Format format, const ProfilerOptions& options) {
  if (options.kll_k < KllSketch::kMinK || options.kll_k > KllSketch::kMaxK) {
    return absl::InvalidArgumentError(core::Cat("kll_k ", options.kll_k, " is outside [",
                                                KllSketch::kMinK, ", ", KllSketch::kMaxK, "]"));
  }
  if (options.limits.max_columns == 0 || options.limits.max_field_bytes == 0 ||
      options.limits.max_record_bytes == 0) {
    return absl::InvalidArgumentError("input limits must be positive");
  }
  switch (format) {
    case Format::kCsv:
      return std::make_unique<CsvProfiler>(options);
    case Format::kJsonLines:
      return std::make_unique<JsonLinesProfiler>(options);
    case Format::kOpaque:
      break;
  }
  return absl::InvalidArgumentError("not a tabular format: nothing to profile");
}

absl::StatusOr<TableProfile> ProfileBytes(Format format, std::string_view bytes,
                                          const ProfilerOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TableProfiler> profiler, TableProfiler::Create(format, options));
  RETURN_IF_ERROR(profiler->Consume(bytes));
  return profiler->Finish();
}

}  // namespace ferry::table
