// The alert expression parser (expression_parser.h): aggregations, rate() and increase(),
// selectors and their matchers.

#include <algorithm>

#include "alerts/duration.h"
#include "alerts/expression_parser.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts::expression_internal {

using core::Cat;

absl::StatusOr<std::vector<std::string>> Parser::GroupingLabels() {
  RETURN_IF_ERROR(Expect(TokenKind::kLeftParen, "\"(\" and label names"));
  std::vector<std::string> labels;
  while (token_.kind != TokenKind::kRightParen) {
    if (token_.kind != TokenKind::kIdentifier || !IsValidLabelName(token_.text)) {
      return Unexpected("a label name");
    }
    labels.push_back(token_.text);
    RETURN_IF_ERROR(Advance());
    if (token_.kind == TokenKind::kComma) {
      RETURN_IF_ERROR(Advance());
    } else if (token_.kind != TokenKind::kRightParen) {
      return Unexpected("\",\" or \")\"");
    }
  }
  RETURN_IF_ERROR(Advance());
  return labels;
}

absl::Status Parser::Grouping(Aggregation& out) {
  if (token_.kind != TokenKind::kIdentifier || (token_.text != "by" && token_.text != "without")) {
    return absl::OkStatus();
  }
  if (out.grouping != Grouping::kNone) return Error("an aggregation takes one by or without");
  out.grouping = token_.text == "by" ? Grouping::kBy : Grouping::kWithout;
  RETURN_IF_ERROR(Advance());
  ASSIGN_OR_RETURN(out.labels, GroupingLabels());
  return absl::OkStatus();
}

absl::StatusOr<ExprPtr> Parser::AggregationExpr(AggregateOp op) {
  Aggregation out;
  out.op = op;
  RETURN_IF_ERROR(Grouping(out));
  RETURN_IF_ERROR(Expect(TokenKind::kLeftParen, "\"(\""));
  const size_t operand_at = token_.offset;
  ASSIGN_OR_RETURN(out.operand, Sum());
  if (token_.kind == TokenKind::kComma) {
    return Error("sum, min, max, avg and count take one argument");
  }
  if (ComparisonOf(token_.kind)) {
    return Error("a comparison may only stand at the top level: EXPR OP NUMBER");
  }
  RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "\")\""));
  RETURN_IF_ERROR(Grouping(out));
  if (!HasSelector(*out.operand)) {
    return lexer_.Error(operand_at, "an aggregation needs series, not a number");
  }
  return Make(std::move(out));
}

absl::StatusOr<ExprPtr> Parser::RangeCallExpr(RangeFunction function) {
  const std::string_view name = function == RangeFunction::kRate ? "rate" : "increase";
  const std::string usage =
      Cat(name, "() takes a range selector, e.g. ", name, "(ferry_inference_requests_total[5m])");
  RETURN_IF_ERROR(Advance());  // "("
  if (token_.kind != TokenKind::kIdentifier && token_.kind != TokenKind::kLeftBrace) {
    return Error(usage);
  }
  RangeCall out;
  out.function = function;
  std::string metric;
  if (token_.kind == TokenKind::kIdentifier) {
    metric = token_.text;
    RETURN_IF_ERROR(Advance());
  }
  ASSIGN_OR_RETURN(out.selector, Selector(metric));
  if (token_.kind != TokenKind::kLeftBracket) return Error(usage);
  RETURN_IF_ERROR(Advance());
  const Token duration = token_;
  if (duration.kind != TokenKind::kDuration) return Error(usage);
  absl::StatusOr<std::chrono::milliseconds> range = ParseDuration(duration.text);
  if (!range.ok()) {
    return lexer_.Error(duration.offset, Cat("range ", core::View(range.status().message())));
  }
  if (range->count() == 0) return lexer_.Error(duration.offset, "a range must be longer than 0s");
  out.range = *range;
  RETURN_IF_ERROR(Advance());
  if (token_.kind == TokenKind::kIdentifier && token_.text.starts_with(":")) {
    return Error("subqueries are not supported");
  }
  RETURN_IF_ERROR(Expect(TokenKind::kRightBracket, "\"]\""));
  if (token_.kind == TokenKind::kIdentifier && token_.text == "offset") {
    return Error("the offset modifier is not supported");
  }
  RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "\")\""));
  range_selectors_.push_back(out.selector);
  longest_range_ = std::max(longest_range_, out.range);
  return Make(std::move(out));
}

absl::StatusOr<ExprPtr> Parser::SelectorExpr(const std::string& metric) {
  ASSIGN_OR_RETURN(VectorSelector selector, Selector(metric));
  if (token_.kind == TokenKind::kLeftBracket) {
    return Error("a range selector needs rate() or increase() around it");
  }
  if (token_.kind == TokenKind::kIdentifier && token_.text == "offset") {
    return Error("the offset modifier is not supported");
  }
  return Make(std::move(selector));
}

absl::StatusOr<ExprPtr> Parser::SelectorAfterName(const Token& name) {
  if (!IsValidMetricName(name.text)) {
    return lexer_.Error(name.offset, Cat("\"", name.text, "\" is not a metric name"));
  }
  return SelectorExpr(name.text);
}

// After the metric name (if any): the optional braces of matchers.
absl::StatusOr<VectorSelector> Parser::Selector(const std::string& metric) {
  const size_t at = token_.offset;
  VectorSelector out;
  if (!metric.empty()) {
    ASSIGN_OR_RETURN(Matcher name, Matcher::Create(kMetricNameLabel, MatchOp::kEqual, metric));
    out.matchers.push_back(std::move(name));
  }
  if (token_.kind == TokenKind::kLeftBrace) {
    RETURN_IF_ERROR(Advance());
    while (token_.kind != TokenKind::kRightBrace) {
      RETURN_IF_ERROR(MatcherInto(out, !metric.empty()));
      if (token_.kind == TokenKind::kComma) {
        RETURN_IF_ERROR(Advance());
      } else if (token_.kind != TokenKind::kRightBrace) {
        return Unexpected("\",\" or \"}\"");
      }
    }
    RETURN_IF_ERROR(Advance());
  }
  if (std::all_of(out.matchers.begin(), out.matchers.end(),
                  [](const Matcher& m) { return m.MatchesEmpty(); })) {
    return lexer_.Error(at,
                        "a selector needs at least one matcher that does not match the"
                        " empty string (it would select every series)");
  }
  return out;
}

absl::Status Parser::MatcherInto(VectorSelector& out, bool has_metric) {
  if (token_.kind != TokenKind::kIdentifier || !IsValidLabelName(token_.text)) {
    return Unexpected("a label name");
  }
  const Token label = token_;
  if (label.text == kMetricNameLabel && has_metric) {
    return Error("the metric name is given twice");
  }
  RETURN_IF_ERROR(Advance());
  MatchOp op;
  switch (token_.kind) {
    case TokenKind::kAssign:
      op = MatchOp::kEqual;
      break;
    case TokenKind::kNotEqual:
      op = MatchOp::kNotEqual;
      break;
    case TokenKind::kRegexMatch:
      op = MatchOp::kRegexMatch;
      break;
    case TokenKind::kRegexNoMatch:
      op = MatchOp::kRegexNoMatch;
      break;
    default:
      return Unexpected("=, !=, =~ or !~");
  }
  RETURN_IF_ERROR(Advance());
  if (token_.kind != TokenKind::kString) return Unexpected("a quoted label value");
  absl::StatusOr<Matcher> matcher = Matcher::Create(label.text, op, token_.text);
  if (!matcher.ok()) {
    return Error(Cat("bad regex: ", core::View(matcher.status().message())));
  }
  out.matchers.push_back(*std::move(matcher));
  return Advance();
}

}  // namespace ferry::alerts::expression_internal
