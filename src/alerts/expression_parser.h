#pragma once

// The recursive-descent parser of alert expressions (expression.h), over the tokens of
// expression_lexer.h; split by concern: expression.cc (the expression, operators and
// names), expression_operands.cc (aggregations, range calls, selectors and matchers).
// Internal to src/alerts.
//
// Thread-safety: a Parser belongs to one parse.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/expression.h"
#include "alerts/expression_lexer.h"

namespace ferry::alerts::expression_internal {

inline constexpr int kMaxDepth = 64;

// The comparison a token is, if it is one.
std::optional<CompareOp> ComparisonOf(TokenKind kind);
// Whether the expression reads series (else it is numbers alone).
bool HasSelector(const Expr& expr);

inline ExprPtr Make(auto node) { return std::make_shared<const Expr>(Expr{std::move(node)}); }

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  absl::StatusOr<AlertExpression> Parse();

 private:
  absl::Status Advance();
  absl::Status Error(std::string_view what) const { return lexer_.Error(token_.offset, what); }
  absl::Status Unexpected(std::string_view expected) const;
  absl::Status Expect(TokenKind kind, std::string_view what);
  // Binary operators may be followed by PromQL's matching modifiers; refuse them by name.
  absl::Status CheckNoModifier() const;
  absl::Status CheckNoSetOperator() const;
  absl::StatusOr<ExprPtr> Sum();
  absl::StatusOr<ExprPtr> Product();
  absl::StatusOr<ExprPtr> Unary();
  absl::StatusOr<ExprPtr> Primary();
  absl::StatusOr<ExprPtr> Named();
  absl::StatusOr<std::vector<std::string>> GroupingLabels();
  absl::Status Grouping(Aggregation& out);
  absl::StatusOr<ExprPtr> AggregationExpr(AggregateOp op);
  absl::StatusOr<ExprPtr> RangeCallExpr(RangeFunction function);
  absl::StatusOr<ExprPtr> SelectorExpr(const std::string& metric);
  absl::StatusOr<ExprPtr> SelectorAfterName(const Token& name);
  // After the metric name (if any): the optional braces of matchers.
  absl::StatusOr<VectorSelector> Selector(const std::string& metric);
  absl::Status MatcherInto(VectorSelector& out, bool has_metric);

  Lexer lexer_;
  Token token_;
  int depth_ = 0;
  std::vector<VectorSelector> range_selectors_;
  std::chrono::milliseconds longest_range_{0};
};

}  // namespace ferry::alerts::expression_internal
