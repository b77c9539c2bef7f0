#include "table/table_profile.h"

#include <algorithm>
#include <cmath>

namespace ferry::table {

double ColumnProfile::null_rate() const {
  const int64_t rows = count + null_count;
  return rows == 0 ? 0.0 : static_cast<double>(null_count) / static_cast<double>(rows);
}

Histogram ColumnProfile::MakeHistogram(int bins) const {
  Histogram h;
  if (!numeric || numeric->quantiles.empty() || bins < 1) return h;
  const NumericStats& s = *numeric;
  const KllSketch::SortedView view = s.quantiles.View();
  const auto n = static_cast<double>(s.quantiles.n());
  const bool integral = type == ColumnType::kInt64 &&
                        static_cast<double>(s.int_max) - static_cast<double>(s.int_min) < bins;
  if (integral) {
    // One bin per value: edges at the half-integers around each.
    const int64_t values = s.int_max - s.int_min + 1;
    for (int64_t i = 0; i <= values; ++i) h.edges.push_back(static_cast<double>(s.int_min + i) - 0.5);
  } else if (s.min == s.max) {
    h.edges = {s.min, s.max};
  } else {
    const double width = (s.max - s.min) / bins;
    for (int i = 0; i < bins; ++i) h.edges.push_back(s.min + width * i);
    h.edges.push_back(s.max);
  }
  // Counts from the CDF at the edges; rounding cumulative counts keeps the sum exact.
  int64_t previous = 0;
  for (size_t i = 1; i < h.edges.size(); ++i) {
    const bool last = i + 1 == h.edges.size();
    // Bins are [lo, hi) except the last, [lo, hi]: count values < hi, i.e. the rank just
    // below hi.
    const double below = last ? 1.0 : view.Rank(std::nextafter(h.edges[i], -INFINITY));
    const auto cumulative = static_cast<int64_t>(std::llround(below * n));
    h.counts.push_back(std::max<int64_t>(cumulative - previous, 0));
    previous = std::max(previous, cumulative);
  }
  return h;
}

Schema TableProfile::schema() const {
  Schema s;
  s.columns.reserve(columns.size());
  for (const ColumnProfile& c : columns) s.columns.push_back(c.schema());
  return s;
}

const ColumnProfile* TableProfile::column(std::string_view name) const {
  for (const ColumnProfile& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace ferry::table
