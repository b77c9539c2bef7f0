// The split step (builtin_steps.h): the rows of `data` into train, validation and test
// datasets.
//
// Each row goes to one part, decided without looking at other rows except for `by: time`:
//   - random: a hash of (seed, row number) -- or of (seed, the `key` column's value), so
//     rows with equal keys land together -- as a number u in [0, 1): u below the train
//     fraction is train, below train + validation is validation, the rest test;
//   - time: the `time_column` values sorted; the cuts fall at the fractions' row counts,
//     each moved to the nearer edge of the run of equal times it would cut through, so
//     equal times never straddle parts; earliest rows are train, latest test.
// Every part keeps the input's row order. Values are written back as ferry reads them
// (CsvWriter: floats in shortest round-trip form; NaN and infinities as nan / inf, which
// read back as the same floats), so the same data and params give the same bytes.
// Reading streams: one pass for random splits, two (the time column, then all) for time.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/file.h"
#include "core/strings.h"
#include "dataset/dataset_ref.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/step_errors.h"
#include "table/csv_writer.h"
#include "table/hash.h"
#include "table/random.h"

namespace ferry::pipeline {
namespace {

using core::Cat;
using table::ColumnArray;
using table::ColumnType;
namespace fs = std::filesystem;

constexpr size_t kBatchRows = 65'536;
constexpr std::array<std::string_view, 3> kParts = {"train", "validation", "test"};

// The cumulative fractions: a row at u in [0, 1) (or at position u of the time order) is
// part 0 below cuts[0], part 1 below cuts[1], part 2 otherwise. Normalised by the sum, so
// a zero last fraction makes its cut exactly 1.
struct Cuts {
  double first = 0;
  double second = 0;
};

absl::StatusOr<Cuts> ReadCuts(const StepContext& context) {
  std::array<double, 3> fractions{};
  for (size_t i = 0; i < kParts.size(); ++i) {
    ASSIGN_OR_RETURN(fractions[i], ParamDouble(context, kParts[i], 0, 1));
  }
  const double sum = fractions[0] + fractions[1] + fractions[2];
  if (std::fabs(sum - 1) > 1e-9) {
    return StepInvalid(context, "params train, validation and test must sum to 1, not ",
                       fmt::format("{:.10g}", sum), " (", fractions[0], " + ", fractions[1], " + ",
                       fractions[2], ")");
  }
  return Cuts{fractions[0] / sum, (fractions[0] + fractions[1]) / sum};
}

size_t PartOfUnit(double u, const Cuts& cuts) {
  return u < cuts.first ? 0 : u < cuts.second ? 1 : 2;
}

uint64_t Mix(uint64_t x) { return table::SplitMix64(x).Next(); }
double Unit(uint64_t hash) { return static_cast<double>(hash >> 11) * 0x1.0p-53; }

// A hash of one key value with its type, so 1 (int) and "1" (string) differ; nulls hash
// alike and so stay together.
uint64_t KeyHash(const ColumnArray& c, size_t row) {
  if (c.IsNull(row)) return Mix(0x6e756c6cULL);
  char bytes[9] = {};
  bytes[0] = static_cast<char>(c.type);
  switch (c.type) {
    case ColumnType::kString: {
      const std::string_view value = c.StringAt(row);
      return Mix(table::HashBytes(value.data(), value.size()) ^ static_cast<uint64_t>(c.type));
    }
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      std::memcpy(bytes + 1, &c.int64_values[row], 8);
      break;
    case ColumnType::kFloat64: {
      const double value = c.float64_values[row] == 0 ? 0.0 : c.float64_values[row];
      std::memcpy(bytes + 1, &value, 8);
      break;
    }
    case ColumnType::kBool:
      bytes[1] = static_cast<char>(c.bool_values[row]);
      break;
  }
  return Mix(table::HashBytes(bytes, sizeof(bytes)));
}

// An integer ordered as the time values are: timestamps and int64 by value, floats by
// their IEEE bits made monotonic (-0 taken as 0). nullopt for NaN.
std::optional<uint64_t> TimeKey(const ColumnArray& c, size_t row) {
  if (c.type == ColumnType::kFloat64) {
    const double value = c.float64_values[row] == 0 ? 0.0 : c.float64_values[row];
    if (std::isnan(value)) return std::nullopt;
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    return (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
  }
  return static_cast<uint64_t>(c.int64_values[row]) ^ (uint64_t{1} << 63);
}

// The time keys at which the parts change: keys below `first` are train, below `second`
// validation; nullopt is past every key.
struct TimeCuts {
  std::optional<uint64_t> first;
  std::optional<uint64_t> second;
};

TimeCuts CutTimes(std::vector<uint64_t> keys, const Cuts& cuts) {
  std::sort(keys.begin(), keys.end());
  const size_t n = keys.size();
  const auto cut_at = [&](double fraction) -> std::optional<uint64_t> {
    const size_t c = std::min(n, static_cast<size_t>(std::llround(fraction * n)));
    if (c == n) return std::nullopt;
    const size_t lo = std::lower_bound(keys.begin(), keys.end(), keys[c]) - keys.begin();
    const size_t hi = std::upper_bound(keys.begin(), keys.end(), keys[c]) - keys.begin();
    // The run [lo, hi) of equal times goes wholly to the side that holds more of it.
    const size_t at = (c - lo >= hi - c && c != lo) ? hi : lo;
    if (at == n) return std::nullopt;
    return keys[at];
  };
  return TimeCuts{cut_at(cuts.first), cut_at(cuts.second)};
}

size_t PartOfTime(uint64_t key, const TimeCuts& cuts) {
  if (!cuts.first || key < *cuts.first) return 0;
  if (!cuts.second || key < *cuts.second) return 1;
  return 2;
}

void WriteValue(table::CsvWriter& out, const ColumnArray& c, size_t row) {
  if (c.type == ColumnType::kFloat64 && !c.IsNull(row) && !std::isfinite(c.float64_values[row])) {
    // CsvWriter writes these as null; "nan", "inf", "-inf" read back as the same floats.
    char text[8];
    const auto end = std::to_chars(text, text + sizeof(text), c.float64_values[row]).ptr;
    return out.String(std::string_view(text, end - text));
  }
  table::WriteColumnValue(out, c, row);
}

// One part's file while it is written.
struct PartFile {
  std::string dataset;
  bool declared = false;  // an output of the step: written and handed back
  fs::path path;
  std::optional<core::AtomicFile> file;
  std::optional<table::CsvWriter> writer;
  int64_t rows = 0;
};
using Parts = std::array<PartFile, 3>;

// The parts' datasets, and which of them the step declares. InvalidArgument for a
// prefix that makes no dataset name.
absl::StatusOr<Parts> NameParts(const StepContext& context, const std::string& prefix) {
  Parts parts;
  const auto& outputs = context.step().outputs;
  for (size_t i = 0; i < parts.size(); ++i) {
    parts[i].dataset = Cat(prefix, "_", kParts[i]);
    absl::Status valid = dataset::ValidateDatasetName(parts[i].dataset);
    if (!valid.ok()) return StepInvalid(context, "param dataset_prefix: ", valid.message());
    parts[i].declared = std::find(outputs.begin(), outputs.end(), kParts[i]) != outputs.end();
  }
  return parts;
}

// Which part a row goes to.
struct PartChooser {
  Cuts cuts;
  uint64_t seed_hash = 0;
  std::optional<size_t> key_index;   // a random split by key
  std::optional<size_t> time_index;  // a time split, with time_cuts
  TimeCuts time_cuts;

  // Row `r` of `batch`, row `row` of the data.
  size_t Of(const table::RecordBatch& batch, size_t r, int64_t row) const {
    if (time_index) return PartOfTime(*TimeKey(batch.columns[*time_index], r), time_cuts);
    const uint64_t hash =
        key_index ? KeyHash(batch.columns[*key_index], r) : Mix(static_cast<uint64_t>(row));
    return PartOfUnit(Unit(Mix(seed_hash ^ hash)), cuts);
  }
};

// Writes every row of `data` into its part's file (declared parts only; all are
// counted) and commits the files: each is complete before any becomes a version.
absl::Status WriteParts(StepContext& context, const dataset::VersionRecord& data,
                        const table::Schema& schema, const PartChooser& chooser, Parts& parts) {
  for (PartFile& part : parts) {
    if (!part.declared) continue;
    part.path = context.work_dir() / Cat(part.dataset, ".csv");
    ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(part.path));
    part.file.emplace(std::move(file));
    part.writer.emplace(part.file->fd());
    for (const table::ColumnSchema& column : schema.columns) part.writer->String(column.name);
    RETURN_IF_ERROR(part.writer->EndRow());
  }
  int64_t row = 0;
  RETURN_IF_ERROR(context.services().datasets.ReadBatches(
      data, {}, kBatchRows, [&](table::RecordBatch batch) -> absl::Status {
        for (size_t r = 0; r < static_cast<size_t>(batch.num_rows); ++r, ++row) {
          PartFile& to = parts[chooser.Of(batch, r, row)];
          ++to.rows;
          if (!to.declared) continue;
          for (const ColumnArray& c : batch.columns) WriteValue(*to.writer, c, r);
          RETURN_IF_ERROR(to.writer->EndRow());
        }
        return absl::OkStatus();
      }));
  for (PartFile& part : parts) {
    if (!part.declared) continue;
    RETURN_IF_ERROR(part.writer->Flush());
    RETURN_IF_ERROR(part.file->Commit());
  }
  return absl::OkStatus();
}

// The time keys of every row, in order. InvalidArgument for a column that does not hold
// times or numbers, an empty value or NaN (naming the row).
absl::StatusOr<std::vector<uint64_t>> ReadTimeKeys(StepContext& context,
                                                   const dataset::VersionRecord& data,
                                                   const table::Schema& schema,
                                                   const std::string& column) {
  const std::optional<size_t> index = schema.Find(column);
  if (!index) {
    return StepInvalid(context, "param time_column: ", data.Ref(), " has no column \"", column,
                       "\"");
  }
  const ColumnType type = schema.columns[*index].type;
  if (type != ColumnType::kTimestamp && type != ColumnType::kInt64 &&
      type != ColumnType::kFloat64) {
    return StepInvalid(context, "param time_column: column \"", column, "\" of ", data.Ref(),
                       " holds ", table::ColumnTypeName(type), ", not times or numbers");
  }
  std::vector<uint64_t> keys;
  RETURN_IF_ERROR(context.services().datasets.ReadBatches(
      data, {column}, kBatchRows, [&](table::RecordBatch batch) -> absl::Status {
        const ColumnArray& c = batch.columns.front();
        for (size_t r = 0; r < c.size(); ++r) {
          const std::optional<uint64_t> key = c.IsNull(r) ? std::nullopt : TimeKey(c, r);
          if (!key) {
            return StepInvalid(context, data.Ref(), " row ", keys.size() + 1, ": \"", column,
                               "\" is ", c.IsNull(r) ? "empty" : "not a number");
          }
          keys.push_back(*key);
        }
        return absl::OkStatus();
      }));
  return keys;
}

// How the params say to choose parts, with the time cuts of a time split read from the
// data. Errors name the step and param.
absl::StatusOr<PartChooser> ReadChooser(StepContext& context, const dataset::VersionRecord& data,
                                        const table::Schema& schema) {
  PartChooser chooser;
  ASSIGN_OR_RETURN(chooser.cuts, ReadCuts(context));
  ASSIGN_OR_RETURN(const std::string by, ParamText(context, "by"));
  if (by != "random" && by != "time") {
    return StepInvalid(context, "param by: expected random or time, got \"", by, "\"");
  }
  ASSIGN_OR_RETURN(const int64_t seed, ParamInt(context, "seed", INT64_MIN, INT64_MAX));
  chooser.seed_hash = Mix(static_cast<uint64_t>(seed));
  if (const std::optional<std::string> key = OptionalParamText(context, "key")) {
    if (by == "time") {
      return StepInvalid(context, "param key: only a random split groups rows by a key");
    }
    chooser.key_index = schema.Find(*key);
    if (!chooser.key_index) {
      return StepInvalid(context, "param key: ", data.Ref(), " has no column \"", *key, "\"");
    }
  }
  if (by == "time") {
    ASSIGN_OR_RETURN(const std::string column, ParamText(context, "time_column"));
    ASSIGN_OR_RETURN(std::vector<uint64_t> keys, ReadTimeKeys(context, data, schema, column));
    chooser.time_cuts = CutTimes(std::move(keys), chooser.cuts);
    chooser.time_index = schema.Find(column);
  }
  return chooser;
}

}  // namespace

absl::StatusOr<StepOutcome> RunSplitStep(StepContext& context) {
  const std::string prefix = OptionalParamText(context, "dataset_prefix")
                                 .value_or(Cat(context.pipeline_name(), "_", context.step().id));
  ASSIGN_OR_RETURN(Parts parts, NameParts(context, prefix));
  STEP_ASSIGN_OR_RETURN(context, const dataset::VersionRecord data, context.InputDataset("data"));
  if (!data.profile) {
    return StepInvalid(context, "input data (", data.Ref(), ") is not tabular data");
  }
  STEP_ASSIGN_OR_RETURN(context, const table::TableProfile profile,
                        context.services().datasets.Profile(data));
  const table::Schema schema = profile.schema();
  ASSIGN_OR_RETURN(const PartChooser chooser, ReadChooser(context, data, schema));
  STEP_RETURN_IF_ERROR(context, WriteParts(context, data, schema, chooser, parts));

  const std::string by = chooser.time_index ? "time" : "random";
  tracking::RunBatch batch;
  std::string counts;
  for (size_t i = 0; i < parts.size(); ++i) {
    batch.metrics.push_back({Cat("rows_", kParts[i]), static_cast<double>(parts[i].rows), 0, 0});
    counts += Cat(i == 0 ? "" : ", ", kParts[i], " ", parts[i].rows);
    if (!parts[i].declared) continue;
    DatasetOutputOptions output;
    output.dataset = parts[i].dataset;
    output.message = Cat(kParts[i], " rows of ", data.Ref(), " (", by, " split, step ",
                         context.step().id, " of pipeline ", context.pipeline_name(), ")");
    output.derived_from.push_back(
        {{std::string(lineage::kind::kDatasetVersion), data.Ref()}, "split"});
    STEP_RETURN_IF_ERROR(context, context.OutputDataset(kParts[i], parts[i].path, output).status());
  }
  STEP_RETURN_IF_ERROR(context, context.Log(batch));
  return StepOutcome{false, Cat(by, " split of ", data.Ref(), ": ", counts, " rows")};
}

}  // namespace ferry::pipeline
