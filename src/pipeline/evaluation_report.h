#pragma once

// EvaluationReport: the evaluate step's verdict on a candidate model, as the JSON file it
// outputs (`evaluation`; the format is in docs/pipelines.md, "The evaluation file") and
// as register and deploy-canary read it back to decide whether to act:
//
//   {"blessed": true, "metric": "auc", "higher_is_better": true,
//    "candidate": {"auc": 0.912, "logloss": 0.21, ...},
//    "baseline": {"model": "fraud@3", "metrics": {...}} | null,
//    "improvement": 0.015 | null, "min_improvement": 0.01,
//    "floors": [{"metric": "auc", "bound": "min", "threshold": 0.7, "value": 0.912,
//                "passed": true}],
//    "rows": 2000, "reasons": ["auc 0.912 vs 0.897 of fraud@3: +0.015 >= 0.01"]}
//
// Metrics undefined on the rows (AUC with one class) are null.
//
// Thread-safety: value types and pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "pipeline/step_context.h"

namespace ferry::pipeline {

using MetricValues = std::map<std::string, std::optional<double>>;

struct FloorCheck {
  std::string metric;
  bool is_min = true;  // "min": the value must be at least the threshold; "max": at most
  double threshold = 0;
  std::optional<double> value;
  bool passed = false;
};

struct EvaluationReport {
  bool blessed = false;
  std::string metric;  // the gate's
  bool higher_is_better = true;
  MetricValues candidate;
  std::optional<std::string> baseline_model;  // "NAME@V"; nullopt: no baseline
  MetricValues baseline;
  std::optional<double> improvement;  // in the metric's good direction
  double min_improvement = 0;
  std::vector<FloorCheck> floors;
  int64_t rows = 0;
  std::vector<std::string> reasons;  // why blessed, or each reason not
};

nlohmann::json EvaluationReportToJson(const EvaluationReport& report);

// What register and deploy-canary need of the report. InvalidArgument when `json_text`
// is not an evaluation file ("blessed" missing or not a boolean, metrics not numbers).
struct EvaluationVerdict {
  bool blessed = false;
  std::map<std::string, double> candidate_metrics;  // the defined ones
  std::vector<std::string> reasons;
};
absl::StatusOr<EvaluationVerdict> ParseEvaluationVerdict(std::string_view json_text);

// The verdict of the step's optional `evaluation` input; nullopt without one. Errors
// name the step: the input's fetch errors, and InvalidArgument for a file that is not
// an evaluation.
absl::StatusOr<std::optional<EvaluationVerdict>> ReadEvaluationInput(StepContext& context);

// "not blessed: " and the reasons, for the note of a step that skips.
std::string NotBlessedNote(const EvaluationVerdict& verdict);

}  // namespace ferry::pipeline
