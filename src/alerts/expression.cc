// The alert expression parser (expression_parser.h): the expression, its operators and
// the names in it. Hand-written because no library in Debian parses PromQL (Prometheus's
// own parser is Go), and because a hand-written parser can name exactly which PromQL
// feature is outside ferry's subset, at which column.

#include "alerts/expression.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "alerts/expression_parser.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace expression_internal {
namespace {

using core::Cat;

struct AggregateName {
  std::string_view name;
  AggregateOp op;
};
constexpr std::array<AggregateName, 5> kAggregations = {{{"sum", AggregateOp::kSum},
                                                         {"min", AggregateOp::kMin},
                                                         {"max", AggregateOp::kMax},
                                                         {"avg", AggregateOp::kAvg},
                                                         {"count", AggregateOp::kCount}}};
constexpr std::array<std::string_view, 8> kOtherAggregations = {
    "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group", "limitk"};
constexpr std::array<std::string_view, 12> kKeywords = {
    "by",   "without", "on",  "ignoring", "group_left", "group_right",
    "bool", "offset",  "and", "or",       "unless",     "atan2"};

// The value of an expression of numbers alone (HasSelector is false).
double Constant(const Expr& expr) {
  if (const auto* number = std::get_if<Number>(&expr.node)) return number->value;
  if (const auto* negation = std::get_if<Negation>(&expr.node)) {
    return -Constant(*negation->operand);
  }
  const auto& arithmetic = std::get<Arithmetic>(expr.node);
  return ApplyArithmetic(arithmetic.op, Constant(*arithmetic.lhs), Constant(*arithmetic.rhs));
}

}  // namespace

std::optional<CompareOp> ComparisonOf(TokenKind kind) {
  switch (kind) {
    case TokenKind::kGreater:
      return CompareOp::kGreater;
    case TokenKind::kGreaterEqual:
      return CompareOp::kGreaterEqual;
    case TokenKind::kLess:
      return CompareOp::kLess;
    case TokenKind::kLessEqual:
      return CompareOp::kLessEqual;
    case TokenKind::kEqualEqual:
      return CompareOp::kEqual;
    case TokenKind::kNotEqual:
      return CompareOp::kNotEqual;
    default:
      return std::nullopt;
  }
}

bool HasSelector(const Expr& expr) {
  return std::visit(
      [](const auto& node) -> bool {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, Number>) {
          return false;
        } else if constexpr (std::is_same_v<T, VectorSelector> || std::is_same_v<T, RangeCall> ||
                             std::is_same_v<T, Aggregation>) {
          return true;
        } else if constexpr (std::is_same_v<T, Arithmetic>) {
          return HasSelector(*node.lhs) || HasSelector(*node.rhs);
        } else {
          return HasSelector(*node.operand);
        }
      },
      expr.node);
}

absl::StatusOr<AlertExpression> Parser::Parse() {
  RETURN_IF_ERROR(Advance());
  AlertExpression out;
  ASSIGN_OR_RETURN(out.expr, Sum());
  if (std::optional<CompareOp> op = ComparisonOf(token_.kind)) {
    const size_t at = token_.offset;
    RETURN_IF_ERROR(Advance());
    if (token_.kind == TokenKind::kIdentifier && token_.text == "bool") {
      return Error("the bool modifier is not supported: an alert's comparison filters series");
    }
    const size_t rhs_at = token_.offset;
    ASSIGN_OR_RETURN(ExprPtr rhs, Sum());
    if (HasSelector(*rhs)) {
      return lexer_.Error(rhs_at, Cat("the right side of ", CompareOpName(*op),
                                      " must be a number (EXPR OP NUMBER)"));
    }
    if (!HasSelector(*out.expr)) {
      return lexer_.Error(at, "the left side of the comparison selects no series");
    }
    out.comparison = Comparison{*op, Constant(*rhs)};
  }
  if (ComparisonOf(token_.kind)) {
    return Error("only one comparison is allowed, at the top level: EXPR OP NUMBER");
  }
  if (token_.kind != TokenKind::kEnd) return Unexpected("an operator or the end");
  if (!HasSelector(*out.expr)) {
    return lexer_.Error(0,
                        "an alert expression must select series (e.g. "
                        "ferry_endpoint_ready == 0)");
  }
  out.range_selectors = std::move(range_selectors_);
  out.longest_range = longest_range_;
  return out;
}

absl::Status Parser::Advance() {
  ASSIGN_OR_RETURN(token_, lexer_.Next());
  if (token_.kind == TokenKind::kUnsupported) {
    if (token_.text == "@") return Error("the @ modifier is not supported");
    return Error(Cat("operator ", token_.text, " is not supported (supported: + - * /)"));
  }
  return absl::OkStatus();
}

absl::Status Parser::Unexpected(std::string_view expected) const {
  const std::string got = token_.kind == TokenKind::kEnd ? "the end" : Cat("\"", token_.text, "\"");
  return Error(Cat("expected ", expected, ", got ", got));
}

absl::Status Parser::Expect(TokenKind kind, std::string_view what) {
  if (token_.kind != kind) return Unexpected(what);
  return Advance();
}

// Binary operators may be followed by PromQL's matching modifiers; refuse them by name.
absl::Status Parser::CheckNoModifier() const {
  if (token_.kind == TokenKind::kIdentifier &&
      (token_.text == "on" || token_.text == "ignoring" || token_.text == "bool")) {
    return Error(Cat("\"", token_.text,
                     "\" is not supported: vectors are matched one-to-one"
                     " on identical label sets"));
  }
  return absl::OkStatus();
}

absl::Status Parser::CheckNoSetOperator() const {
  if (token_.kind == TokenKind::kIdentifier &&
      (token_.text == "and" || token_.text == "or" || token_.text == "unless")) {
    return Error(Cat("the set operator \"", token_.text, "\" is not supported"));
  }
  if (token_.kind == TokenKind::kIdentifier &&
      (token_.text == "group_left" || token_.text == "group_right" || token_.text == "atan2")) {
    return Error(Cat("\"", token_.text, "\" is not supported"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExprPtr> Parser::Sum() {
  if (++depth_ > kMaxDepth) return Error("the expression nests too deeply");
  ASSIGN_OR_RETURN(ExprPtr lhs, Product());
  while (token_.kind == TokenKind::kPlus || token_.kind == TokenKind::kMinus) {
    const ArithmeticOp op =
        token_.kind == TokenKind::kPlus ? ArithmeticOp::kAdd : ArithmeticOp::kSub;
    RETURN_IF_ERROR(Advance());
    RETURN_IF_ERROR(CheckNoModifier());
    ASSIGN_OR_RETURN(ExprPtr rhs, Product());
    lhs = Make(Arithmetic{op, std::move(lhs), std::move(rhs)});
  }
  RETURN_IF_ERROR(CheckNoSetOperator());
  --depth_;
  return lhs;
}

absl::StatusOr<ExprPtr> Parser::Product() {
  ASSIGN_OR_RETURN(ExprPtr lhs, Unary());
  while (token_.kind == TokenKind::kStar || token_.kind == TokenKind::kSlash) {
    const ArithmeticOp op =
        token_.kind == TokenKind::kStar ? ArithmeticOp::kMul : ArithmeticOp::kDiv;
    RETURN_IF_ERROR(Advance());
    RETURN_IF_ERROR(CheckNoModifier());
    ASSIGN_OR_RETURN(ExprPtr rhs, Unary());
    lhs = Make(Arithmetic{op, std::move(lhs), std::move(rhs)});
  }
  return lhs;
}

absl::StatusOr<ExprPtr> Parser::Unary() {
  if (++depth_ > kMaxDepth) return Error("the expression nests too deeply");
  ExprPtr out;
  if (token_.kind == TokenKind::kMinus || token_.kind == TokenKind::kPlus) {
    const bool minus = token_.kind == TokenKind::kMinus;
    RETURN_IF_ERROR(Advance());
    ASSIGN_OR_RETURN(ExprPtr operand, Unary());
    out = minus ? Make(Negation{std::move(operand)}) : std::move(operand);
  } else {
    ASSIGN_OR_RETURN(out, Primary());
  }
  --depth_;
  return out;
}

absl::StatusOr<ExprPtr> Parser::Primary() {
  switch (token_.kind) {
    case TokenKind::kNumber: {
      const double value = token_.number;
      RETURN_IF_ERROR(Advance());
      return Make(Number{value});
    }
    case TokenKind::kLeftParen: {
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(ExprPtr inner, Sum());
      if (ComparisonOf(token_.kind)) {
        return Error("a comparison may only stand at the top level: EXPR OP NUMBER");
      }
      RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "\")\""));
      return inner;
    }
    case TokenKind::kLeftBrace:
      return SelectorExpr("");
    case TokenKind::kString:
      return Error("a string may only be a label matcher's value");
    case TokenKind::kIdentifier:
      return Named();
    default:
      return Unexpected("a number, a selector, a function or \"(\"");
  }
}

absl::StatusOr<ExprPtr> Parser::Named() {
  const Token name = token_;
  for (const AggregateName& aggregation : kAggregations) {
    if (name.text == aggregation.name) {
      RETURN_IF_ERROR(Advance());
      if (token_.kind == TokenKind::kLeftParen ||
          (token_.kind == TokenKind::kIdentifier &&
           (token_.text == "by" || token_.text == "without"))) {
        return AggregationExpr(aggregation.op);
      }
      return SelectorAfterName(name);
    }
  }
  if (std::find(kKeywords.begin(), kKeywords.end(), name.text) != kKeywords.end()) {
    return Error(Cat("unexpected \"", name.text, "\""));
  }
  std::string lower = name.text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return std::tolower(c); });
  if (lower == "inf" || lower == "nan") {
    RETURN_IF_ERROR(Advance());
    return Make(Number{lower == "inf" ? HUGE_VAL : std::nan("")});
  }
  RETURN_IF_ERROR(Advance());
  if (token_.kind != TokenKind::kLeftParen) return SelectorAfterName(name);
  if (name.text == "rate" || name.text == "increase") {
    return RangeCallExpr(name.text == "rate" ? RangeFunction::kRate : RangeFunction::kIncrease);
  }
  if (std::find(kOtherAggregations.begin(), kOtherAggregations.end(), name.text) !=
      kOtherAggregations.end()) {
    return lexer_.Error(name.offset, Cat("aggregation ", name.text,
                                         " is not supported"
                                         " (supported: sum, min, max, avg, count)"));
  }
  return lexer_.Error(name.offset, Cat("function ", name.text,
                                       "() is not supported"
                                       " (supported: rate, increase)"));
}

}  // namespace expression_internal

absl::StatusOr<AlertExpression> ParseAlertExpression(std::string_view text) {
  if (text.size() > kMaxExpressionBytes) {
    return absl::InvalidArgumentError(
        core::Cat("the expression is ", text.size(), " bytes; at most ", kMaxExpressionBytes));
  }
  return expression_internal::Parser(text).Parse();
}

double ApplyArithmetic(ArithmeticOp op, double lhs, double rhs) {
  switch (op) {
    case ArithmeticOp::kAdd:
      return lhs + rhs;
    case ArithmeticOp::kSub:
      return lhs - rhs;
    case ArithmeticOp::kMul:
      return lhs * rhs;
    case ArithmeticOp::kDiv:
      return lhs / rhs;
  }
  return 0;
}

std::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kEqual:
      return "==";
    case CompareOp::kNotEqual:
      return "!=";
  }
  return "?";
}

}  // namespace ferry::alerts
