#include "monitoring/feature_reference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "core/strings.h"
#include "table/value_parse.h"

namespace ferry::monitoring {
namespace {

using core::Cat;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const table::ColumnProfile* FindColumn(const table::TableProfile& profile, std::string_view name) {
  if (const table::ColumnProfile* column = profile.column(name)) return column;
  const size_t sep = name.rfind("__");
  return sep == std::string_view::npos ? nullptr : profile.column(name.substr(sep + 2));
}

size_t ColumnIndex(const table::TableProfile& profile, const table::ColumnProfile* column) {
  return static_cast<size_t>(column - profile.columns.data());
}

// A cell's text as the number a model input gets (booleans 1 and 0); NaN otherwise.
double CellValue(std::optional<std::string_view> cell, table::ColumnType type) {
  if (!cell || cell->empty()) return kNaN;
  if (type == table::ColumnType::kBool) {
    std::optional<bool> b = table::ParseBool(*cell);
    return b ? (*b ? 1.0 : 0.0) : kNaN;
  }
  double value = 0;
  return table::ParseFloat64Into(*cell, value) ? value : kNaN;
}

// Quantile levels of the fine edges: i/kFineBins and k/psi_bins, as fractions n/d kept
// exact by comparing cross products, so a coarse level equal to a fine one is one edge.
struct Level {
  double q;
  bool coarse;
};
std::vector<Level> EdgeLevels(int psi_bins) {
  std::vector<Level> levels;
  int i = 0, k = 0;
  while (i <= kFineBins || k <= psi_bins) {
    // i/kFineBins vs k/psi_bins: compare i*psi_bins with k*kFineBins.
    const int64_t a = i <= kFineBins ? int64_t{i} * psi_bins : std::numeric_limits<int64_t>::max();
    const int64_t b = k <= psi_bins ? int64_t{k} * kFineBins : std::numeric_limits<int64_t>::max();
    if (a == b) {
      levels.push_back({static_cast<double>(i) / kFineBins, true});
      ++i, ++k;
    } else if (a < b) {
      levels.push_back({static_cast<double>(i) / kFineBins, false});
      ++i;
    } else {
      levels.push_back({static_cast<double>(k) / psi_bins, true});
      ++k;
    }
  }
  return levels;
}

// Edges at `quantile`(level), equal ones merged (a merged edge is coarse if any of its
// levels was), the first and last coarse. Returns each edge's level: the largest level
// whose quantile it is, i.e. (up to a level step) the reference's CDF at the edge.
template <typename Quantile>
std::vector<double> SetEdges(FeatureReference& ref, int psi_bins, Quantile quantile) {
  std::vector<double> cdf;
  for (const Level& level : EdgeLevels(psi_bins)) {
    const double edge = quantile(level.q);
    if (!ref.edges.empty() && !(edge > ref.edges.back())) {
      ref.coarse_edge.back() = ref.coarse_edge.back() || level.coarse;
      cdf.back() = level.q;
      continue;
    }
    ref.edges.push_back(edge);
    ref.coarse_edge.push_back(level.coarse);
    cdf.push_back(level.q);
  }
  if (ref.edges.size() == 1) {  // a constant column: one bin of width 0 is no bin
    ref.edges.clear();
    ref.coarse_edge.clear();
    cdf.clear();
  }
  return cdf;
}

// Shares of right-closed bins from an empirical CDF (fraction <= x).
template <typename Cdf>
void SetShares(FeatureReference& ref, Cdf cdf) {
  ref.shares.resize(ref.edges.size() - 1);
  double previous = 0;  // the first bin also holds e[0]
  for (size_t i = 1; i < ref.edges.size(); ++i) {
    const double at = i + 1 == ref.edges.size() ? 1.0 : std::clamp(cdf(ref.edges[i]), 0.0, 1.0);
    ref.shares[i - 1] = std::max(0.0, at - previous);
    previous = std::max(previous, at);
  }
}

// Bin means from weighted values, ascending: each bin (e[i], e[i+1]], the first also
// holding e[0]; a bin without values gets its midpoint.
void SetBinMeans(FeatureReference& ref, std::span<const double> values,
                 const std::function<double(size_t)>& weight) {
  const size_t bins = ref.edges.size() - 1;
  std::vector<double> sums(bins, 0.0), weights(bins, 0.0);
  size_t bin = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (v < ref.edges.front() || v > ref.edges.back()) continue;
    while (bin + 1 < bins && v > ref.edges[bin + 1]) ++bin;
    sums[bin] += weight(i) * v;
    weights[bin] += weight(i);
  }
  ref.bin_means.resize(bins);
  for (size_t b = 0; b < bins; ++b) {
    ref.bin_means[b] = weights[b] > 0 ? std::clamp(sums[b] / weights[b], ref.edges[b],
                                                   ref.edges[b + 1])
                                      : (ref.edges[b] + ref.edges[b + 1]) / 2;
  }
}

// Edges, shares and bin means of a distribution known exactly as value -> count.
void SetNumericFromCounts(FeatureReference& ref, const std::map<float, int64_t>& counts,
                          int psi_bins) {
  std::vector<double> values, weights, cumulative;
  double total = 0;
  for (const auto& [value, count] : counts) {
    values.push_back(value);
    weights.push_back(static_cast<double>(count));
    total += static_cast<double>(count);
    cumulative.push_back(total);
  }
  if (values.empty()) return;
  // The empirical quantile: the smallest value whose cumulative count reaches q * n.
  SetEdges(ref, psi_bins, [&](double q) {
    const auto it = std::lower_bound(cumulative.begin(), cumulative.end(), q * total);
    return values[std::min<size_t>(it - cumulative.begin(), values.size() - 1)];
  });
  if (!ref.numeric()) return;
  SetShares(ref, [&](double x) {
    const auto it = std::upper_bound(values.begin(), values.end(), x);
    return it == values.begin() ? 0.0 : cumulative[it - values.begin() - 1] / total;
  });
  SetBinMeans(ref, values, [&](size_t i) { return weights[i]; });
}

// The finite values, rounded to float and sorted: live values are what the model gets,
// floats, and the reference is rounded alike so that equal values compare equal (ties in
// KS, categories). `missing` counts the others.
std::vector<double> SortedFiniteValues(std::span<const double> values, int64_t& missing) {
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) {
      out.push_back(static_cast<double>(static_cast<float>(v)));
    } else {
      ++missing;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A column's values in the profile's row sample, as the model would get them.
std::vector<double> SampleValues(const table::TableProfile& profile,
                                 const table::ColumnProfile& column) {
  const size_t index = ColumnIndex(profile, &column);
  std::vector<double> values;
  values.reserve(profile.sample.rows().size());
  for (const table::RowSample::Row& row : profile.sample.rows()) {
    values.push_back(CellValue(row.cell(index), column.type));
  }
  return values;
}

// Categories from exact distinct values (value -> count), when few enough.
void SetCategories(FeatureReference& ref, const std::map<float, int64_t>& counts) {
  ref.distinct = static_cast<int64_t>(counts.size());
  if (counts.size() > kMaxCategories) return;
  for (const auto& [value, count] : counts) {
    ref.categories.push_back(value);
    ref.category_counts.push_back(count);
  }
}

}  // namespace

DriftMethod FeatureReference::AutoMethod() const {
  const bool few_values = categorical() && distinct <= kMaxCategoricalValues;
  if (rows <= kSmallReferenceRows) {
    if (!few_values && numeric()) return DriftMethod::kKolmogorovSmirnov;
    return distinct <= 2 ? DriftMethod::kZTest : DriftMethod::kChiSquare;
  }
  if (!few_values && numeric()) return DriftMethod::kWasserstein;
  return DriftMethod::kJensenShannon;
}

absl::StatusOr<DriftMethod> FeatureReference::MethodFor(const DriftRule& rule) const {
  const DriftMethod method = rule.method == DriftMethod::kAuto ? AutoMethod() : rule.method;
  switch (method) {
    case DriftMethod::kKolmogorovSmirnov:
    case DriftMethod::kWasserstein:
    case DriftMethod::kPsi:
      if (!numeric()) {
        return absl::FailedPreconditionError(
            Cat(DriftMethodName(method), " needs a numeric reference with more than one value"));
      }
      break;
    case DriftMethod::kChiSquare:
    case DriftMethod::kZTest:
      if (!categorical()) {
        return absl::FailedPreconditionError(
            Cat(DriftMethodName(method), " needs a categorical reference (at most ",
                kMaxCategories, " distinct values, counted exactly)"));
      }
      if (method == DriftMethod::kZTest && distinct > 2) {
        return absl::FailedPreconditionError("z compares two proportions: at most 2 values");
      }
      break;
    case DriftMethod::kJensenShannon:
      if (!categorical() && !numeric()) {
        return absl::FailedPreconditionError("jensenshannon needs a reference with values");
      }
      break;
    case DriftMethod::kAuto:
      break;
  }
  return method;
}

absl::StatusOr<FeatureReference> ReferenceFromProfile(const table::TableProfile& profile,
                                                      std::string_view name, int psi_bins) {
  const table::ColumnProfile* column = FindColumn(profile, name);
  if (column == nullptr) {
    return absl::NotFoundError(Cat("the reference has no column \"", name, "\""));
  }
  const table::ColumnType type = column->type;
  if (type == table::ColumnType::kString) {
    return absl::FailedPreconditionError(
        Cat("reference column \"", column->name, "\" holds strings, not numbers"));
  }
  const std::vector<double> values = SampleValues(profile, *column);
  // Every reference row is in the sample: work from the exact values.
  if (profile.sample.seen() == profile.sample.rows().size() &&
      static_cast<int64_t>(profile.sample.rows().size()) == profile.row_count) {
    FeatureReference ref = ReferenceFromValues(std::string(name), values, psi_bins);
    ref.column = column->name;
    return ref;
  }

  FeatureReference ref;
  // The sample's values, for a Kolmogorov-Smirnov test a policy asks for (against a
  // uniform sample of the reference).
  int64_t sample_missing = 0;
  ref.values = SortedFiniteValues(values, sample_missing);
  ref.name = std::string(name);
  ref.column = column->name;
  ref.rows = column->count;
  ref.missing = column->null_count;
  std::map<float, int64_t> counts;
  bool exact_counts = false;
  if (type == table::ColumnType::kBool) {
    ref.min = column->false_count > 0 ? 0 : 1;
    ref.max = column->true_count > 0 ? 1 : 0;
    const double n = static_cast<double>(std::max<int64_t>(ref.rows, 1));
    ref.mean = static_cast<double>(column->true_count) / n;
    ref.std = std::sqrt(ref.mean * (1 - ref.mean));
    if (column->false_count > 0) counts[0.0f] = column->false_count;
    if (column->true_count > 0) counts[1.0f] = column->true_count;
    exact_counts = true;
  } else if (column->numeric) {
    const table::NumericStats& stats = *column->numeric;
    ref.missing += stats.non_finite;
    ref.rows -= stats.non_finite;
    ref.min = stats.min;
    ref.max = stats.max;
    ref.mean = stats.moments.mean;
    ref.std = stats.moments.n > 0
                  ? std::sqrt(stats.moments.m2 / static_cast<double>(stats.moments.n))
                  : 0.0;
    if (column->top_values && column->top_values->max_error() == 0) {
      exact_counts = true;
      int64_t counted = 0;
      for (const table::TopValues::Item& item : column->top_values->Items()) {
        double value = 0;
        if (!table::ParseFloat64Into(item.value, value)) {
          exact_counts = false;
          break;
        }
        counts[static_cast<float>(value)] += item.count;
        counted += item.count;
      }
      exact_counts = exact_counts && counted == ref.rows;
    }
    if (exact_counts) {
      // Few distinct values, counted exactly: the distribution is known, bins and all.
      SetNumericFromCounts(ref, counts, psi_bins);
    } else {
      const table::KllSketch::SortedView view = stats.quantiles.View();
      const std::vector<double> levels = SetEdges(ref, psi_bins, [&](double q) {
        if (q <= 0) return stats.min;
        if (q >= 1) return stats.max;
        return view.Quantile(q);
      });
      // A bin's share is the difference of its edges' levels, not of the sketch's ranks
      // at them: the sketch's error then moves edges a little instead of making the
      // shares of 1% bins noisy by about as much as the shares themselves (measured: the
      // distance between two samples of one distribution twice as large).
      if (ref.numeric()) {
        for (size_t i = 1; i < levels.size(); ++i) {
          ref.shares.push_back(i == 1 ? levels[1] : levels[i] - levels[i - 1]);
        }
        const std::vector<uint64_t>& cumulative = view.cumulative();
        SetBinMeans(ref, view.values(), [&](size_t i) {
          return static_cast<double>(cumulative[i] - (i == 0 ? 0 : cumulative[i - 1]));
        });
      }
    }
  }
  if (exact_counts) {
    SetCategories(ref, counts);
  } else {
    ref.distinct = static_cast<int64_t>(column->distinct.Estimate());
  }
  return ref;
}

const table::ColumnProfile* ReferenceColumn(const table::TableProfile& profile,
                                            std::string_view name) {
  return FindColumn(profile, name);
}

FeatureReference ReferenceFromAllValues(const table::TableProfile& profile,
                                        std::string_view name, std::span<const double> all_values,
                                        int psi_bins) {
  FeatureReference ref = ReferenceFromValues(std::string(name), all_values, psi_bins);
  if (const table::ColumnProfile* column = FindColumn(profile, name)) {
    ref.column = column->name;
    if (ref.rows > kSmallReferenceRows && column->type != table::ColumnType::kString) {
      // Keep what KS needs and no more: the sample's values, as from the profile alone.
      int64_t sample_missing = 0;
      std::vector<double> sample = SortedFiniteValues(SampleValues(profile, *column),
                                                      sample_missing);
      if (static_cast<int64_t>(sample.size()) != ref.rows) ref.values = std::move(sample);
    }
  }
  return ref;
}

FeatureReference ReferenceFromValues(std::string name, std::span<const double> values,
                                     int psi_bins) {
  FeatureReference ref;
  ref.name = std::move(name);
  ref.column = ref.name;
  ref.values = SortedFiniteValues(values, ref.missing);
  const std::vector<double>& sorted = ref.values;
  ref.rows = static_cast<int64_t>(sorted.size());
  if (sorted.empty()) return ref;
  const double n = static_cast<double>(sorted.size());
  ref.min = sorted.front();
  ref.max = sorted.back();
  double sum = 0;
  for (double v : sorted) sum += v;
  ref.mean = sum / n;
  double squares = 0;
  for (double v : sorted) squares += (v - ref.mean) * (v - ref.mean);
  ref.std = std::sqrt(squares / n);
  // The empirical quantile: the smallest value whose rank reaches q * n (as the
  // profile's sketch answers).
  SetEdges(ref, psi_bins, [&](double q) {
    const double rank = std::ceil(q * n);
    const size_t index = rank <= 1 ? 0 : static_cast<size_t>(rank) - 1;
    return sorted[std::min(index, sorted.size() - 1)];
  });
  if (ref.numeric()) {
    SetShares(ref, [&](double x) {
      return static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), x) -
                                 sorted.begin()) / n;
    });
    SetBinMeans(ref, sorted, [](size_t) { return 1.0; });
  }
  std::map<float, int64_t> counts;
  for (double v : sorted) {
    if (counts.size() > kMaxCategories) break;
    ++counts[static_cast<float>(v)];
  }
  if (counts.size() <= kMaxCategories) {
    SetCategories(ref, counts);
  } else {
    size_t distinct = 1;
    for (size_t i = 1; i < sorted.size(); ++i) distinct += sorted[i] != sorted[i - 1];
    ref.distinct = static_cast<int64_t>(distinct);
  }
  return ref;
}

std::vector<float> SampleRows(const table::TableProfile& profile,
                              std::span<const std::string> names) {
  std::vector<std::pair<size_t, table::ColumnType>> columns;  // index, type; npos: none
  for (const std::string& name : names) {
    const table::ColumnProfile* column = FindColumn(profile, name);
    columns.emplace_back(column == nullptr ? std::string::npos : ColumnIndex(profile, column),
                         column == nullptr ? table::ColumnType::kString : column->type);
  }
  std::vector<float> rows;
  rows.reserve(profile.sample.rows().size() * names.size());
  for (const table::RowSample::Row& row : profile.sample.rows()) {
    for (const auto& [index, type] : columns) {
      const double value = index == std::string::npos || type == table::ColumnType::kString
                               ? kNaN
                               : CellValue(row.cell(index), type);
      rows.push_back(static_cast<float>(value));
    }
  }
  return rows;
}

}  // namespace ferry::monitoring
