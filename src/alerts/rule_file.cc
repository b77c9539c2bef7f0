#include "alerts/rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "alerts/duration.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"
#include "server/http_url.h"

namespace ferry::alerts {
namespace {

using core::Cat;

constexpr size_t kMaxPipelineNameBytes = 128;

using Context = core::YamlContext;

absl::StatusOr<Labels> RuleLabels(const Context& at, const YAML::Node& node,
                                  std::string_view where) {
  ASSIGN_OR_RETURN(auto labels, core::YamlStringMap(at, node, where));
  for (const auto& [name, value] : labels) {
    const std::string field = Cat(where, ".", name);
    if (!IsValidLabelName(name) || name.starts_with("__")) {
      return at.Error(node, field,
                      "not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
    }
    if (name == kAlertNameLabel || name == "alertstate") {
      return at.Error(node, field, "set by ferry; a rule cannot set it");
    }
    if (value.find("{{") != std::string::npos) {
      return at.Error(node, field, "templates are supported in annotations only");
    }
  }
  auto severity = labels.find(kSeverityLabel);
  if (severity == labels.end()) {
    labels.emplace(kSeverityLabel, kDefaultSeverity);
  } else if (std::find(std::begin(kSeverities), std::end(kSeverities), severity->second) ==
             std::end(kSeverities)) {
    return at.Error(
        node, Cat(where, ".severity"),
        Cat("\"", severity->second, "\" is not a severity (critical, warning or info)"));
  }
  return labels;
}

absl::StatusOr<Action> ParseAction(const Context& at, const YAML::Node& node,
                                   std::string_view where) {
  if (!node.IsMap() || node.size() != 1) {
    return at.Error(node, where,
                    "each action is one of log: {}, webhook: {url: ...} or"
                    " pipeline: {name: ...}");
  }
  const std::string kind = node.begin()->first.Scalar();
  const YAML::Node body = node.begin()->second;
  const std::string field = Cat(where, ".", kind);
  if (kind == "log") {
    if (body && !body.IsNull()) RETURN_IF_ERROR(core::CheckYamlMap(at, body, field, {}));
    return Action(LogAction{});
  }
  if (kind == "webhook") {
    RETURN_IF_ERROR(core::CheckYamlMap(at, body, field, {"url", "send_resolved"}));
    WebhookAction webhook;
    ASSIGN_OR_RETURN(webhook.url, core::YamlText(at, body["url"], Cat(field, ".url")));
    if (webhook.url.empty()) return at.Error(body, Cat(field, ".url"), "required");
    if (auto url = server::ParseHttpUrl(webhook.url); !url.ok()) {
      return at.Error(body["url"], Cat(field, ".url"), core::View(url.status().message()));
    }
    ASSIGN_OR_RETURN(std::string send_resolved,
                     core::YamlText(at, body["send_resolved"], Cat(field, ".send_resolved")));
    if (send_resolved == "false") {
      webhook.send_resolved = false;
    } else if (!send_resolved.empty() && send_resolved != "true") {
      return at.Error(body["send_resolved"], Cat(field, ".send_resolved"),
                      "expected true or false");
    }
    return Action(std::move(webhook));
  }
  if (kind == "pipeline") {
    RETURN_IF_ERROR(core::CheckYamlMap(at, body, field, {"name", "params"}));
    PipelineAction pipeline;
    ASSIGN_OR_RETURN(pipeline.pipeline, core::YamlText(at, body["name"], Cat(field, ".name")));
    const bool name_ok =
        !pipeline.pipeline.empty() && pipeline.pipeline.size() <= kMaxPipelineNameBytes &&
        std::all_of(pipeline.pipeline.begin(), pipeline.pipeline.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
    if (!name_ok) {
      return at.Error(body, Cat(field, ".name"),
                      "a pipeline name (letters, digits, _ - .) is required");
    }
    ASSIGN_OR_RETURN(pipeline.params, core::YamlStringMap(at, body["params"], Cat(field, ".params")));
    return Action(std::move(pipeline));
  }
  return at.Error(node, where,
                  Cat("unknown action \"", kind, "\" (known: log, webhook, pipeline)"));
}

absl::StatusOr<AlertRule> ParseRule(const Context& at, const YAML::Node& node,
                                    std::string_view where) {
  if (node.IsMap() && node["record"]) {
    return at.Error(node, where,
                    "recording rules are not supported; ferry evaluates alerting rules");
  }
  RETURN_IF_ERROR(
      core::CheckYamlMap(at, node, where, {"alert", "expr", "for", "labels", "annotations", "actions"}));
  AlertRule rule;
  ASSIGN_OR_RETURN(rule.name, core::YamlText(at, node["alert"], Cat(where, ".alert")));
  if (rule.name.empty()) return at.Error(node, Cat(where, ".alert"), "required");
  if (!IsValidMetricName(rule.name)) {
    return at.Error(node["alert"], Cat(where, ".alert"),
                    Cat("\"", rule.name, "\" is not an alert name ([a-zA-Z_:][a-zA-Z0-9_:]*)"));
  }
  const std::string named = Cat("rule ", rule.name);
  ASSIGN_OR_RETURN(rule.expr_text, core::YamlText(at, node["expr"], Cat(named, ": expr")));
  while (!rule.expr_text.empty() &&
         (rule.expr_text.back() == '\n' || rule.expr_text.back() == ' ')) {
    rule.expr_text.pop_back();
  }
  if (rule.expr_text.empty()) return at.Error(node, Cat(named, ": expr"), "required");
  absl::StatusOr<AlertExpression> expr = ParseAlertExpression(rule.expr_text);
  if (!expr.ok())
    return at.Error(node["expr"], Cat(named, ": expr"), core::View(expr.status().message()));
  rule.expr = *std::move(expr);
  ASSIGN_OR_RETURN(std::string hold, core::YamlText(at, node["for"], Cat(named, ": for")));
  if (!hold.empty()) {
    absl::StatusOr<std::chrono::milliseconds> parsed = ParseDuration(hold);
    if (!parsed.ok())
      return at.Error(node["for"], Cat(named, ": for"), core::View(parsed.status().message()));
    rule.hold = *parsed;
  }
  ASSIGN_OR_RETURN(rule.labels, RuleLabels(at, node["labels"], Cat(named, ": labels")));
  ASSIGN_OR_RETURN(auto annotations,
                   core::YamlStringMap(at, node["annotations"], Cat(named, ": annotations")));
  for (const auto& [name, text] : annotations) {
    const std::string field = Cat(named, ": annotations.", name);
    if (!IsValidLabelName(name))
      return at.Error(node["annotations"], field, "not an annotation name");
    absl::StatusOr<AnnotationTemplate> parsed = AnnotationTemplate::Parse(text);
    if (!parsed.ok())
      return at.Error(node["annotations"], field, core::View(parsed.status().message()));
    rule.annotations.emplace(name, *std::move(parsed));
  }
  const YAML::Node actions = node["actions"];
  if (actions && !actions.IsNull()) {
    if (!actions.IsSequence()) return at.Error(actions, Cat(named, ": actions"), "expected a list");
    if (actions.size() > kMaxActionsPerRule) {
      return at.Error(actions, Cat(named, ": actions"),
                      Cat("at most ", kMaxActionsPerRule, " actions"));
    }
    for (size_t i = 0; i < actions.size(); ++i) {
      ASSIGN_OR_RETURN(Action action,
                       ParseAction(at, actions[i], Cat(named, ": actions[", i, "]")));
      rule.actions.push_back(std::move(action));
    }
  }
  return rule;
}

absl::StatusOr<RuleSet> ParseRoot(const Context& at, const YAML::Node& root) {
  RuleSet out;
  if (!root || root.IsNull()) return out;  // an empty file: no rules
  RETURN_IF_ERROR(core::CheckYamlMap(at, root, "(top level)", {"groups"}));
  const YAML::Node groups = root["groups"];
  if (!groups || groups.IsNull()) return out;
  if (!groups.IsSequence()) return at.Error(groups, "groups", "expected a list of groups");
  std::set<std::string> group_names;
  std::set<std::string> alert_names;
  size_t rules = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const YAML::Node node = groups[g];
    const std::string where = Cat("groups[", g, "]");
    RETURN_IF_ERROR(core::CheckYamlMap(at, node, where, {"name", "interval", "rules"}));
    RuleGroup group;
    ASSIGN_OR_RETURN(group.name, core::YamlText(at, node["name"], Cat(where, ".name")));
    if (group.name.empty()) return at.Error(node, Cat(where, ".name"), "required");
    if (!group_names.insert(group.name).second) {
      return at.Error(node["name"], Cat("group ", group.name),
                      "a group of this name comes earlier");
    }
    const std::string named = Cat("group ", group.name);
    ASSIGN_OR_RETURN(std::string interval, core::YamlText(at, node["interval"], Cat(named, ": interval")));
    if (!interval.empty()) {
      absl::StatusOr<std::chrono::milliseconds> parsed = ParseDuration(interval);
      if (!parsed.ok() || parsed->count() == 0) {
        return at.Error(
            node["interval"], Cat(named, ": interval"),
            parsed.ok() ? "must be longer than 0s" : core::View(parsed.status().message()));
      }
      group.interval = *parsed;
    }
    const YAML::Node list = node["rules"];
    if (list && !list.IsNull() && !list.IsSequence()) {
      return at.Error(list, Cat(named, ": rules"), "expected a list of rules");
    }
    for (size_t r = 0; list && r < list.size(); ++r) {
      if (++rules > kMaxRules)
        return at.Error(list[r], named, Cat("more than ", kMaxRules, " rules"));
      ASSIGN_OR_RETURN(AlertRule rule, ParseRule(at, list[r], Cat(named, ": rules[", r, "]")));
      if (!alert_names.insert(rule.name).second) {
        return at.Error(list[r], Cat("rule ", rule.name),
                        "an alert of this name comes earlier in the file; alert names are unique");
      }
      rule.group = group.name;
      group.rules.push_back(std::move(rule));
    }
    out.groups.push_back(std::move(group));
  }
  return out;
}

void EmitMap(YAML::Emitter& out, const std::map<std::string, std::string>& values) {
  out << YAML::BeginMap;
  for (const auto& [name, value] : values) out << YAML::Key << name << YAML::Value << value;
  out << YAML::EndMap;
}

}  // namespace

Labels AlertRule::AlertLabels(const Labels& series) const {
  Labels out = series;
  out.erase(kMetricNameLabel);
  for (const auto& [name, value] : labels) out[name] = value;
  out[kAlertNameLabel] = name;
  return out;
}

std::map<std::string, std::string> AlertRule::RenderAnnotations(const Labels& alert_labels,
                                                                double value) const {
  std::map<std::string, std::string> out;
  for (const auto& [key, annotation] : annotations)
    out[key] = annotation.Render(alert_labels, value);
  return out;
}

size_t RuleSet::rule_count() const {
  size_t count = 0;
  for (const RuleGroup& group : groups) count += group.rules.size();
  return count;
}

const AlertRule* RuleSet::Find(std::string_view name) const {
  for (const RuleGroup& group : groups) {
    for (const AlertRule& rule : group.rules) {
      if (rule.name == name) return &rule;
    }
  }
  return nullptr;
}

absl::StatusOr<RuleSet> ParseRuleFile(std::string_view yaml, std::string_view file_name) {
  if (yaml.size() > kMaxRuleFileBytes) {
    return absl::InvalidArgumentError(
        Cat(file_name, ": ", yaml.size(), " bytes; a rule file has at most ", kMaxRuleFileBytes));
  }
  RETURN_IF_ERROR(core::CheckYamlUtf8(yaml, file_name));
  const Context at(file_name);
  absl::StatusOr<RuleSet> rules;
  // yaml-cpp reports errors by throwing; they stop here.
  try {
    rules = ParseRoot(at, YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(file_name, ":", e.mark.line + 1, ": not YAML: ", e.msg));
  }
  RETURN_IF_ERROR(rules.status());
  rules->source = std::string(yaml);
  rules->digest = core::Sha256::Of(yaml).ToHex();
  return rules;
}

std::string ExportPrometheusRules(const RuleSet& rules) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const RuleGroup& group : rules.groups) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << group.name;
    if (group.interval)
      out << YAML::Key << "interval" << YAML::Value << FormatDuration(*group.interval);
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const AlertRule& rule : group.rules) {
      out << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << rule.name;
      out << YAML::Key << "expr" << YAML::Value << rule.expr_text;
      if (rule.hold.count() > 0)
        out << YAML::Key << "for" << YAML::Value << FormatDuration(rule.hold);
      out << YAML::Key << "labels" << YAML::Value;
      EmitMap(out, rule.labels);
      if (!rule.annotations.empty()) {
        std::map<std::string, std::string> annotations;
        for (const auto& [key, annotation] : rule.annotations) annotations[key] = annotation.text();
        out << YAML::Key << "annotations" << YAML::Value;
        EmitMap(out, annotations);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return Cat(
      "# Prometheus alerting rules, exported by `ferry alerts export-prometheus`\n"
      "# from rule set sha256:",
      rules.digest, ".\n",
      "# ferry's actions are left out: route these alerts with Alertmanager.\n", out.c_str(), "\n");
}

}  // namespace ferry::alerts
