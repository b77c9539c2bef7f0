#pragma once

// Annotation templates: text with the two Prometheus template actions alerts use most,
// {{ $labels.NAME }} (the alert's label, "" when it has none) and {{ $value }} (the value
// of the expression's left side, printed as Go prints a float: 0.25, 1e+06, NaN, +Inf).
// Anything else between {{ and }} is refused when the rule file is applied, so a
// template never fails while an alert fires.
//
// Thread-safety: immutable once parsed.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/labels.h"

namespace ferry::alerts {

class AnnotationTemplate {
 public:
  // InvalidArgument naming the action that is not supported, or an unclosed "{{".
  static absl::StatusOr<AnnotationTemplate> Parse(std::string_view text);

  std::string Render(const Labels& labels, double value) const;
  const std::string& text() const { return text_; }

 private:
  enum class PartKind { kText, kLabel, kValue };
  struct Part {
    PartKind kind;
    std::string text;  // literal text, or the label name
  };

  std::string text_;
  std::vector<Part> parts_;
};

// A float as Go's fmt prints it with %v (what Prometheus's templates show).
std::string FormatGoFloat(double value);

}  // namespace ferry::alerts
