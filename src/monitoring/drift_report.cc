#include "monitoring/drift_report.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "stats/distribution_shift.h"
#include "stats/two_sample_tests.h"

namespace ferry::monitoring {
namespace {

using core::Cat;

// The integral over [0, 1] of |d0 + (d1 - d0) t|.
double AbsLinearIntegral(double d0, double d1) {
  if ((d0 >= 0) == (d1 >= 0)) return std::abs(d0 + d1) / 2;
  return (d0 * d0 + d1 * d1) / (2 * (std::abs(d0) + std::abs(d1)));
}

// Shares of the coarse (psi_bins) cells: below the range, each coarse bin, above it.
// Reference: no mass outside its range.
struct CoarseShares {
  std::vector<double> reference;
  std::vector<double> live;
};
CoarseShares Coarse(const FeatureReference& ref, const ColumnCounts& live) {
  CoarseShares out;
  const double n = static_cast<double>(live.present);
  out.reference.push_back(0);
  out.live.push_back(static_cast<double>(live.below) / n);
  double ref_cell = 0, live_cell = 0;
  for (size_t i = 0; i < ref.shares.size(); ++i) {
    ref_cell += ref.shares[i];
    live_cell += static_cast<double>(live.bins[i]);
    if (ref.coarse_edge[i + 1]) {
      out.reference.push_back(ref_cell);
      out.live.push_back(live_cell / n);
      ref_cell = live_cell = 0;
    }
  }
  out.reference.push_back(0);
  out.live.push_back(static_cast<double>(live.above) / n);
  return out;
}

// Category counts, reference then live, over the union of values seen on either side
// (the live "unseen" cell joins when it holds anything), as Evidently's tests take them.
struct CategoryCounts {
  std::vector<uint64_t> reference;
  std::vector<uint64_t> live;
};
CategoryCounts Categories(const FeatureReference& ref, const ColumnCounts& live) {
  CategoryCounts out;
  for (size_t i = 0; i < ref.categories.size(); ++i) {
    if (ref.category_counts[i] == 0 && live.categories[i] == 0) continue;
    out.reference.push_back(static_cast<uint64_t>(ref.category_counts[i]));
    out.live.push_back(live.categories[i]);
  }
  if (live.unseen() > 0) {
    out.reference.push_back(0);
    out.live.push_back(live.unseen());
  }
  return out;
}

void SetVerdict(ColumnDrift& drift, DriftMethod method) {
  const std::optional<double> score = drift.score();
  if (!score) return;
  if (method == DriftMethod::kKolmogorovSmirnov) {
    drift.drifted = *score <= drift.threshold;
  } else if (IsStatisticalTest(method)) {
    drift.drifted = *score < drift.threshold;
  } else {
    drift.drifted = *score >= drift.threshold;
  }
}

// Shares with empty cells raised as Evidently does before its Jensen-Shannon score.
std::vector<double> Raised(std::vector<double> shares) {
  for (double& share : shares) {
    if (share == 0) share = stats::kEmptyCellShare;
  }
  return shares;
}

absl::Status NoVerdict() { return absl::FailedPreconditionError("an empty side"); }

absl::Status Measure(ColumnDrift& drift, DriftMethod method, const FeatureReference& ref,
                     const ColumnCounts& live) {
  switch (method) {
    case DriftMethod::kKolmogorovSmirnov: {
      if (ref.values.empty()) return absl::FailedPreconditionError("no reference values");
      std::vector<double> sample(live.sample.begin(), live.sample.end());
      std::sort(sample.begin(), sample.end());
      ASSIGN_OR_RETURN(std::optional<stats::KolmogorovSmirnovResult> test,
                       stats::KolmogorovSmirnov(ref.values, sample));
      if (!test) return NoVerdict();
      drift.statistic = test->statistic;
      drift.p_value = test->p_value;
      if (!ref.values_complete()) drift.note = "against the reference's sample";
      return absl::OkStatus();
    }
    case DriftMethod::kChiSquare: {
      const CategoryCounts counts = Categories(ref, live);
      ASSIGN_OR_RETURN(std::optional<stats::ChiSquareResult> test,
                       stats::ChiSquareAgainstReference(counts.reference, counts.live));
      if (!test) return NoVerdict();
      drift.statistic = test->statistic;
      drift.p_value = test->p_value;
      return absl::OkStatus();
    }
    case DriftMethod::kZTest: {
      const CategoryCounts counts = Categories(ref, live);
      ASSIGN_OR_RETURN(std::optional<stats::ZTestResult> test,
                       stats::TwoProportionZTest(counts.reference, counts.live));
      if (!test) return NoVerdict();
      drift.statistic = test->statistic;
      drift.p_value = test->p_value;
      return absl::OkStatus();
    }
    case DriftMethod::kWasserstein: {
      const std::optional<double> distance = BinnedWasserstein(ref, live);
      if (!distance) return NoVerdict();
      drift.statistic = *distance / std::max(ref.std, stats::kWassersteinMinScale);
      return absl::OkStatus();
    }
    case DriftMethod::kJensenShannon: {
      std::optional<double> distance;
      if (ref.categorical() && (!ref.numeric() || ref.distinct <= kMaxCategoricalValues)) {
        const CategoryCounts counts = Categories(ref, live);
        ASSIGN_OR_RETURN(distance,
                         stats::JensenShannonDistanceWithEmptyRaised(counts.reference, counts.live));
      } else {
        const CoarseShares shares = Coarse(ref, live);
        ASSIGN_OR_RETURN(distance, stats::JensenShannonDistance(
                                       Raised(shares.reference), Raised(shares.live), std::nullopt));
      }
      if (!distance) return NoVerdict();
      drift.statistic = *distance;
      return absl::OkStatus();
    }
    case DriftMethod::kPsi: {
      const CoarseShares shares = Coarse(ref, live);
      ASSIGN_OR_RETURN(std::optional<double> psi,
                       stats::PopulationStabilityIndex(shares.reference, shares.live));
      if (!psi) return NoVerdict();
      drift.statistic = *psi;
      return absl::OkStatus();
    }
    case DriftMethod::kAuto:
      break;
  }
  return absl::InternalError("no method");
}

ColumnQuality Quality(const std::string& name, const FeatureReference* ref,
                      const ColumnCounts& live) {
  ColumnQuality q;
  q.name = name;
  q.present = live.present;
  q.missing = live.missing;
  const int64_t all = live.present + live.missing;
  if (all > 0) q.missing_rate = static_cast<double>(live.missing) / static_cast<double>(all);
  if (live.present > 0) {
    const double n = static_cast<double>(live.present);
    q.out_of_range_rate = static_cast<double>(live.below + live.above) / n;
    q.mean = live.sum / n;
    q.std = std::sqrt(std::max(0.0, live.sum_squares / n - *q.mean * *q.mean));
  }
  if (ref == nullptr) return q;
  q.reference_missing_rate = ref->missing_rate();
  q.reference_mean = ref->mean;
  q.reference_std = ref->std;
  if (ref->categorical()) {
    q.unseen_rate = live.present > 0 ? static_cast<double>(live.unseen()) /
                                           static_cast<double>(live.present)
                                     : 0.0;
  }
  return q;
}

nlohmann::json Optional(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::optional<double> BinnedWasserstein(const FeatureReference& ref, const ColumnCounts& live) {
  if (live.present == 0 || ref.rows == 0) return std::nullopt;
  const double n = static_cast<double>(live.present);
  // Outside the reference's range its CDF is 0 (below) or 1 (above): exact.
  double distance = (live.below_distance + live.above_distance) / n;
  if (!ref.numeric()) return distance;  // a constant reference: mean |x - value|
  double reference_cdf = 0;
  double live_cdf = static_cast<double>(live.below) / n;
  for (size_t i = 0; i < ref.shares.size(); ++i) {
    const double a = ref.edges[i], b = ref.edges[i + 1], width = b - a;
    const double next_reference = reference_cdf + ref.shares[i];
    const double next_live = live_cdf + static_cast<double>(live.bins[i]) / n;
    const double d0 = live_cdf - reference_cdf, d1 = next_live - next_reference;
    if ((d0 >= 0) == (d1 >= 0)) {
      // The CDFs (most likely) do not cross in the bin: the integral of their difference
      // is the difference of their integrals, each F(a) (b - a) plus the bin's share
      // times (b - the mean of its values) -- exact on the live side (the sum of the
      // bin's values is kept), as good as the sketch's bin means on the reference's.
      const double live_integral =
          live_cdf * width + (static_cast<double>(live.bins[i]) * b - live.bin_sums[i]) / n;
      const double reference_integral =
          reference_cdf * width + ref.shares[i] * (b - ref.bin_means[i]);
      distance += std::abs(live_integral - reference_integral);
    } else {
      distance += width * AbsLinearIntegral(d0, d1);
    }
    reference_cdf = next_reference;
    live_cdf = next_live;
  }
  return distance;
}

ColumnDrift ComputeColumnDrift(const std::string& name, const FeatureReference& ref,
                               const ColumnCounts& live, const DriftRule& rule,
                               const MonitoringPolicy& policy) {
  ColumnDrift drift;
  drift.name = name;
  drift.live_rows = live.present;
  drift.reference_rows = ref.rows;
  absl::StatusOr<DriftMethod> method = ref.MethodFor(rule);
  drift.method = method.ok() ? *method : rule.method;
  drift.threshold = rule.threshold.value_or(DefaultThreshold(drift.method));
  if (!method.ok()) {
    drift.note = std::string(method.status().message());
    return drift;
  }
  if (live.present < policy.min_rows) {
    drift.note = Cat(live.present, " live values, fewer than min_rows (", policy.min_rows, ")");
    return drift;
  }
  if (absl::Status measured = Measure(drift, *method, ref, live); !measured.ok()) {
    drift.note = std::string(measured.message());
    return drift;
  }
  SetVerdict(drift, *method);
  return drift;
}

DriftReport ComputeDrift(const MonitoredColumns& columns, const WindowContents& window,
                         const MonitoringPolicy& policy) {
  DriftReport report;
  const size_t inputs = columns.names.size() - (columns.has_prediction ? 1 : 0);
  for (size_t i = 0; i < columns.names.size(); ++i) {
    const std::string& name = columns.names[i];
    const FeatureReference* ref = columns.references[i];
    const ColumnCounts& live = window.columns[i];
    const bool is_prediction = i >= inputs;
    ColumnDrift drift;
    if (ref == nullptr) {
      drift.name = name;
      drift.live_rows = live.present;
      drift.note = columns.missing_reference[i];
    } else {
      drift = ComputeColumnDrift(name, *ref, live,
                                 is_prediction ? policy.prediction : policy.RuleFor(name), policy);
    }
    report.quality.push_back(Quality(name, ref, live));
    if (is_prediction) {
      report.prediction = std::move(drift);
      continue;
    }
    if (drift.drifted) {
      ++report.features_with_verdict;
      report.features_drifted += *drift.drifted;
    }
    report.features.push_back(std::move(drift));
  }
  if (report.features_with_verdict > 0) {
    report.drifted_share = static_cast<double>(report.features_drifted) /
                           static_cast<double>(report.features_with_verdict);
    report.dataset_drift = *report.drifted_share >= policy.dataset_drift_share;
  }
  return report;
}

std::vector<ColumnDistribution> ComputeDistributions(const MonitoredColumns& columns,
                                                     const WindowContents& window) {
  std::vector<ColumnDistribution> out(columns.names.size());
  for (size_t i = 0; i < columns.names.size(); ++i) {
    ColumnDistribution& d = out[i];
    const FeatureReference* ref = columns.references[i];
    const ColumnCounts& live = window.columns[i];
    d.name = columns.names[i];
    d.live_rows = live.present;
    d.live_missing = live.missing;
    if (ref == nullptr) continue;
    d.reference_rows = ref->rows;
    if (ref->categorical()) {
      d.kind = ColumnDistribution::Kind::kCategorical;
      d.categories = ref->categories;
      d.reference_counts = ref->category_counts;
      // The window keeps a cell per reference category, then "unseen" (LiveWindow).
      d.live_category_counts.assign(live.categories.begin(), live.categories.end() - 1);
      d.live_unseen = live.unseen();
    } else if (ref->numeric()) {
      d.kind = ColumnDistribution::Kind::kNumeric;
      d.edges = ref->edges;
      d.reference_shares = ref->shares;
      d.live_counts = live.bins;  // a cell per reference bin (LiveWindow)
      d.live_below = live.below;
      d.live_above = live.above;
    }
  }
  return out;
}

nlohmann::json ColumnDistributionToJson(const ColumnDistribution& d) {
  using Kind = ColumnDistribution::Kind;
  nlohmann::json kind = nullptr;  // no reference
  if (d.kind == Kind::kNumeric) kind = "numeric";
  if (d.kind == Kind::kCategorical) kind = "categorical";
  nlohmann::json out = {{"name", d.name},
                        {"kind", std::move(kind)},
                        {"reference_rows", d.reference_rows},
                        {"live_rows", d.live_rows},
                        {"live_missing", d.live_missing}};
  if (d.kind == Kind::kNumeric) {
    out["edges"] = d.edges;
    out["reference_shares"] = d.reference_shares;
    out["live_counts"] = d.live_counts;
    out["live_below"] = d.live_below;
    out["live_above"] = d.live_above;
  } else if (d.kind == Kind::kCategorical) {
    out["categories"] = d.categories;
    out["reference_counts"] = d.reference_counts;
    out["live_counts"] = d.live_category_counts;
    out["live_unseen"] = d.live_unseen;
  }
  return out;
}

nlohmann::json ColumnDriftToJson(const ColumnDrift& d) {
  nlohmann::json out = {{"name", d.name},
                        {"method", DriftMethodName(d.method)},
                        {"statistic", Optional(d.statistic)},
                        {"p_value", Optional(d.p_value)},
                        {"threshold", d.threshold},
                        {"drifted", d.drifted ? nlohmann::json(*d.drifted) : nlohmann::json()},
                        {"live_rows", d.live_rows},
                        {"reference_rows", d.reference_rows}};
  // An infinite chi-square (a value the reference never had) is still a verdict.
  if (d.statistic && std::isinf(*d.statistic)) out["statistic"] = "inf";
  if (d.method == DriftMethod::kPsi && d.statistic) {
    out["psi_level"] = *d.statistic >= 0.2 ? "major" : *d.statistic >= 0.1 ? "moderate" : "none";
  }
  if (!d.note.empty()) out["note"] = d.note;
  return out;
}

nlohmann::json DriftReportToJson(const DriftReport& r) {
  nlohmann::json features = nlohmann::json::array();
  for (const ColumnDrift& d : r.features) features.push_back(ColumnDriftToJson(d));
  nlohmann::json quality = nlohmann::json::array();
  for (const ColumnQuality& q : r.quality) {
    quality.push_back({{"name", q.name},
                       {"present", q.present},
                       {"missing", q.missing},
                       {"missing_rate", q.missing_rate},
                       {"reference_missing_rate", q.reference_missing_rate},
                       {"out_of_range_rate", q.out_of_range_rate},
                       {"unseen_rate", Optional(q.unseen_rate)},
                       {"mean", Optional(q.mean)},
                       {"std", Optional(q.std)},
                       {"reference_mean", q.reference_mean},
                       {"reference_std", q.reference_std}});
  }
  return {{"features", std::move(features)},
          {"prediction", r.prediction ? ColumnDriftToJson(*r.prediction) : nlohmann::json()},
          {"features_with_verdict", r.features_with_verdict},
          {"features_drifted", r.features_drifted},
          {"drifted_share", Optional(r.drifted_share)},
          {"dataset_drift", r.dataset_drift ? nlohmann::json(*r.dataset_drift) : nlohmann::json()},
          {"data_quality", std::move(quality)}};
}

}  // namespace ferry::monitoring
