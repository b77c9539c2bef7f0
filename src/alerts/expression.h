#pragma once

// Alert expressions: the subset of PromQL that ferry evaluates, kept valid PromQL so that
// `ferry alerts export-prometheus` writes a rule file Prometheus runs unchanged.
//
//   expression := sum [COMPARE number]         COMPARE: > >= < <= == !=, at the top only
//   sum        := product (("+" | "-") product)*
//   product    := unary (("*" | "/") unary)*
//   unary      := ("-" | "+") unary | primary
//   primary    := number | "(" sum ")" | selector
//              | ("rate" | "increase") "(" selector "[" duration "]" ")"
//              | AGG [("by" | "without") "(" labels ")"] "(" sum ")" [("by" | "without") "(" labels
//              ")"]
//   selector   := metric_name ["{" matchers "}"] | "{" matchers "}"
//   matcher    := label ("=" | "!=" | "=~" | "!~") string       AGG: sum min max avg count
//
// Semantics are PromQL's (docs/alerts.md): arithmetic between two vectors matches series
// one-to-one on identical label sets without the metric name, which it drops; regexes are
// RE2 (the syntax Prometheus uses) and fully anchored; the top-level comparison keeps the
// series for which it holds, with the left side's value.
//
// Thread-safety: a parsed expression is immutable; share it freely.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/labels.h"

namespace re2 {
class RE2;
}

namespace ferry::alerts {

inline constexpr size_t kMaxExpressionBytes = 4096;

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// One label matcher of a selector; a label a series lacks matches as "".
class Matcher {
 public:
  // InvalidArgument for a regex RE2 refuses (the message is RE2's).
  static absl::StatusOr<Matcher> Create(std::string name, MatchOp op, std::string value);

  bool Matches(const Labels& labels) const;
  bool MatchesEmpty() const;  // whether a series without the label matches
  const std::string& name() const { return name_; }

 private:
  Matcher(std::string name, MatchOp op, std::string value)
      : name_(std::move(name)), op_(op), value_(std::move(value)) {}
  bool MatchesValue(std::string_view value) const;

  std::string name_;
  MatchOp op_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;  // the anchored regex of =~ and !~
};

struct VectorSelector {
  std::vector<Matcher> matchers;  // the metric name as a matcher on "__name__"
  bool Matches(const Labels& labels) const;
};

enum class RangeFunction { kRate, kIncrease };
enum class AggregateOp { kSum, kMin, kMax, kAvg, kCount };
enum class Grouping { kNone, kBy, kWithout };
enum class ArithmeticOp { kAdd, kSub, kMul, kDiv };
enum class CompareOp { kGreater, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Number {
  double value = 0;
};
struct RangeCall {
  RangeFunction function = RangeFunction::kRate;
  VectorSelector selector;
  std::chrono::milliseconds range{0};
};
struct Aggregation {
  AggregateOp op = AggregateOp::kSum;
  Grouping grouping = Grouping::kNone;
  std::vector<std::string> labels;
  ExprPtr operand;
};
struct Arithmetic {
  ArithmeticOp op = ArithmeticOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
};
struct Negation {
  ExprPtr operand;
};

struct Expr {
  std::variant<Number, VectorSelector, RangeCall, Aggregation, Arithmetic, Negation> node;
};

struct Comparison {
  CompareOp op = CompareOp::kGreater;
  double threshold = 0;
};

struct AlertExpression {
  ExprPtr expr;
  std::optional<Comparison> comparison;
  // The selectors inside rate() and increase(), and the longest of their ranges: what
  // the evaluator keeps samples of, and for how long.
  std::vector<VectorSelector> range_selectors;
  std::chrono::milliseconds longest_range{0};
};

// Parses `text`. InvalidArgument naming the column (and line, for text over several
// lines) and what is wrong: a syntax error, a malformed string, duration or regex, a
// selector that could match every series, or PromQL outside the subset above (named:
// "function histogram_quantile is not supported ...").
absl::StatusOr<AlertExpression> ParseAlertExpression(std::string_view text);

std::string_view CompareOpName(CompareOp op);  // ">", ">=", ...
// lhs OP rhs, with IEEE semantics (x / 0 is +-Inf or NaN, as in PromQL).
double ApplyArithmetic(ArithmeticOp op, double lhs, double rhs);

}  // namespace ferry::alerts
