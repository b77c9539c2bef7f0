#pragma once

// The tokens of an alert expression, for the parser in expression.cc. Internal to
// src/alerts.
//
// Thread-safety: a Lexer belongs to one parse.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::alerts::expression_internal {

enum class TokenKind {
  kEnd,
  kIdentifier,  // metric and label names, keywords, function names
  kNumber,
  kString,    // decoded
  kDuration,  // the text between "[" and "]"
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kAssign,        // =
  kNotEqual,      // !=
  kRegexMatch,    // =~
  kRegexNoMatch,  // !~
  kGreater,       // >
  kGreaterEqual,  // >=
  kLess,          // <
  kLessEqual,     // <=
  kEqualEqual,    // ==
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kUnsupported,  // an operator PromQL has and the subset does not: % ^ @
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // as written (the decoded value for strings)
  double number = 0;
  size_t offset = 0;  // byte offset in the expression
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token. InvalidArgument for a malformed number or string, or a character
  // PromQL does not have.
  absl::StatusOr<Token> Next();

  // "column 7" (or "line 2, column 3") of a byte offset, for messages.
  std::string Where(size_t offset) const;
  absl::Status Error(size_t offset, std::string_view what) const;

 private:
  absl::StatusOr<Token> String(char quote);
  absl::StatusOr<Token> Number();
  absl::StatusOr<Token> Duration();

  std::string_view text_;
  size_t pos_ = 0;
  bool in_brackets_ = false;  // after "[": the next token is a duration
};

}  // namespace ferry::alerts::expression_internal
