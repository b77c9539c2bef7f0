#include "alerts/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <variant>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace {

using core::Cat;

// An expression's value: a number, or a vector of series.
using Value = std::variant<double, InstantVector>;

Labels WithoutName(Labels labels) {
  labels.erase(kMetricNameLabel);
  return labels;
}

bool Holds(CompareOp op, double lhs, double rhs) {
  switch (op) {
    case CompareOp::kGreater:
      return lhs > rhs;
    case CompareOp::kGreaterEqual:
      return lhs >= rhs;
    case CompareOp::kLess:
      return lhs < rhs;
    case CompareOp::kLessEqual:
      return lhs <= rhs;
    case CompareOp::kEqual:
      return lhs == rhs;
    case CompareOp::kNotEqual:
      return lhs != rhs;
  }
  return false;
}

// Prometheus's extrapolatedRate over the points in [start, end] (milliseconds).
std::optional<double> ExtrapolatedIncrease(const std::deque<SeriesHistory::Point>& points,
                                           int64_t start, int64_t end, bool per_second) {
  auto first =
      std::lower_bound(points.begin(), points.end(), start,
                       [](const SeriesHistory::Point& p, int64_t t) { return p.time_ms < t; });
  auto last =
      std::upper_bound(points.begin(), points.end(), end,
                       [](int64_t t, const SeriesHistory::Point& p) { return t < p.time_ms; });
  const auto count = std::distance(first, last);
  if (count < 2) return std::nullopt;
  const SeriesHistory::Point& head = *first;
  const SeriesHistory::Point& tail = *std::prev(last);
  double increase = tail.value - head.value;
  double previous = 0;
  for (auto it = first; it != last; ++it) {
    if (it->value < previous) increase += previous;  // a counter reset
    previous = it->value;
  }
  const double sampled = (tail.time_ms - head.time_ms) / 1000.0;
  double to_start = (head.time_ms - start) / 1000.0;
  double to_end = (end - tail.time_ms) / 1000.0;
  const double average_gap = sampled / static_cast<double>(count - 1);
  // A counter does not extrapolate below zero: the series may have started in the window.
  if (increase > 0 && head.value >= 0) {
    const double to_zero = sampled * (head.value / increase);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = average_gap * 1.1;
  double extrapolated = sampled;
  extrapolated += to_start < threshold ? to_start : average_gap / 2;
  extrapolated += to_end < threshold ? to_end : average_gap / 2;
  double result = increase * (extrapolated / sampled);
  if (per_second) result /= (end - start) / 1000.0;
  return result;
}

class Evaluator {
 public:
  explicit Evaluator(const EvaluationInput& input) : input_(input) {}

  absl::StatusOr<Value> Eval(const Expr& expr) {
    return std::visit([this](const auto& node) { return On(node); }, expr.node);
  }

 private:
  absl::StatusOr<Value> On(const Number& number) { return Value(number.value); }

  absl::StatusOr<Value> On(const VectorSelector& selector) {
    InstantVector out;
    for (const Sample& sample : input_.samples) {
      if (selector.Matches(sample.labels)) out.push_back({sample.labels, sample.value});
    }
    return Value(std::move(out));
  }

  absl::StatusOr<Value> On(const RangeCall& call) {
    InstantVector out;
    const int64_t end = input_.now_ms;
    const int64_t start = end - call.range.count();
    for (const auto& [labels, points] : input_.history.series()) {
      if (!call.selector.Matches(labels)) continue;
      std::optional<double> value =
          ExtrapolatedIncrease(points, start, end, call.function == RangeFunction::kRate);
      if (value) out.push_back({WithoutName(labels), *value});
    }
    return Value(std::move(out));
  }

  absl::StatusOr<Value> On(const Aggregation& aggregation) {
    ASSIGN_OR_RETURN(Value operand, Eval(*aggregation.operand));
    if (!std::holds_alternative<InstantVector>(operand)) {
      return absl::InvalidArgumentError("an aggregation needs series, not a number");
    }
    struct Group {
      double value = 0;
      double count = 0;
    };
    std::map<Labels, Group> groups;
    for (SeriesValue& series : std::get<InstantVector>(operand)) {
      Labels key;
      if (aggregation.grouping == Grouping::kBy) {
        for (const std::string& name : aggregation.labels) {
          if (auto found = series.labels.find(name); found != series.labels.end()) {
            key.insert(*found);
          }
        }
      } else if (aggregation.grouping == Grouping::kWithout) {
        key = WithoutName(std::move(series.labels));
        for (const std::string& name : aggregation.labels) key.erase(name);
      }
      auto [it, created] = groups.try_emplace(std::move(key));
      Group& group = it->second;
      const double v = series.value;
      group.count += 1;
      if (created) {
        group.value = aggregation.op == AggregateOp::kCount ? 1 : v;
        continue;
      }
      switch (aggregation.op) {
        case AggregateOp::kSum:
        case AggregateOp::kAvg:
          group.value += v;
          break;
        case AggregateOp::kCount:
          group.value += 1;
          break;
        // As Prometheus: NaN loses to any number.
        case AggregateOp::kMin:
          if (v < group.value || std::isnan(group.value)) group.value = v;
          break;
        case AggregateOp::kMax:
          if (v > group.value || std::isnan(group.value)) group.value = v;
          break;
      }
    }
    InstantVector out;
    for (auto& [labels, group] : groups) {
      const double value =
          aggregation.op == AggregateOp::kAvg ? group.value / group.count : group.value;
      out.push_back({labels, value});
    }
    return Value(std::move(out));
  }

  absl::StatusOr<Value> On(const Negation& negation) {
    ASSIGN_OR_RETURN(Value operand, Eval(*negation.operand));
    if (const double* number = std::get_if<double>(&operand)) return Value(-*number);
    InstantVector& vector = std::get<InstantVector>(operand);
    for (SeriesValue& series : vector) {
      series.labels.erase(kMetricNameLabel);
      series.value = -series.value;
    }
    return operand;
  }

  absl::StatusOr<Value> On(const Arithmetic& arithmetic) {
    ASSIGN_OR_RETURN(Value lhs, Eval(*arithmetic.lhs));
    ASSIGN_OR_RETURN(Value rhs, Eval(*arithmetic.rhs));
    const ArithmeticOp op = arithmetic.op;
    const double* lhs_number = std::get_if<double>(&lhs);
    const double* rhs_number = std::get_if<double>(&rhs);
    if (lhs_number && rhs_number) return Value(ApplyArithmetic(op, *lhs_number, *rhs_number));
    if (lhs_number || rhs_number) {
      InstantVector& vector = std::get<InstantVector>(lhs_number ? rhs : lhs);
      for (SeriesValue& series : vector) {
        series.labels.erase(kMetricNameLabel);
        series.value = lhs_number ? ApplyArithmetic(op, *lhs_number, series.value)
                                  : ApplyArithmetic(op, series.value, *rhs_number);
      }
      return Value(std::move(vector));
    }
    // One-to-one matching on the label sets without the metric name.
    std::map<Labels, double> right;
    for (SeriesValue& series : std::get<InstantVector>(rhs)) {
      Labels key = WithoutName(std::move(series.labels));
      if (right.contains(key)) {
        return absl::InvalidArgumentError(Cat("found duplicate series for the match group ",
                                              FormatLabels(key),
                                              " on the right-hand side of the operation"));
      }
      right.emplace(std::move(key), series.value);
    }
    InstantVector out;
    std::set<Labels> matched;
    for (SeriesValue& series : std::get<InstantVector>(lhs)) {
      Labels key = WithoutName(std::move(series.labels));
      auto other = right.find(key);
      if (other == right.end()) continue;
      if (!matched.insert(key).second) {
        return absl::InvalidArgumentError(Cat("found duplicate series for the match group ",
                                              FormatLabels(key),
                                              " on the left-hand side of the operation"));
      }
      out.push_back({std::move(key), ApplyArithmetic(op, series.value, other->second)});
    }
    return Value(std::move(out));
  }

  const EvaluationInput& input_;
};

}  // namespace

void SeriesHistory::Record(const std::vector<Sample>& samples,
                           const std::vector<VectorSelector>& selectors, int64_t now_ms,
                           std::chrono::milliseconds retention) {
  for (const Sample& sample : samples) {
    const bool wanted =
        std::any_of(selectors.begin(), selectors.end(),
                    [&sample](const VectorSelector& s) { return s.Matches(sample.labels); });
    if (!wanted) continue;
    std::deque<Point>& points = series_[sample.labels];
    if (!points.empty() && points.back().time_ms >= now_ms) continue;  // one sample per instant
    points.push_back({now_ms, sample.value});
    if (points.size() > kMaxPointsPerSeries) points.pop_front();
  }
  const int64_t oldest = now_ms - retention.count();
  for (auto it = series_.begin(); it != series_.end();) {
    std::deque<Point>& points = it->second;
    while (!points.empty() && points.front().time_ms < oldest) points.pop_front();
    it = points.empty() ? series_.erase(it) : std::next(it);
  }
}

absl::StatusOr<InstantVector> EvaluateAlertExpression(const AlertExpression& expression,
                                                      const EvaluationInput& input) {
  Evaluator evaluator(input);
  ASSIGN_OR_RETURN(Value value, evaluator.Eval(*expression.expr));
  if (!std::holds_alternative<InstantVector>(value)) {
    return absl::InvalidArgumentError("the expression yields a number, not series");
  }
  InstantVector& vector = std::get<InstantVector>(value);
  if (!expression.comparison) return std::move(vector);
  const Comparison& comparison = *expression.comparison;
  std::erase_if(vector, [&comparison](const SeriesValue& series) {
    return !Holds(comparison.op, series.value, comparison.threshold);
  });
  return std::move(vector);
}

}  // namespace ferry::alerts
