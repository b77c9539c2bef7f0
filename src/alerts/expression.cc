// The alert expression parser: recursive descent over expression_lexer.h's tokens.
// Hand-written because no library in Debian parses PromQL (Prometheus's own parser is Go),
// and because a hand-written parser can name exactly which PromQL feature is outside
// ferry's subset, at which column.

#include "alerts/expression.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "alerts/duration.h"
#include "alerts/expression_lexer.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace {

using core::Cat;
using expression_internal::Lexer;
using expression_internal::Token;
using expression_internal::TokenKind;

constexpr int kMaxDepth = 64;

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
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "and", "or", "unless", "atan2"};

std::optional<CompareOp> ComparisonOf(TokenKind kind) {
  switch (kind) {
    case TokenKind::kGreater: return CompareOp::kGreater;
    case TokenKind::kGreaterEqual: return CompareOp::kGreaterEqual;
    case TokenKind::kLess: return CompareOp::kLess;
    case TokenKind::kLessEqual: return CompareOp::kLessEqual;
    case TokenKind::kEqualEqual: return CompareOp::kEqual;
    case TokenKind::kNotEqual: return CompareOp::kNotEqual;
    default: return std::nullopt;
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

// The value of an expression of numbers alone (HasSelector is false).
double Constant(const Expr& expr) {
  if (const auto* number = std::get_if<Number>(&expr.node)) return number->value;
  if (const auto* negation = std::get_if<Negation>(&expr.node)) {
    return -Constant(*negation->operand);
  }
  const auto& arithmetic = std::get<Arithmetic>(expr.node);
  const double lhs = Constant(*arithmetic.lhs);
  const double rhs = Constant(*arithmetic.rhs);
  switch (arithmetic.op) {
    case ArithmeticOp::kAdd: return lhs + rhs;
    case ArithmeticOp::kSub: return lhs - rhs;
    case ArithmeticOp::kMul: return lhs * rhs;
    case ArithmeticOp::kDiv: return lhs / rhs;
  }
  return 0;
}

ExprPtr Make(auto node) { return std::make_shared<const Expr>(Expr{std::move(node)}); }

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  absl::StatusOr<AlertExpression> Parse() {
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
      return lexer_.Error(0, "an alert expression must select series (e.g. "
                             "ferry_endpoint_ready == 0)");
    }
    out.range_selectors = std::move(range_selectors_);
    out.longest_range = longest_range_;
    return out;
  }

 private:
  absl::Status Advance() {
    ASSIGN_OR_RETURN(token_, lexer_.Next());
    if (token_.kind == TokenKind::kUnsupported) {
      if (token_.text == "@") return Error("the @ modifier is not supported");
      return Error(Cat("operator ", token_.text, " is not supported (supported: + - * /)"));
    }
    return absl::OkStatus();
  }
  absl::Status Error(std::string_view what) const { return lexer_.Error(token_.offset, what); }
  absl::Status Unexpected(std::string_view expected) const {
    const std::string got = token_.kind == TokenKind::kEnd ? "the end" : Cat("\"", token_.text, "\"");
    return Error(Cat("expected ", expected, ", got ", got));
  }
  absl::Status Expect(TokenKind kind, std::string_view what) {
    if (token_.kind != kind) return Unexpected(what);
    return Advance();
  }
  // Binary operators may be followed by PromQL's matching modifiers; refuse them by name.
  absl::Status CheckNoModifier() const {
    if (token_.kind == TokenKind::kIdentifier &&
        (token_.text == "on" || token_.text == "ignoring" || token_.text == "bool")) {
      return Error(Cat("\"", token_.text, "\" is not supported: vectors are matched one-to-one"
                       " on identical label sets"));
    }
    return absl::OkStatus();
  }
  absl::Status CheckNoSetOperator() const {
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

  absl::StatusOr<ExprPtr> Sum() {
    if (++depth_ > kMaxDepth) return Error("the expression nests too deeply");
    ASSIGN_OR_RETURN(ExprPtr lhs, Product());
    while (token_.kind == TokenKind::kPlus || token_.kind == TokenKind::kMinus) {
      const ArithmeticOp op = token_.kind == TokenKind::kPlus ? ArithmeticOp::kAdd : ArithmeticOp::kSub;
      RETURN_IF_ERROR(Advance());
      RETURN_IF_ERROR(CheckNoModifier());
      ASSIGN_OR_RETURN(ExprPtr rhs, Product());
      lhs = Make(Arithmetic{op, std::move(lhs), std::move(rhs)});
    }
    RETURN_IF_ERROR(CheckNoSetOperator());
    --depth_;
    return lhs;
  }

  absl::StatusOr<ExprPtr> Product() {
    ASSIGN_OR_RETURN(ExprPtr lhs, Unary());
    while (token_.kind == TokenKind::kStar || token_.kind == TokenKind::kSlash) {
      const ArithmeticOp op = token_.kind == TokenKind::kStar ? ArithmeticOp::kMul : ArithmeticOp::kDiv;
      RETURN_IF_ERROR(Advance());
      RETURN_IF_ERROR(CheckNoModifier());
      ASSIGN_OR_RETURN(ExprPtr rhs, Unary());
      lhs = Make(Arithmetic{op, std::move(lhs), std::move(rhs)});
    }
    return lhs;
  }

  absl::StatusOr<ExprPtr> Unary() {
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

  absl::StatusOr<ExprPtr> Primary() {
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
      case TokenKind::kLeftBrace: return SelectorExpr("");
      case TokenKind::kString: return Error("a string may only be a label matcher's value");
      case TokenKind::kIdentifier: return Named();
      default: return Unexpected("a number, a selector, a function or \"(\"");
    }
  }

  absl::StatusOr<ExprPtr> Named() {
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
      return lexer_.Error(name.offset, Cat("aggregation ", name.text, " is not supported"
                                           " (supported: sum, min, max, avg, count)"));
    }
    return lexer_.Error(name.offset, Cat("function ", name.text, "() is not supported"
                                         " (supported: rate, increase)"));
  }

  absl::StatusOr<std::vector<std::string>> GroupingLabels() {
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

  absl::Status Grouping(Aggregation& out) {
    if (token_.kind != TokenKind::kIdentifier || (token_.text != "by" && token_.text != "without")) {
      return absl::OkStatus();
    }
    if (out.grouping != Grouping::kNone) return Error("an aggregation takes one by or without");
    out.grouping = token_.text == "by" ? Grouping::kBy : Grouping::kWithout;
    RETURN_IF_ERROR(Advance());
    ASSIGN_OR_RETURN(out.labels, GroupingLabels());
    return absl::OkStatus();
  }

  absl::StatusOr<ExprPtr> AggregationExpr(AggregateOp op) {
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

  absl::StatusOr<ExprPtr> RangeCallExpr(RangeFunction function) {
    const std::string_view name = function == RangeFunction::kRate ? "rate" : "increase";
    const std::string usage = Cat(name, "() takes a range selector, e.g. ", name,
                                  "(ferry_inference_requests_total[5m])");
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

  absl::StatusOr<ExprPtr> SelectorExpr(const std::string& metric) {
    ASSIGN_OR_RETURN(VectorSelector selector, Selector(metric));
    if (token_.kind == TokenKind::kLeftBracket) {
      return Error("a range selector needs rate() or increase() around it");
    }
    if (token_.kind == TokenKind::kIdentifier && token_.text == "offset") {
      return Error("the offset modifier is not supported");
    }
    return Make(std::move(selector));
  }

  absl::StatusOr<ExprPtr> SelectorAfterName(const Token& name) {
    if (!IsValidMetricName(name.text)) {
      return lexer_.Error(name.offset, Cat("\"", name.text, "\" is not a metric name"));
    }
    return SelectorExpr(name.text);
  }

  // After the metric name (if any): the optional braces of matchers.
  absl::StatusOr<VectorSelector> Selector(const std::string& metric) {
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
      return lexer_.Error(at, "a selector needs at least one matcher that does not match the"
                              " empty string (it would select every series)");
    }
    return out;
  }

  absl::Status MatcherInto(VectorSelector& out, bool has_metric) {
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
      case TokenKind::kAssign: op = MatchOp::kEqual; break;
      case TokenKind::kNotEqual: op = MatchOp::kNotEqual; break;
      case TokenKind::kRegexMatch: op = MatchOp::kRegexMatch; break;
      case TokenKind::kRegexNoMatch: op = MatchOp::kRegexNoMatch; break;
      default: return Unexpected("=, !=, =~ or !~");
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

  Lexer lexer_;
  Token token_;
  int depth_ = 0;
  std::vector<VectorSelector> range_selectors_;
  std::chrono::milliseconds longest_range_{0};
};

}  // namespace

absl::StatusOr<Matcher> Matcher::Create(std::string name, MatchOp op, std::string value) {
  Matcher matcher(std::move(name), op, std::move(value));
  if (op == MatchOp::kRegexMatch || op == MatchOp::kRegexNoMatch) {
    RE2::Options options;
    options.set_log_errors(false);
    // Checked alone first, so that an error quotes the user's regex, not the anchored one.
    if (const RE2 alone(matcher.value_, options); !alone.ok()) {
      return absl::InvalidArgumentError(alone.error());
    }
    matcher.regex_ = std::make_shared<const RE2>(Cat("^(?:", matcher.value_, ")$"), options);
  }
  return matcher;
}

bool Matcher::MatchesValue(std::string_view value) const {
  switch (op_) {
    case MatchOp::kEqual: return value == value_;
    case MatchOp::kNotEqual: return value != value_;
    case MatchOp::kRegexMatch: return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
    case MatchOp::kRegexNoMatch: return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
  }
  return false;
}

bool Matcher::Matches(const Labels& labels) const {
  const auto found = labels.find(name_);
  return MatchesValue(found == labels.end() ? std::string_view() : std::string_view(found->second));
}

bool Matcher::MatchesEmpty() const { return MatchesValue(""); }

bool VectorSelector::Matches(const Labels& labels) const {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&labels](const Matcher& m) { return m.Matches(labels); });
}

absl::StatusOr<AlertExpression> ParseAlertExpression(std::string_view text) {
  if (text.size() > kMaxExpressionBytes) {
    return absl::InvalidArgumentError(
        Cat("the expression is ", text.size(), " bytes; at most ", kMaxExpressionBytes));
  }
  return Parser(text).Parse();
}

std::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kGreater: return ">";
    case CompareOp::kGreaterEqual: return ">=";
    case CompareOp::kLess: return "<";
    case CompareOp::kLessEqual: return "<=";
    case CompareOp::kEqual: return "==";
    case CompareOp::kNotEqual: return "!=";
  }
  return "?";
}

}  // namespace ferry::alerts
