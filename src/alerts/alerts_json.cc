#include "alerts/alerts_json.h"

#include "alerts/duration.h"
#include "alerts/notifier.h"
#include "core/clock.h"

namespace ferry::alerts {
namespace {

using nlohmann::json;

json Time(std::optional<int64_t> micros) {
  return micros ? json(core::FormatTimestamp(*micros)) : json(nullptr);
}

json ActionJson(const Action& action) {
  if (std::holds_alternative<LogAction>(action)) return json{{"type", "log"}};
  if (const auto* webhook = std::get_if<WebhookAction>(&action)) {
    return json{
        {"type", "webhook"}, {"url", webhook->url}, {"send_resolved", webhook->send_resolved}};
  }
  const auto& pipeline = std::get<PipelineAction>(action);
  return json{{"type", "pipeline"}, {"name", pipeline.pipeline}, {"params", pipeline.params}};
}

json RuleSetJson(const AppliedRuleSet& applied) {
  return json{{"id", applied.id},
              {"digest", applied.rules.digest},
              {"applied_at", Time(applied.applied_at)},
              {"applied_by", applied.applied_by},
              {"groups", applied.rules.groups.size()},
              {"rules", applied.rules.rule_count()}};
}

}  // namespace

AlertState RuleState(const std::vector<const ActiveAlert*>& alerts) {
  AlertState state = AlertState::kInactive;
  for (const ActiveAlert* alert : alerts) {
    if (alert->state == AlertState::kFiring) return AlertState::kFiring;
    state = AlertState::kPending;
  }
  return state;
}

json ActiveAlertJson(const ActiveAlert& a) {
  return json{{"labels", a.labels},
              {"state", AlertStateName(a.state)},
              {"active_since", Time(a.active_since)},
              {"fired_at", Time(a.fired_at)},
              {"value", ValueJson(a.value)},
              {"last_evaluated", Time(a.last_evaluated)},
              {"annotations", a.annotations},
              {"fingerprint", Fingerprint(a.labels)}};
}

json AlertsStatusJson(const std::optional<AppliedRuleSet>& rules,
                      const std::vector<ActiveAlert>& active) {
  json out{{"rule_set", rules ? RuleSetJson(*rules) : json(nullptr)}, {"rules", json::array()}};
  if (!rules) return out;
  for (const RuleGroup& group : rules->rules.groups) {
    for (const AlertRule& rule : group.rules) {
      std::vector<const ActiveAlert*> mine;
      json alerts = json::array();
      for (const ActiveAlert& alert : active) {
        if (alert.rule != rule.name) continue;
        mine.push_back(&alert);
        alerts.push_back(ActiveAlertJson(alert));
      }
      std::map<std::string, std::string> annotations;
      for (const auto& [key, annotation] : rule.annotations) annotations[key] = annotation.text();
      json actions = json::array();
      for (const Action& action : rule.actions) actions.push_back(ActionJson(action));
      out["rules"].push_back({{"name", rule.name},
                              {"group", group.name},
                              {"expr", rule.expr_text},
                              {"for", FormatDuration(rule.hold)},
                              {"severity", rule.severity()},
                              {"labels", rule.labels},
                              {"annotations", annotations},
                              {"actions", actions},
                              {"state", AlertStateName(RuleState(mine))},
                              {"alerts", alerts}});
    }
  }
  return out;
}

json HistoryJson(const std::vector<HistoryEntry>& entries) {
  json list = json::array();
  for (const HistoryEntry& e : entries) {
    list.push_back(json{{"id", e.id},
                        {"rule", e.rule},
                        {"labels", e.labels},
                        {"from", AlertStateName(e.from)},
                        {"to", AlertStateName(e.to)},
                        {"at", Time(e.at)},
                        {"value", ValueJson(e.value)},
                        {"annotations", e.annotations}});
  }
  return json{{"history", std::move(list)}};
}

json PipelineTriggersJson(const std::vector<PipelineTrigger>& triggers) {
  json list = json::array();
  for (const PipelineTrigger& t : triggers) {
    list.push_back(json{{"id", t.id},
                        {"pipeline", t.pipeline},
                        {"params", t.params},
                        {"alert", t.alert},
                        {"labels", t.labels},
                        {"fired_at", Time(t.fired_at)},
                        {"consumed_at", Time(t.consumed_at)}});
  }
  return json{{"triggers", std::move(list)}};
}

json ApplyResultJson(const ApplyResult& result) {
  json retired = json::array();
  for (const Transition& t : result.retired) {
    retired.push_back({{"rule", t.alert.rule},
                       {"labels", t.alert.labels},
                       {"from", AlertStateName(t.from)},
                       {"to", AlertStateName(t.to)}});
  }
  return json{
      {"changed", result.changed}, {"rule_set", RuleSetJson(result.applied)}, {"retired", retired}};
}

}  // namespace ferry::alerts
