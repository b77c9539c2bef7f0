#include "alerts/expression_lexer.h"

#include <charconv>
#include <cstdlib>

#include "core/strings.h"

namespace ferry::alerts::expression_internal {
namespace {

using core::Cat;

bool IsIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string Lexer::Where(size_t offset) const {
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const size_t column = offset - line_start + 1;
  return line == 1 ? Cat("column ", column) : Cat("line ", line, ", column ", column);
}

absl::Status Lexer::Error(size_t offset, std::string_view what) const {
  return absl::InvalidArgumentError(Cat(Where(offset), ": ", what));
}

absl::StatusOr<Token> Lexer::Next() {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                 text_[pos_] == '\r')) {
    ++pos_;
  }
  if (in_brackets_) return Duration();
  Token token;
  token.offset = pos_;
  if (pos_ >= text_.size()) return token;
  const char c = text_[pos_];
  const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
  if (c == '#') {
    return Error(pos_, "comments are not supported in alert expressions");
  }
  if (IsIdentifierStart(c)) {
    const size_t start = pos_;
    while (pos_ < text_.size() && (IsIdentifierStart(text_[pos_]) || IsDigit(text_[pos_]))) {
      ++pos_;
    }
    token.kind = TokenKind::kIdentifier;
    token.text = std::string(text_.substr(start, pos_ - start));
    return token;
  }
  if (IsDigit(c) || (c == '.' && IsDigit(next))) return Number();
  if (c == '"' || c == '\'' || c == '`') return String(c);
  const auto one = [&](TokenKind kind, size_t length) {
    token.kind = kind;
    token.text = std::string(text_.substr(pos_, length));
    pos_ += length;
    return token;
  };
  switch (c) {
    case '(':
      return one(TokenKind::kLeftParen, 1);
    case ')':
      return one(TokenKind::kRightParen, 1);
    case '{':
      return one(TokenKind::kLeftBrace, 1);
    case '}':
      return one(TokenKind::kRightBrace, 1);
    case '[':
      in_brackets_ = true;
      return one(TokenKind::kLeftBracket, 1);
    case ']':
      return one(TokenKind::kRightBracket, 1);
    case ',':
      return one(TokenKind::kComma, 1);
    case '+':
      return one(TokenKind::kPlus, 1);
    case '-':
      return one(TokenKind::kMinus, 1);
    case '*':
      return one(TokenKind::kStar, 1);
    case '/':
      return one(TokenKind::kSlash, 1);
    case '%':
    case '^':
    case '@':
      return one(TokenKind::kUnsupported, 1);
    case '=':
      if (next == '=') return one(TokenKind::kEqualEqual, 2);
      if (next == '~') return one(TokenKind::kRegexMatch, 2);
      return one(TokenKind::kAssign, 1);
    case '!':
      if (next == '=') return one(TokenKind::kNotEqual, 2);
      if (next == '~') return one(TokenKind::kRegexNoMatch, 2);
      break;
    case '>':
      return next == '=' ? one(TokenKind::kGreaterEqual, 2) : one(TokenKind::kGreater, 1);
    case '<':
      return next == '=' ? one(TokenKind::kLessEqual, 2) : one(TokenKind::kLess, 1);
    default:
      break;
  }
  return Error(pos_, Cat("unexpected character \"", std::string(1, c), "\""));
}

absl::StatusOr<Token> Lexer::Number() {
  Token token;
  token.kind = TokenKind::kNumber;
  token.offset = pos_;
  const size_t start = pos_;
  // Hexadecimal (0x1f), decimal, with a fraction and an exponent: as strtod reads them.
  while (pos_ < text_.size() &&
         (IsDigit(text_[pos_]) || IsIdentifierStart(text_[pos_]) || text_[pos_] == '.' ||
          ((text_[pos_] == '+' || text_[pos_] == '-') && pos_ > start &&
           (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E') &&
           !(text_.substr(start, 2) == "0x" || text_.substr(start, 2) == "0X")))) {
    ++pos_;
  }
  token.text = std::string(text_.substr(start, pos_ - start));
  char* end = nullptr;
  token.number = std::strtod(token.text.c_str(), &end);
  if (end != token.text.c_str() + token.text.size()) {
    return Error(start, Cat("\"", token.text,
                            "\" is not a number (durations belong in"
                            " a range selector's brackets, e.g. [5m])"));
  }
  return token;
}

absl::StatusOr<Token> Lexer::String(char quote) {
  Token token;
  token.kind = TokenKind::kString;
  token.offset = pos_;
  ++pos_;
  while (true) {
    if (pos_ >= text_.size()) return Error(token.offset, "unterminated string");
    const char c = text_[pos_++];
    if (c == quote) return token;
    if (c == '\n' && quote != '`') return Error(token.offset, "unterminated string");
    if (c != '\\' || quote == '`') {
      token.text += c;
      continue;
    }
    if (pos_ >= text_.size()) return Error(token.offset, "unterminated string");
    const char escaped = text_[pos_++];
    switch (escaped) {
      case 'a':
        token.text += '\a';
        break;
      case 'b':
        token.text += '\b';
        break;
      case 'f':
        token.text += '\f';
        break;
      case 'n':
        token.text += '\n';
        break;
      case 'r':
        token.text += '\r';
        break;
      case 't':
        token.text += '\t';
        break;
      case 'v':
        token.text += '\v';
        break;
      case '\\':
      case '\'':
      case '"':
        token.text += escaped;
        break;
      case 'x': {
        const int high = pos_ < text_.size() ? core::HexDigitValue(text_[pos_]) : -1;
        const int low = pos_ + 1 < text_.size() ? core::HexDigitValue(text_[pos_ + 1]) : -1;
        if (high < 0 || low < 0) return Error(pos_ - 2, "\\x takes two hex digits");
        token.text += static_cast<char>(high * 16 + low);
        pos_ += 2;
        break;
      }
      default:
        return Error(pos_ - 2, Cat("unknown escape \\", std::string(1, escaped),
                                   " in a string (a regex's backslash is written \\\\)"));
    }
  }
}

absl::StatusOr<Token> Lexer::Duration() {
  in_brackets_ = false;
  Token token;
  token.kind = TokenKind::kDuration;
  token.offset = pos_;
  const size_t start = pos_;
  while (pos_ < text_.size() && (IsDigit(text_[pos_]) || IsIdentifierStart(text_[pos_]))) {
    if (text_[pos_] == ':') break;
    ++pos_;
  }
  token.text = std::string(text_.substr(start, pos_ - start));
  return token;
}

}  // namespace ferry::alerts::expression_internal
