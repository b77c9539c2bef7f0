#include "alerts/annotation_template.h"

#include <charconv>
#include <cmath>

#include "core/strings.h"

namespace ferry::alerts {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

absl::StatusOr<AnnotationTemplate> AnnotationTemplate::Parse(std::string_view text) {
  AnnotationTemplate out;
  out.text_ = std::string(text);
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t open = rest.find("{{");
    if (open != 0) {
      out.parts_.push_back({PartKind::kText, std::string(rest.substr(0, open))});
      if (open == std::string_view::npos) break;
      rest.remove_prefix(open);
    }
    const size_t close = rest.find("}}");
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(core::Cat("\"{{\" without \"}}\" in \"", text, "\""));
    }
    const std::string_view action = Trim(rest.substr(2, close - 2));
    constexpr std::string_view kLabels = "$labels.";
    if (action == "$value") {
      out.parts_.push_back({PartKind::kValue, ""});
    } else if (action.starts_with(kLabels) && IsValidLabelName(action.substr(kLabels.size()))) {
      out.parts_.push_back({PartKind::kLabel, std::string(action.substr(kLabels.size()))});
    } else {
      return absl::InvalidArgumentError(core::Cat("{{", rest.substr(2, close - 2),
                                                  "}} is not supported; templates take only",
                                                  " {{ $labels.NAME }} and {{ $value }}"));
    }
    rest.remove_prefix(close + 2);
  }
  return out;
}

std::string AnnotationTemplate::Render(const Labels& labels, double value) const {
  std::string out;
  for (const Part& part : parts_) {
    switch (part.kind) {
      case PartKind::kText:
        out += part.text;
        break;
      case PartKind::kValue:
        out += FormatGoFloat(value);
        break;
      case PartKind::kLabel:
        if (auto found = labels.find(part.text); found != labels.end()) out += found->second;
        break;
    }
  }
  return out;
}

std::string FormatGoFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest digits that read back exactly; Go switches to an exponent when it is
  // below -4 or at least 6 (at least two exponent digits, as here).
  char buffer[64];
  const std::to_chars_result sci =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view scientific(buffer, sci.ptr - buffer);
  int exponent = 0;
  const size_t e = scientific.find('e');
  std::from_chars(scientific.data() + e + (scientific[e + 1] == '+' ? 2 : 1),
                  scientific.data() + scientific.size(), exponent);
  if (exponent < -4 || exponent >= 6) return std::string(scientific);
  const std::to_chars_result fixed =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  return std::string(buffer, fixed.ptr - buffer);
}

}  // namespace ferry::alerts
