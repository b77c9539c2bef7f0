#pragma once

// MonitoringPolicy: how an endpoint's live traffic is compared with its model's training
// reference -- the sliding window, the drift method and threshold of each feature and of
// the prediction, and the live-quality window. Kept with the deployment (JSON) and given
// as YAML to `ferry deploy --monitoring FILE` (docs/monitoring.md has every key).
//
// Drift methods. "auto" picks Evidently's default test for the feature from the
// reference: with at most 1000 reference rows, Kolmogorov-Smirnov for a numeric feature
// with more than 5 distinct values, the Z-test for one with at most 2, chi-square
// otherwise; with more rows, the Wasserstein distance normed by the reference's standard
// deviation for numeric features with more than 5 distinct values, the Jensen-Shannon
// distance otherwise. Tests (ks, chisquare, z) give a p-value: drift when it is below
// the threshold (KS: at or below, as Evidently); distances (wasserstein, jensenshannon,
// psi) drift at or above theirs.
//
// Thread-safety: value types.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace ferry::monitoring {

enum class DriftMethod : uint8_t {
  kAuto,
  kKolmogorovSmirnov,  // "ks"
  kChiSquare,          // "chisquare"
  kZTest,              // "z"
  kWasserstein,        // "wasserstein" (normed by the reference's standard deviation)
  kJensenShannon,      // "jensenshannon" (natural log, as Evidently and scipy's default)
  kPsi,                // "psi"
};

std::string_view DriftMethodName(DriftMethod method);
// InvalidArgument listing the names for anything else.
absl::StatusOr<DriftMethod> ParseDriftMethod(std::string_view name);
// True for the methods whose statistic is a p-value.
bool IsStatisticalTest(DriftMethod method);
// 0.05 for the tests, 0.1 for wasserstein and jensenshannon, 0.2 for psi ("major").
double DefaultThreshold(DriftMethod method);

struct DriftRule {
  DriftMethod method = DriftMethod::kAuto;
  std::optional<double> threshold;  // nullopt: DefaultThreshold(method chosen)
  friend bool operator==(const DriftRule&, const DriftRule&) = default;
};

// A sliding window: the last `duration` (by the workspace clock) or the last `rows`
// monitored rows, kept as `slices` slices that expire one at a time.
struct WindowSpec {
  enum class Kind : uint8_t { kTime, kRows };
  Kind kind = Kind::kTime;
  std::chrono::seconds duration{3600};
  int64_t rows = 10'000;
  int slices = 12;
  friend bool operator==(const WindowSpec&, const WindowSpec&) = default;
};

struct MonitoringPolicy {
  static constexpr int kMaxSlices = 120;
  static constexpr int64_t kMaxWindowRows = 100'000'000;
  static constexpr int kMaxPsiBins = 100;
  static constexpr int64_t kMaxKsSample = 100'000;
  static constexpr size_t kMaxFeatureRules = 10'000;

  WindowSpec window;
  // Monitored rows a feature needs in the window before its drift has a verdict.
  int64_t min_rows = 100;
  // Dataset drift: when at least this share of the monitored features drifted.
  double dataset_drift_share = 0.5;
  // PSI's bins: this many reference quantiles (deciles by default).
  int psi_bins = 10;
  // Live values kept per feature for Kolmogorov-Smirnov (a uniform sample of the window).
  int64_t ks_sample = 5000;
  // Per feature (by input name), overriding "auto" and the default threshold.
  std::map<std::string, DriftRule, std::less<>> features;
  DriftRule prediction;
  // Live quality from feedback: labels that arrived within this window. Its default is
  // the drift window's kind and size.
  std::optional<WindowSpec> quality_window;
  // Labeled predictions read per quality evaluation, at most.
  int64_t quality_max_rows = 100'000;
  // Fewer labels in the quality window give no quality metrics (a handful of labels gives
  // an AUC that says nothing, and alert rules on it would fire on noise).
  int64_t quality_min_labels = 1;

  const DriftRule& RuleFor(std::string_view feature) const;
  const WindowSpec& QualityWindow() const { return quality_window ? *quality_window : window; }
  friend bool operator==(const MonitoringPolicy&, const MonitoringPolicy&) = default;
};

// InvalidArgument naming the key that breaks a rule (ranges above, thresholds finite and
// positive, p-value thresholds below 1).
absl::Status ValidateMonitoringPolicy(const MonitoringPolicy& policy);

// Parses a YAML policy (every key optional) and validates it. InvalidArgument naming the
// key for unknown keys and malformed values; `source` names the document in messages.
absl::StatusOr<MonitoringPolicy> ParseMonitoringPolicyYaml(std::string_view yaml,
                                                          std::string_view source);

// Every key, durations as text; FromJson reads it back (JSON being YAML) and validates.
nlohmann::json MonitoringPolicyToJson(const MonitoringPolicy& policy);
absl::StatusOr<MonitoringPolicy> MonitoringPolicyFromJson(const nlohmann::json& json);

}  // namespace ferry::monitoring
