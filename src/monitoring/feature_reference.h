#pragma once

// FeatureReference: what live values of one model input (or of the prediction) are
// compared with -- the training set's distribution of that column, taken once from the
// dataset version's profile (table/table_profile.h) when the model loads, never from the
// training rows again.
//
// Numeric columns keep bin edges at reference quantiles (levels i/100 and the PSI bins'
// k/psi_bins, equal edges merged; the first edge is the exact minimum, the last the
// exact maximum) and the reference's share of each bin (from the quantile sketch's ranks,
// or exact from the sample when the sample holds every row). Bins are right-closed,
// (e[i], e[i+1]], the first also holding e[0]. Columns with at most kMaxCategories
// distinct values whose counts the profile knows exactly are categorical: their values
// and counts. When the profile's row sample holds every reference row (small training
// sets), the sorted values are kept too, for Kolmogorov-Smirnov.
//
// Thread-safety: immutable value types once built.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "monitoring/monitoring_policy.h"
#include "table/table_profile.h"

namespace ferry::monitoring {

// Evidently's boundary between its small-reference tests and its distances.
inline constexpr int64_t kSmallReferenceRows = 1000;
// Evidently's boundary between numeric tests and categorical ones (distinct values).
inline constexpr int64_t kMaxCategoricalValues = 5;
// Categories kept per feature (values beyond are "unseen" when live).
inline constexpr size_t kMaxCategories = 64;
// Fine quantile bins of a numeric reference.
inline constexpr int kFineBins = 100;

struct FeatureReference {
  std::string name;      // the model input's name ("prediction" for the prediction)
  std::string column;    // the profile column it came from
  int64_t rows = 0;      // reference values present
  int64_t missing = 0;   // reference values missing (nulls, non-finite numbers)
  int64_t distinct = 0;  // distinct values (exact when categories are known)
  double min = 0;
  double max = 0;
  double mean = 0;
  double std = 0;  // population standard deviation (ddof 0), as numpy's np.std

  // Numeric: edges (ascending, distinct) and the reference share of each bin.
  std::vector<double> edges;
  std::vector<double> shares;  // edges.size() - 1 values, summing to 1
  // The mean of the reference values in each bin (from the quantile sketch's weighted
  // items, or exact), so that a bin's values need not be taken as spread evenly: in a
  // long tail they are not. The bin's midpoint where the sketch has no item in it.
  std::vector<double> bin_means;
  // For each edge, whether it is one of the psi_bins quantiles (the first and last are).
  std::vector<uint8_t> coarse_edge;

  // Categorical: values ascending, with their reference counts. Empty when the column
  // has more than kMaxCategories distinct values (or their counts are not exact).
  std::vector<float> categories;
  std::vector<int64_t> category_counts;

  // Reference values, sorted: every one when the profile's sample holds every row
  // (values_complete), else the sample's.
  std::vector<double> values;
  bool values_complete() const { return static_cast<int64_t>(values.size()) == rows; }

  double missing_rate() const {
    const int64_t all = rows + missing;
    return all == 0 ? 0.0 : static_cast<double>(missing) / static_cast<double>(all);
  }
  bool numeric() const { return edges.size() >= 2; }
  bool categorical() const { return !categories.empty(); }
  // Evidently's default method for this reference (monitoring_policy.h).
  DriftMethod AutoMethod() const;
  // `rule`'s method, or AutoMethod; then whether this reference supports it:
  // FailedPrecondition saying why not (e.g. chi-square on a column with 10k values).
  absl::StatusOr<DriftMethod> MethodFor(const DriftRule& rule) const;
};

// The reference of a column from a profile, for a model input named `name`. The
// column is `name` itself or, for feature service names "view__feature", "feature".
// NotFound when the profile has no such column; FailedPrecondition when it is not
// numeric or boolean (a model input is a number).
absl::StatusOr<FeatureReference> ReferenceFromProfile(const table::TableProfile& profile,
                                                      std::string_view name, int psi_bins);

// The profile column a model input named `name` reads: `name` itself or, for feature
// service names "view__feature", "feature". Null when there is none.
const table::ColumnProfile* ReferenceColumn(const table::TableProfile& profile,
                                            std::string_view name);

// The reference of a column whose every value was read again from the dataset (at model
// load, for references small enough): bins, shares and bin means exact, as
// ReferenceFromValues; the values kept for Kolmogorov-Smirnov are the profile's sample's
// unless the sample holds every row.
FeatureReference ReferenceFromAllValues(const table::TableProfile& profile, std::string_view name,
                                        std::span<const double> all_values, int psi_bins);

// The reference of values known one by one (the model's predictions on the profile's
// sample rows); NaN values count as missing.
FeatureReference ReferenceFromValues(std::string name, std::span<const double> values,
                                     int psi_bins);

// The numeric rows of the profile's sample, one per sampled row, in the order of
// `names` (missing cells NaN), for predicting the reference's predictions. Columns are
// found as ReferenceFromProfile finds them; a name without a column gives NaN.
std::vector<float> SampleRows(const table::TableProfile& profile,
                              std::span<const std::string> names);

}  // namespace ferry::monitoring
