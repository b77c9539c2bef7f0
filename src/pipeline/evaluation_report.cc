#include "pipeline/evaluation_report.h"

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/step_errors.h"

namespace ferry::pipeline {
namespace {

using nlohmann::json;

constexpr size_t kMaxEvaluationBytes = size_t{1} << 20;

json MetricsToJson(const MetricValues& metrics) {
  json out = json::object();
  for (const auto& [name, value] : metrics) out[name] = value ? json(*value) : json(nullptr);
  return out;
}

json OptionalNumber(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

json EvaluationReportToJson(const EvaluationReport& report) {
  json floors = json::array();
  for (const FloorCheck& floor : report.floors) {
    floors.push_back({{"metric", floor.metric},
                      {"bound", floor.is_min ? "min" : "max"},
                      {"threshold", floor.threshold},
                      {"value", OptionalNumber(floor.value)},
                      {"passed", floor.passed}});
  }
  json baseline = nullptr;
  if (report.baseline_model) {
    baseline = {{"model", *report.baseline_model}, {"metrics", MetricsToJson(report.baseline)}};
  }
  return json{{"blessed", report.blessed},
              {"metric", report.metric},
              {"higher_is_better", report.higher_is_better},
              {"candidate", MetricsToJson(report.candidate)},
              {"baseline", baseline},
              {"improvement", OptionalNumber(report.improvement)},
              {"min_improvement", report.min_improvement},
              {"floors", floors},
              {"rows", report.rows},
              {"reasons", report.reasons}};
}

absl::StatusOr<EvaluationVerdict> ParseEvaluationVerdict(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("blessed") || !doc["blessed"].is_boolean()) {
    return absl::InvalidArgumentError(
        "not an evaluation file: expected a JSON object with a boolean \"blessed\"");
  }
  EvaluationVerdict verdict;
  verdict.blessed = doc["blessed"].get<bool>();
  if (const auto it = doc.find("candidate"); it != doc.end() && it->is_object()) {
    for (const auto& [name, value] : it->items()) {
      if (value.is_null()) continue;
      if (!value.is_number()) {
        return absl::InvalidArgumentError(
            core::Cat("not an evaluation file: candidate metric \"", name, "\" is not a number"));
      }
      verdict.candidate_metrics[name] = value.get<double>();
    }
  }
  if (const auto it = doc.find("reasons"); it != doc.end() && it->is_array()) {
    for (const json& reason : *it) {
      if (reason.is_string()) verdict.reasons.push_back(reason.get<std::string>());
    }
  }
  return verdict;
}

absl::StatusOr<std::optional<EvaluationVerdict>> ReadEvaluationInput(StepContext& context) {
  if (!context.inputs().contains("evaluation")) return std::nullopt;
  STEP_ASSIGN_OR_RETURN(context, const std::filesystem::path file, context.InputFile("evaluation"));
  STEP_ASSIGN_OR_RETURN(context, const std::string text,
                        core::ReadFileToString(file, kMaxEvaluationBytes));
  absl::StatusOr<EvaluationVerdict> verdict = ParseEvaluationVerdict(text);
  if (!verdict.ok()) {
    return StepInvalid(context, "input evaluation (", context.inputs().at("evaluation").ref,
                       "): ", core::View(verdict.status().message()));
  }
  return std::optional<EvaluationVerdict>(*std::move(verdict));
}

std::string NotBlessedNote(const EvaluationVerdict& verdict) {
  std::string note = "not blessed";
  for (size_t i = 0; i < verdict.reasons.size(); ++i) {
    note += core::Cat(i == 0 ? ": " : "; ", verdict.reasons[i]);
  }
  return note;
}

}  // namespace ferry::pipeline
