// Writes the data of the drift_compute benchmark into a folder, from a fixed seed:
//
//   drift_compute_data DIR [--reference-rows N] [--current-rows N]
//
//   DIR/reference.csv   the training set: a header f000..f099 and N rows (default 100,000)
//   DIR/reference.f32   the same values, little-endian float32, row-major (N x 100)
//   DIR/current.f32     the live window: M rows x 100 (default 1,000,000), row-major
//   DIR/features.tsv    per feature: name, kind, the shift applied to the window
//
// ferry profiles reference.csv and feeds current.f32 row by row to its live window; the
// peer (evidently_drift.py) reads both .f32 files. Same values on both sides: the CSV
// holds each float32 in its shortest round-trip form.
//
// The 100 features, by i % 10: 0-3 normal, 4-6 lognormal, 7-8 uniform integers in
// 0..9999, 9 a few values (2, 4 or 5 of them, so the categorical path runs). The window's
// shift, by i / 10: groups 0-4 and 9 none; 5 small (well under Evidently's threshold of
// 0.1); 6 moderate, 7 large, 8 a change of scale (all drifted, by construction).
// Same arguments, same bytes (with the same libstdc++: std's distributions).

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kFeatures = 100;

enum class Kind { kNormal, kLognormal, kInteger, kFewValues };
enum class Shift { kNone, kSmall, kModerate, kLarge, kScale };

Kind KindOf(int feature) {
  const int k = feature % 10;
  if (k <= 3) return Kind::kNormal;
  if (k <= 6) return Kind::kLognormal;
  if (k <= 8) return Kind::kInteger;
  return Kind::kFewValues;
}

// By group of ten features: none for groups 0-4 and 9.
Shift ShiftOf(int feature) {
  static constexpr Shift kByGroup[] = {
      Shift::kNone,  Shift::kNone,     Shift::kNone,  Shift::kNone,  Shift::kNone,
      Shift::kSmall, Shift::kModerate, Shift::kLarge, Shift::kScale, Shift::kNone};
  return kByGroup[feature / 10];
}

// Names in the order of the enums.
constexpr const char* kKindNames[] = {"normal", "lognormal", "integer", "few_values"};
constexpr const char* kShiftNames[] = {"none", "small", "moderate", "large", "scale"};

// One feature's distribution, on the reference (shifted = false) or in the window.
class FeatureSource {
 public:
  FeatureSource(int feature, bool shifted) {
    const Kind kind = KindOf(feature);
    const Shift shift = shifted ? ShiftOf(feature) : Shift::kNone;
    // Location shifts: in reference standard deviations (normal), of mu (lognormal), in
    // 3000s (integer); for few values, the weight moved towards the reversed
    // probabilities. A change of scale widens the spread by half.
    const double by = shift == Shift::kSmall      ? 0.03
                      : shift == Shift::kModerate ? 0.25
                      : shift == Shift::kLarge    ? 1.0
                                                  : 0.0;
    const double scale = shift == Shift::kScale ? 1.5 : 1.0;
    switch (kind) {
      case Kind::kNormal: {
        const double sd = 1.0 + feature % 7;
        normal_ = std::normal_distribution<double>(feature + by * sd, sd * scale);
        break;
      }
      case Kind::kLognormal: {
        const double sigma = 0.5 + 0.1 * (feature % 5);
        lognormal_ = std::lognormal_distribution<double>(by, sigma * scale);
        break;
      }
      case Kind::kInteger: {
        const int low = static_cast<int>(by * 3000);
        const int high = low + static_cast<int>(9999 * scale);
        integer_ = std::uniform_int_distribution<int>(low, high);
        break;
      }
      case Kind::kFewValues: {
        static constexpr std::array<std::array<double, 5>, 3> kBase = {
            {{0.7, 0.3, 0, 0, 0}, {0.4, 0.3, 0.2, 0.1, 0}, {0.35, 0.25, 0.2, 0.12, 0.08}}};
        const int variant = (feature / 10) % 3;
        const int count = variant == 0 ? 2 : variant == 1 ? 4 : 5;
        const double mix = shift == Shift::kSmall      ? 0.02
                           : shift == Shift::kModerate ? 0.5
                           : shift == Shift::kLarge    ? 1.0
                           : shift == Shift::kScale    ? 0.75
                                                       : 0.0;
        std::vector<double> weights;
        for (int v = 0; v < count; ++v) {
          weights.push_back((1 - mix) * kBase[variant][v] + mix * kBase[variant][count - 1 - v]);
        }
        few_ = std::discrete_distribution<int>(weights.begin(), weights.end());
        few_offset_ = variant == 1 ? 1 : 0;  // {1,2,3,4}; the others start at 0
        break;
      }
    }
    kind_ = kind;
  }

  float Next(std::mt19937_64& rng) {
    switch (kind_) {
      case Kind::kNormal:
        return static_cast<float>(normal_(rng));
      case Kind::kLognormal:
        return static_cast<float>(lognormal_(rng));
      case Kind::kInteger:
        return static_cast<float>(integer_(rng));
      case Kind::kFewValues:
        return static_cast<float>(few_(rng) + few_offset_);
    }
    return 0;
  }

 private:
  Kind kind_ = Kind::kNormal;
  std::normal_distribution<double> normal_;
  std::lognormal_distribution<double> lognormal_;
  std::uniform_int_distribution<int> integer_;
  std::discrete_distribution<int> few_;
  int few_offset_ = 0;
};

// Writes `rows` rows from `sources` to `f32` and, when given, as CSV to `csv`.
bool WriteRows(std::vector<FeatureSource>& sources, int64_t rows, uint64_t seed, std::FILE* f32,
               std::FILE* csv) {
  std::mt19937_64 rng(seed);
  std::vector<float> row(kFeatures);
  std::string line;
  for (int64_t r = 0; r < rows; ++r) {
    for (int f = 0; f < kFeatures; ++f) row[f] = sources[f].Next(rng);
    if (std::fwrite(row.data(), sizeof(float), row.size(), f32) != row.size()) return false;
    if (csv == nullptr) continue;
    line.clear();
    for (int f = 0; f < kFeatures; ++f) {
      char buffer[32];
      const auto end = std::to_chars(buffer, buffer + sizeof(buffer), row[f]).ptr;
      line.append(buffer, end);
      line += f + 1 == kFeatures ? '\n' : ',';
    }
    if (std::fwrite(line.data(), 1, line.size(), csv) != line.size()) return false;
  }
  return true;
}

std::string Name(int feature) {
  char name[8];
  std::snprintf(name, sizeof(name), "f%03d", feature);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: drift_compute_data DIR [--reference-rows N] [--current-rows N]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  int64_t reference_rows = 100'000;
  int64_t current_rows = 1'000'000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const int64_t value = std::atoll(argv[i + 1]);
    if (flag == "--reference-rows" && value > 0) {
      reference_rows = value;
    } else if (flag == "--current-rows" && value > 0) {
      current_rows = value;
    } else {
      std::fprintf(stderr, "drift_compute_data: bad option %s %s\n", argv[i], argv[i + 1]);
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  std::vector<FeatureSource> reference, current;
  std::FILE* plan = std::fopen((dir / "features.tsv").c_str(), "w");
  std::FILE* csv = std::fopen((dir / "reference.csv").c_str(), "w");
  std::FILE* reference_f32 = std::fopen((dir / "reference.f32").c_str(), "wb");
  std::FILE* current_f32 = std::fopen((dir / "current.f32").c_str(), "wb");
  if (plan == nullptr || csv == nullptr || reference_f32 == nullptr || current_f32 == nullptr) {
    std::fprintf(stderr, "drift_compute_data: cannot create the files in %s\n", dir.c_str());
    return 1;
  }
  for (int f = 0; f < kFeatures; ++f) {
    reference.emplace_back(f, false);
    current.emplace_back(f, true);
    std::fprintf(plan, "%s\t%s\t%s\n", Name(f).c_str(), kKindNames[static_cast<int>(KindOf(f))],
                 kShiftNames[static_cast<int>(ShiftOf(f))]);
    std::fprintf(csv, "%s%c", Name(f).c_str(), f + 1 == kFeatures ? '\n' : ',');
  }
  const bool ok = WriteRows(reference, reference_rows, 42, reference_f32, csv) &&
                  WriteRows(current, current_rows, 43, current_f32, nullptr);
  const bool closed = std::fclose(plan) == 0 && std::fclose(csv) == 0 &&
                      std::fclose(reference_f32) == 0 && std::fclose(current_f32) == 0;
  if (!ok || !closed) {
    std::fprintf(stderr, "drift_compute_data: writing to %s failed\n", dir.c_str());
    return 1;
  }
  return 0;
}
