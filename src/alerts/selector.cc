// Label matchers and selectors (expression.h): equality, and RE2 regexes anchored at both
// ends as Prometheus anchors its own.

#include <re2/re2.h>

#include <algorithm>

#include "alerts/expression.h"
#include "core/strings.h"

namespace ferry::alerts {

absl::StatusOr<Matcher> Matcher::Create(std::string name, MatchOp op, std::string value) {
  Matcher matcher(std::move(name), op, std::move(value));
  if (op == MatchOp::kRegexMatch || op == MatchOp::kRegexNoMatch) {
    RE2::Options options;
    options.set_log_errors(false);
    // Checked alone first, so that an error quotes the user's regex, not the anchored one.
    if (const RE2 alone(matcher.value_, options); !alone.ok()) {
      return absl::InvalidArgumentError(alone.error());
    }
    matcher.regex_ = std::make_shared<const RE2>(core::Cat("^(?:", matcher.value_, ")$"), options);
  }
  return matcher;
}

bool Matcher::MatchesValue(std::string_view value) const {
  switch (op_) {
    case MatchOp::kEqual:
      return value == value_;
    case MatchOp::kNotEqual:
      return value != value_;
    case MatchOp::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
    case MatchOp::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex_);
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

}  // namespace ferry::alerts
