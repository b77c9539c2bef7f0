#pragma once

// Alert rule files: Prometheus's rule file format (groups of alerting rules) plus ferry's
// `actions` per rule. The full format, with every field and default: docs/alerts.md.
//
//   groups:
//     - name: fraud
//       interval: 15s                 # default: alerts.evaluation_interval_ms
//       rules:
//         - alert: FraudFeatureDrift
//           expr: max by (endpoint) (ferry_feature_drift_detected) > 0
//           for: 10m                  # default 0: firing at once
//           labels: {severity: critical, team: risk}
//           annotations: {summary: "drift on {{ $labels.endpoint }}"}
//           actions:
//             - log: {}
//             - webhook: {url: "http://127.0.0.1:9000/hook", send_resolved: true}
//             - pipeline: {name: retrain, params: {reason: drift}}
//
// Parsing validates everything before anything is stored: unknown keys, alert names that
// repeat in the file, bad durations, expressions (with the column), templates, severities
// and webhook URLs are InvalidArgument errors that name the file, the YAML line, the rule
// and the field.
//
// Thread-safety: a parsed RuleSet is immutable; share it freely.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/annotation_template.h"
#include "alerts/expression.h"
#include "alerts/labels.h"

namespace ferry::alerts {

inline constexpr size_t kMaxRuleFileBytes = 1 << 20;
inline constexpr size_t kMaxRules = 1000;
inline constexpr size_t kMaxActionsPerRule = 16;

// labels.severity: what Alertmanager routes and ferry's tables show.
inline constexpr std::string_view kSeverities[] = {"critical", "warning", "info"};
inline constexpr std::string_view kDefaultSeverity = "warning";

struct LogAction {};
struct WebhookAction {
  std::string url;
  bool send_resolved = true;  // as Alertmanager's webhook_config
};
// Records a pipeline trigger when the alert fires (the pipeline runner consumes it).
struct PipelineAction {
  std::string pipeline;
  std::map<std::string, std::string> params;
};
using Action = std::variant<LogAction, WebhookAction, PipelineAction>;

struct AlertRule {
  std::string name;   // `alert`: unique in the rule set
  std::string group;  // the group's name
  std::string expr_text;
  AlertExpression expr;
  std::chrono::milliseconds hold{0};  // `for`
  Labels labels;                      // with severity (the default added when missing)
  std::map<std::string, AnnotationTemplate> annotations;
  std::vector<Action> actions;

  const std::string& severity() const { return labels.at(std::string(kSeverityLabel)); }
  // The alert's labels for a series: the series' labels without the metric name, then the
  // rule's labels over them, then alertname.
  Labels AlertLabels(const Labels& series) const;
  std::map<std::string, std::string> RenderAnnotations(const Labels& alert_labels,
                                                       double value) const;
};

struct RuleGroup {
  std::string name;
  std::optional<std::chrono::milliseconds> interval;  // none: the configured default
  std::vector<AlertRule> rules;
};

struct RuleSet {
  std::vector<RuleGroup> groups;
  std::string source;  // the YAML as applied
  std::string digest;  // SHA-256 of `source`, hex

  size_t rule_count() const;
  // The rule named `name`, or null.
  const AlertRule* Find(std::string_view name) const;
};

// Parses and validates a rule file. `file_name` names it in messages ("rules.yaml:12:
// rule HighErrorRate: for: ..."). InvalidArgument as described above.
absl::StatusOr<RuleSet> ParseRuleFile(std::string_view yaml, std::string_view file_name);

// The rule set as a Prometheus rule file: the same groups, rules, expressions, `for`,
// labels (with the severity ferry applies) and annotations, without `actions`, which
// Prometheus does not know (Alertmanager's receivers do that job).
std::string ExportPrometheusRules(const RuleSet& rules);

}  // namespace ferry::alerts
