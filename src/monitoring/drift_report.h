#pragma once

// Drift and data quality of a live window against the references (docs/monitoring.md):
// per column the method (the policy's, or Evidently's default for the reference), its
// statistic, the threshold and the verdict; the share of drifted features and dataset
// drift; per column the missing, out-of-range and unseen-category rates next to the
// reference's.
//
// How each method reads the bounded window (live_window.h):
//   ks            the live reservoir sample against the reference's values (exact two-
//                 sample test; the reference keeps its values only when small)
//   chisquare, z  live category counts (plus "unseen") against the reference's counts
//   wasserstein   the reference's quantile bins: within a bin both distributions are
//                 taken as uniform (the CDFs linear), outside the reference's range the
//                 live values' exact distances; normed by the reference's std (numpy's,
//                 ddof 0; at least 0.001 as Evidently)
//   jensenshannon category shares, or the reference's psi_bins quantile bins (plus the
//                 cells below and above its range) for numeric columns; empty cells set to
//                 0.0001 and natural log, as Evidently
//   psi           the psi_bins quantile bins plus the cells below and above the range,
//                 PSI = sum (a - e) ln(a / e) with shares below 1e-4 raised to it
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "monitoring/feature_reference.h"
#include "monitoring/live_window.h"
#include "monitoring/monitoring_policy.h"
#include "nlohmann/json_fwd.hpp"

namespace ferry::monitoring {

struct ColumnDrift {
  std::string name;
  DriftMethod method = DriftMethod::kAuto;  // the method used (never kAuto once chosen)
  std::optional<double> statistic;  // KS D, chi-square, z, or the distance
  std::optional<double> p_value;    // the tests'
  double threshold = 0;
  // nullopt: no verdict (too few live rows, no reference, or the method does not fit
  // the reference); `note` says which.
  std::optional<bool> drifted;
  int64_t live_rows = 0;
  int64_t reference_rows = 0;
  std::string note;
  // The value compared with the threshold: the p-value of a test, else the statistic.
  std::optional<double> score() const { return p_value ? p_value : statistic; }
};

struct ColumnQuality {
  std::string name;
  int64_t present = 0;
  int64_t missing = 0;
  double missing_rate = 0;
  double reference_missing_rate = 0;
  double out_of_range_rate = 0;  // below the reference's min or above its max
  std::optional<double> unseen_rate;  // categorical references only
  std::optional<double> mean;  // live
  std::optional<double> std;
  double reference_mean = 0;
  double reference_std = 0;
};

struct DriftReport {
  std::vector<ColumnDrift> features;  // in input order
  std::optional<ColumnDrift> prediction;
  int64_t features_with_verdict = 0;
  int64_t features_drifted = 0;
  std::optional<double> drifted_share;  // nullopt: no feature has a verdict
  std::optional<bool> dataset_drift;
  std::vector<ColumnQuality> quality;  // inputs, then the prediction
};

// The columns' references, inputs first; null where an input has no reference (the
// column is then reported without a verdict, `missing_reference` saying why).
struct MonitoredColumns {
  std::vector<std::string> names;
  std::vector<const FeatureReference*> references;
  std::vector<std::string> missing_reference;  // per column: why there is none
  bool has_prediction = false;                 // the last column is the prediction
};

// What a chart of one column's reference and live distributions needs, from the same
// bounded state the drift is computed from (never the rows). Numeric references: the
// reference's quantile bin edges (right-closed bins, as FeatureReference), the
// reference's share of each bin and the live count of each, with the live values below
// the reference's minimum and above its maximum apart. Categorical references: the
// values with their reference and live counts, and the live values the reference never
// had ("unseen"). Neither for a column without a reference.
struct ColumnDistribution {
  enum class Kind : uint8_t { kNone, kNumeric, kCategorical };
  std::string name;
  Kind kind = Kind::kNone;
  int64_t reference_rows = 0;
  int64_t live_rows = 0;  // present live values
  int64_t live_missing = 0;
  // kNumeric
  std::vector<double> edges;
  std::vector<double> reference_shares;  // edges.size() - 1
  std::vector<uint64_t> live_counts;     // edges.size() - 1
  int64_t live_below = 0;
  int64_t live_above = 0;
  // kCategorical
  std::vector<float> categories;
  std::vector<int64_t> reference_counts;
  std::vector<uint64_t> live_category_counts;
  uint64_t live_unseen = 0;
};

// The distributions of `window`'s columns (inputs, then the prediction).
std::vector<ColumnDistribution> ComputeDistributions(const MonitoredColumns& columns,
                                                     const WindowContents& window);

// Drift and data quality of `window` (its columns in `columns`' order).
DriftReport ComputeDrift(const MonitoredColumns& columns, const WindowContents& window,
                         const MonitoringPolicy& policy);

// The drift of one column (exposed for tests and the drift_compute benchmark).
ColumnDrift ComputeColumnDrift(const std::string& name, const FeatureReference& reference,
                               const ColumnCounts& live, const DriftRule& rule,
                               const MonitoringPolicy& policy);

// The Wasserstein-1 distance between the reference and a live window's counts, by the
// bins as above (not normed). nullopt when either side is empty.
std::optional<double> BinnedWasserstein(const FeatureReference& reference,
                                        const ColumnCounts& live);

nlohmann::json ColumnDriftToJson(const ColumnDrift& drift);
nlohmann::json DriftReportToJson(const DriftReport& report);
nlohmann::json ColumnDistributionToJson(const ColumnDistribution& distribution);

}  // namespace ferry::monitoring
