#include "tracking/run_filter.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "core/status.h"
#include "core/strings.h"
#include "tracking/run_record.h"

namespace ferry::tracking {
namespace {

using core::Cat;

enum class TokenType : uint8_t { kIdent, kNumber, kString, kOperator, kEnd };

struct Token {
  TokenType type = TokenType::kEnd;
  std::string text;  // strings: without their quotes
  size_t position = 0;
};

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view what, std::string_view text) : what_(what), text_(text) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == text_.size()) break;
      const size_t start = pos_;
      const char c = text_[pos_];
      if (IdentStart(c)) {
        while (pos_ < text_.size() && IdentChar(text_[pos_])) ++pos_;
        std::string ident(text_.substr(start, pos_ - start));
        // "metrics.`val loss`" or metrics."val loss": a quoted key right after the dot.
        if (ident.back() == '.' && pos_ < text_.size() && (text_[pos_] == '`' || text_[pos_] == '"')) {
          ASSIGN_OR_RETURN(std::string quoted, Quoted());
          ident += quoted;
        }
        tokens.push_back({TokenType::kIdent, std::move(ident), start});
      } else if (c == '\'' || c == '"' || c == '`') {
        ASSIGN_OR_RETURN(std::string quoted, Quoted());
        tokens.push_back({c == '`' ? TokenType::kIdent : TokenType::kString, std::move(quoted),
                          start});
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
        ++pos_;
        while (pos_ < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
                ((text_[pos_] == '-' || text_[pos_] == '+') &&
                 (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
          ++pos_;
        }
        tokens.push_back({TokenType::kNumber, std::string(text_.substr(start, pos_ - start)),
                          start});
      } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        ++pos_;
        if (pos_ < text_.size() && (text_[pos_] == '=' || (c == '<' && text_[pos_] == '>'))) {
          ++pos_;
        }
        std::string op(text_.substr(start, pos_ - start));
        if (op == "!") return Error(start, "\"!\" must be followed by \"=\"");
        tokens.push_back({TokenType::kOperator, std::move(op), start});
      } else {
        return Error(start, Cat("unexpected character '", std::string(1, c), "'"));
      }
    }
    tokens.push_back({TokenType::kEnd, "", text_.size()});
    return tokens;
  }

 private:
  absl::StatusOr<std::string> Quoted() {
    const size_t start = pos_;
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return Error(start, "unterminated quote");
    std::string out(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  absl::Status Error(size_t at, std::string_view message) const {
    return absl::InvalidArgumentError(Cat(what_, ": ", message, " at ", at, " in \"", text_, "\""));
  }

  std::string_view what_;
  std::string_view text_;
  size_t pos_ = 0;
};

struct AttributeName {
  std::string_view name;
  Attribute attribute;
};
constexpr AttributeName kAttributes[] = {
    {"run_id", Attribute::kRunId},          {"run_name", Attribute::kRunName},
    {"name", Attribute::kRunName},          {"status", Attribute::kStatus},
    {"user", Attribute::kUser},             {"host", Attribute::kHost},
    {"source_sha256", Attribute::kSourceSha256}, {"start_time", Attribute::kStartTime},
    {"end_time", Attribute::kEndTime},      {"experiment_id", Attribute::kExperimentId},
};

absl::StatusOr<Entity> ParseEntity(std::string_view what, const Token& token) {
  if (token.type != TokenType::kIdent) {
    return absl::InvalidArgumentError(Cat(what, ": expected metrics.KEY, params.KEY, tags.KEY or"
                                          " an attribute at ", token.position, ", got \"",
                                          token.text, "\""));
  }
  const std::string& text = token.text;
  const size_t dot = text.find('.');
  std::string prefix = dot == std::string::npos ? "" : Lower(text.substr(0, dot));
  std::string key = dot == std::string::npos ? text : text.substr(dot + 1);
  Entity entity;
  if (prefix == "metrics" || prefix == "metric") {
    entity.kind = EntityKind::kMetric;
  } else if (prefix == "params" || prefix == "param") {
    entity.kind = EntityKind::kParam;
  } else if (prefix == "tags" || prefix == "tag") {
    entity.kind = EntityKind::kTag;
  } else if (prefix == "attributes" || prefix == "attribute" || prefix == "attr" ||
             prefix == "run") {
    entity.kind = EntityKind::kAttribute;
  } else {
    entity.kind = EntityKind::kAttribute;
    key = text;
  }
  if (entity.kind != EntityKind::kAttribute) {
    RETURN_IF_ERROR(ValidateKey(prefix, key));
    entity.key = std::move(key);
    return entity;
  }
  for (const AttributeName& a : kAttributes) {
    if (Lower(key) == a.name) {
      entity.attribute = a.attribute;
      return entity;
    }
  }
  return absl::InvalidArgumentError(
      Cat(what, ": unknown attribute \"", key, "\" at ", token.position,
          " (attributes: run_id, run_name, status, user, host, source_sha256, start_time,"
          " end_time, experiment_id; or use metrics., params., tags.)"));
}

std::optional<Comparison> ParseComparison(const Token& token) {
  if (token.type == TokenType::kOperator) {
    if (token.text == "=" || token.text == "==") return Comparison::kEq;
    if (token.text == "!=" || token.text == "<>") return Comparison::kNe;
    if (token.text == "<") return Comparison::kLt;
    if (token.text == "<=") return Comparison::kLe;
    if (token.text == ">") return Comparison::kGt;
    if (token.text == ">=") return Comparison::kGe;
  } else if (token.type == TokenType::kIdent) {
    if (Lower(token.text) == "like") return Comparison::kLike;
    if (Lower(token.text) == "ilike") return Comparison::kILike;
  }
  return std::nullopt;
}

bool IsOrdering(Comparison op) {
  return op == Comparison::kLt || op == Comparison::kLe || op == Comparison::kGt ||
         op == Comparison::kGe;
}

std::string Describe(const Token& entity, const Token& op) {
  return Cat("\"", entity.text, " ", op.text, "\"");
}

absl::StatusOr<Clause> ParseClause(const std::vector<Token>& tokens, size_t& i) {
  const Token& entity_token = tokens[i];
  ASSIGN_OR_RETURN(Entity entity, ParseEntity("filter", entity_token));
  const Token& op_token = tokens[++i];
  std::optional<Comparison> op = ParseComparison(op_token);
  if (!op) {
    return absl::InvalidArgumentError(Cat("filter: expected a comparison (=, !=, <, <=, >, >=,"
                                          " LIKE, ILIKE) after \"", entity_token.text, "\" at ",
                                          op_token.position));
  }
  const Token& value = tokens[++i];
  ++i;
  Clause clause{entity, *op, 0.0};
  const bool numeric = entity.kind == EntityKind::kMetric ||
                       (entity.kind == EntityKind::kAttribute && AttributeIsInteger(entity.attribute));
  if (numeric) {
    if (*op == Comparison::kLike || *op == Comparison::kILike) {
      return absl::InvalidArgumentError(
          Cat("filter: ", Describe(entity_token, op_token), ": LIKE compares strings, and \"",
              entity_token.text, "\" is a number"));
    }
    if (value.type != TokenType::kNumber) {
      return absl::InvalidArgumentError(Cat("filter: expected a number after ",
                                            Describe(entity_token, op_token), " at ",
                                            value.position));
    }
    if (entity.kind == EntityKind::kMetric) {
      ASSIGN_OR_RETURN(double number, ParseMetricValue(value.text));
      clause.literal = number;
    } else {
      int64_t number = 0;
      auto [end, ec] = std::from_chars(value.text.data(), value.text.data() + value.text.size(),
                                       number);
      if (ec != std::errc() || end != value.text.data() + value.text.size()) {
        return absl::InvalidArgumentError(Cat("filter: ", Describe(entity_token, op_token),
                                              " takes an integer (microseconds for times), got ",
                                              value.text));
      }
      clause.literal = number;
    }
    return clause;
  }
  if (IsOrdering(*op)) {
    return absl::InvalidArgumentError(Cat("filter: ", Describe(entity_token, op_token),
                                          ": strings compare with =, !=, LIKE or ILIKE"));
  }
  if (value.type != TokenType::kString) {
    return absl::InvalidArgumentError(Cat("filter: expected a quoted string after ",
                                          Describe(entity_token, op_token), " at ",
                                          value.position, " (e.g. params.max_depth = \"6\")"));
  }
  if (entity.kind == EntityKind::kAttribute && entity.attribute == Attribute::kStatus &&
      (*op == Comparison::kEq || *op == Comparison::kNe)) {
    std::optional<RunStatus> status = ParseRunStatus(value.text);
    if (!status) {
      return absl::InvalidArgumentError(Cat("filter: unknown status \"", value.text,
                                            "\" (RUNNING, FINISHED, FAILED, KILLED)"));
    }
    clause.literal = std::string(RunStatusName(*status));
    return clause;
  }
  clause.literal = value.text;
  return clause;
}

}  // namespace

std::string_view AttributeColumn(Attribute attribute) {
  switch (attribute) {
    case Attribute::kRunId:
      return "run_id";
    case Attribute::kRunName:
      return "name";
    case Attribute::kStatus:
      return "status";
    case Attribute::kUser:
      return "user_name";
    case Attribute::kHost:
      return "host";
    case Attribute::kSourceSha256:
      return "source_sha256";
    case Attribute::kStartTime:
      return "start_time";
    case Attribute::kEndTime:
      return "end_time";
    case Attribute::kExperimentId:
      return "experiment_id";
  }
  return "run_id";
}

bool AttributeIsInteger(Attribute attribute) {
  return attribute == Attribute::kStartTime || attribute == Attribute::kEndTime ||
         attribute == Attribute::kExperimentId;
}

bool AttributeIsNullable(Attribute attribute) { return attribute == Attribute::kEndTime; }

absl::StatusOr<Filter> ParseFilter(std::string_view text) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer("filter", text).Run());
  Filter filter;
  size_t i = 0;
  if (tokens[0].type == TokenType::kEnd) return filter;
  while (true) {
    ASSIGN_OR_RETURN(Clause clause, ParseClause(tokens, i));
    filter.clauses.push_back(std::move(clause));
    const Token& next = tokens[i];
    if (next.type == TokenType::kEnd) break;
    if (next.type == TokenType::kIdent && Lower(next.text) == "and") {
      ++i;
      continue;
    }
    if (next.type == TokenType::kIdent && Lower(next.text) == "or") {
      return absl::InvalidArgumentError(
          Cat("filter: OR is not supported (clauses join with AND) at ", next.position));
    }
    return absl::InvalidArgumentError(
        Cat("filter: expected AND or the end after a clause at ", next.position, ", got \"",
            next.text, "\""));
  }
  return filter;
}

absl::StatusOr<Order> ParseOrder(std::string_view text) {
  Order order;
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer("order", text).Run());
  if (tokens[0].type == TokenType::kEnd) return order;
  ASSIGN_OR_RETURN(order.entity, ParseEntity("order", tokens[0]));
  order.descending = false;
  size_t i = 1;
  if (tokens[i].type == TokenType::kIdent) {
    const std::string direction = Lower(tokens[i].text);
    if (direction != "asc" && direction != "desc") {
      return absl::InvalidArgumentError(
          Cat("order: expected ASC or DESC, got \"", tokens[i].text, "\""));
    }
    order.descending = direction == "desc";
    ++i;
  }
  if (tokens[i].type != TokenType::kEnd) {
    return absl::InvalidArgumentError(
        Cat("order: unexpected \"", tokens[i].text, "\" at ", tokens[i].position,
            " (one key, e.g. \"metrics.auc DESC\")"));
  }
  return order;
}

}  // namespace ferry::tracking
