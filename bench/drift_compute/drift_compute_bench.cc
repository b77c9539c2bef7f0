// Drift of 100 features over a live window, computed as a served model's monitor computes
// it (bench/drift_compute/run runs it, beside its peer evidently_drift.py):
//
//   drift_compute_bench DIR [--rows N] [--repeat N] [--references exact|sketch] [--out FILE]
//
// DIR holds what drift_compute_data wrote. Four steps, each timed on its own:
//   profile     TableProfiler over reference.csv in 4 MiB blocks: what `ferry data add`
//               computes once per dataset version;
//   references  what loading the model version does, once: the profile read back from
//               its JSON and, for each feature, ReferenceFromAllValues on the reference's
//               values (reference.f32 here; the dataset's CSV through ReadBatches in
//               ferry, for references within kMaxExactReferenceCells) or, with
//               --references sketch, ReferenceFromProfile (the profile's sketches);
//   ingest      the first N rows of current.f32 (default: all), one LiveWindow::Add per
//               row as a single-row request adds them, timestamps spread over 55 minutes
//               of the default one-hour window; the file is read in blocks of 8192 rows
//               outside the timing, so no more than a block is ever in memory;
//   compute     LiveWindow::Merge + ComputeDrift with the default MonitoringPolicy, what
//               a drift report costs; run --repeat times (default 21), median kept.
// Beside ingest, the floor: one pass summing the same values, block by block.
//
// Prints key=value lines (seconds unless named otherwise) and writes the verdicts to
// --out as TSV: name, method, statistic, drifted (1, 0, or - for no verdict).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "monitoring/drift_report.h"
#include "monitoring/feature_reference.h"
#include "monitoring/live_window.h"
#include "monitoring/monitoring_policy.h"
#include "table/table_profiler.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ferry::monitoring::ColumnDrift;
using ferry::monitoring::DriftMethod;
using ferry::monitoring::FeatureReference;

constexpr size_t kBlockRows = 8192;
constexpr int64_t kSpreadMicros = int64_t{55} * 60 * 1'000'000;

[[noreturn]] void Die(std::string_view what, const absl::Status& status = absl::OkStatus()) {
  std::fprintf(stderr, "drift_compute_bench: %.*s%s%s\n", static_cast<int>(what.size()),
               what.data(), status.ok() ? "" : ": ", status.ok() ? "" : status.ToString().c_str());
  std::exit(1);
}

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

ferry::table::TableProfile ProfileCsv(const fs::path& path) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) Die("cannot open " + path.string());
  auto profiler = ferry::table::TableProfiler::Create(ferry::table::Format::kCsv, {});
  if (!profiler.ok()) Die("profiler", profiler.status());
  std::string block(size_t{4} << 20, '\0');
  size_t got = 0;
  while ((got = std::fread(block.data(), 1, block.size(), in)) > 0) {
    if (absl::Status s = (*profiler)->Consume(std::string_view(block.data(), got)); !s.ok()) {
      Die("profiling " + path.string(), s);
    }
  }
  std::fclose(in);
  auto profile = (*profiler)->Finish();
  if (!profile.ok()) Die("profiling " + path.string(), profile.status());
  return *std::move(profile);
}

// A whole little-endian float32 file.
std::vector<float> ReadFloats(const fs::path& path) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) Die("cannot open " + path.string());
  std::vector<float> values(fs::file_size(path) / sizeof(float));
  if (std::fread(values.data(), sizeof(float), values.size(), in) != values.size()) {
    Die("short read of " + path.string());
  }
  std::fclose(in);
  return values;
}

// The columns of the profile, in its order, with their references (as a model whose
// inputs are the profile's columns gets them).
struct Monitored {
  std::vector<FeatureReference> references;
  ferry::monitoring::MonitoredColumns columns;
  std::vector<bool> sampled;
};

// `all_values`, when not empty, holds every reference value (row-major, one column per
// profile column): the columns without exact counts then get exact references, as a
// served model whose reference is within kMaxExactReferenceCells gets them at load
// (serving/model_monitoring.cc reads them with DatasetStore::ReadBatches).
Monitored References(const ferry::table::TableProfile& profile,
                     const ferry::monitoring::MonitoringPolicy& policy,
                     const std::vector<float>& all_values) {
  Monitored out;
  out.references.reserve(profile.columns.size());
  const size_t width = profile.columns.size();
  for (size_t c = 0; c < width; ++c) {
    const auto& column = profile.columns[c];
    if (!all_values.empty() && column.numeric && !column.top_values) {
      std::vector<double> values;
      values.reserve(all_values.size() / width);
      for (size_t i = c; i < all_values.size(); i += width) values.push_back(all_values[i]);
      out.references.push_back(ferry::monitoring::ReferenceFromAllValues(
          profile, column.name, values, policy.psi_bins));
      continue;
    }
    auto ref = ferry::monitoring::ReferenceFromProfile(profile, column.name, policy.psi_bins);
    if (!ref.ok()) Die("reference of " + column.name, ref.status());
    out.references.push_back(*std::move(ref));
  }
  for (const FeatureReference& ref : out.references) {
    out.columns.names.push_back(ref.name);
    out.columns.references.push_back(&ref);
    out.columns.missing_reference.emplace_back();
    auto method = ref.MethodFor(policy.RuleFor(ref.name));
    out.sampled.push_back(method.ok() && *method == DriftMethod::kKolmogorovSmirnov);
  }
  return out;
}

// Window bytes of the counters that grow with the references: per slice and column,
// a count and a sum per bin, a count per category plus "unseen".
size_t CounterBytes(const Monitored& monitored, const ferry::monitoring::WindowSpec& spec) {
  size_t bytes = 0;
  for (const FeatureReference& ref : monitored.references) {
    const size_t bins = ref.numeric() ? ref.edges.size() - 1 : 0;
    const size_t categories = ref.categorical() ? ref.categories.size() + 1 : 0;
    bytes += sizeof(ferry::monitoring::ColumnCounts) + bins * 16 + categories * 8;
  }
  return bytes * static_cast<size_t>(spec.slices);
}

void WriteVerdicts(const fs::path& path, const std::vector<ColumnDrift>& features) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) Die("cannot write " + path.string());
  for (const ColumnDrift& d : features) {
    std::fprintf(out, "%s\t%s\t%.9g\t%s\n", d.name.c_str(),
                 std::string(ferry::monitoring::DriftMethodName(d.method)).c_str(),
                 d.statistic.value_or(-1),
                 !d.drifted   ? "-"
                 : *d.drifted ? "1"
                              : "0");
  }
  std::fclose(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: drift_compute_bench DIR [--rows N] [--repeat N] [--out FILE]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  int64_t rows = 0;  // 0: all of current.f32
  int repeat = 21;
  bool exact = true;  // --references exact|sketch
  fs::path out_path;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--rows") {
      rows = std::atoll(argv[i + 1]);
    } else if (flag == "--repeat") {
      repeat = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--references") {
      exact = std::string_view(argv[i + 1]) != "sketch";
    } else if (flag == "--out") {
      out_path = argv[i + 1];
    } else {
      Die(std::string("unknown option ") + argv[i]);
    }
  }
  const ferry::monitoring::MonitoringPolicy policy;

  Clock::time_point start = Clock::now();
  const std::string profile_json = ProfileCsv(dir / "reference.csv").ToJson();
  const double profile_seconds = Seconds(Clock::now() - start);

  start = Clock::now();
  auto profile = ferry::table::TableProfile::FromJson(profile_json);
  if (!profile.ok()) Die("reading the profile back", profile.status());
  std::vector<float> reference_values;
  if (exact) reference_values = ReadFloats(dir / "reference.f32");
  const Monitored monitored = References(*profile, policy, reference_values);
  const double references_seconds = Seconds(Clock::now() - start);
  const size_t width = monitored.references.size();

  ferry::monitoring::LiveWindow window(policy.window, monitored.columns.references,
                                       monitored.sampled, policy.ks_sample, 0, 1);
  std::FILE* in = std::fopen((dir / "current.f32").c_str(), "rb");
  if (in == nullptr) Die("cannot open current.f32");
  const auto file_rows = static_cast<int64_t>(fs::file_size(dir / "current.f32") / 4 / width);
  if (rows <= 0 || rows > file_rows) rows = file_rows;
  std::vector<float> block(kBlockRows * width);
  Clock::duration ingest{0}, floor{0};
  volatile double sink = 0;
  int64_t done = 0;
  while (done < rows) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(kBlockRows, rows - done));
    if (std::fread(block.data(), sizeof(float) * width, want, in) != want) Die("short read");
    start = Clock::now();
    double lanes[8] = {};  // independent sums: a pass bound by memory, not by add latency
    for (size_t i = 0; i + 8 <= want * width; i += 8) {
      for (size_t k = 0; k < 8; ++k) lanes[k] += block[i + k];
    }
    for (double lane : lanes) sink = sink + lane;
    floor += Clock::now() - start;
    start = Clock::now();
    for (size_t r = 0; r < want; ++r) {
      const int64_t now = (done + static_cast<int64_t>(r)) * kSpreadMicros / rows;
      window.Add(now, std::span<const float>(block.data() + r * width, width), 1,
                 0.0005 + static_cast<double>(r % 100) * 1e-5);
    }
    ingest += Clock::now() - start;
    done += static_cast<int64_t>(want);
  }
  std::fclose(in);

  const int64_t now = kSpreadMicros;
  std::vector<double> computes;
  ferry::monitoring::DriftReport report;
  for (int i = 0; i < repeat; ++i) {
    start = Clock::now();
    const ferry::monitoring::WindowContents contents = window.Merge(now);
    report = ferry::monitoring::ComputeDrift(monitored.columns, contents, policy);
    computes.push_back(Seconds(Clock::now() - start));
    if (contents.monitored_rows != rows) Die("the window lost rows: check the time spread");
  }
  std::sort(computes.begin(), computes.end());
  if (!out_path.empty()) WriteVerdicts(out_path, report.features);

  const double values = static_cast<double>(rows) * static_cast<double>(width);
  std::printf("rows=%lld\nfeatures=%zu\n", static_cast<long long>(rows), width);
  std::printf("profile_seconds=%.6f\nreferences_seconds=%.6f\n", profile_seconds,
              references_seconds);
  std::printf("ingest_seconds=%.6f\ningest_ns_per_value=%.3f\n", Seconds(ingest),
              Seconds(ingest) * 1e9 / values);
  std::printf("floor_seconds=%.6f\n", Seconds(floor));
  std::printf("compute_seconds=%.9f\ncompute_min_seconds=%.9f\n", computes[computes.size() / 2],
              computes.front());
  std::printf("window_counter_bytes=%zu\n", CounterBytes(monitored, policy.window));
  std::printf("features_drifted=%lld\nfeatures_with_verdict=%lld\n",
              static_cast<long long>(report.features_drifted),
              static_cast<long long>(report.features_with_verdict));
  return 0;
}
