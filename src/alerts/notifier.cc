#include "alerts/notifier.h"

#include <spdlog/spdlog.h>

#include "alerts/annotation_template.h"
#include "core/clock.h"
#include "core/strings.h"

namespace ferry::alerts {
namespace {

using nlohmann::json;

// Alertmanager's "zero" time: what its webhook shows as endsAt while an alert fires.
constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";

// The labels (or annotations) every alert of `alerts` has with the same value.
template <typename Get>
json Common(const std::vector<Transition>& alerts, Get get) {
  std::map<std::string, std::string> common = get(alerts.front().alert);
  for (const Transition& t : alerts) {
    const std::map<std::string, std::string>& mine = get(t.alert);
    std::erase_if(common, [&mine](const auto& kv) {
      auto found = mine.find(kv.first);
      return found == mine.end() || found->second != kv.second;
    });
  }
  return json(common);
}

void Log(const Transition& t) {
  std::string annotations;
  for (const auto& [key, text] : t.alert.annotations) {
    annotations += core::Cat(" ", key, "=", json(text).dump());
  }
  spdlog::warn("alerts: alert={} state={} labels={} value={} active_since={}{}", t.alert.rule,
               AlertStateName(t.to), FormatLabels(t.alert.labels), FormatGoFloat(t.alert.value),
               core::FormatTimestamp(t.alert.active_since), annotations);
}

}  // namespace

json ValueJson(double value) {
  if (std::isfinite(value)) return value;
  return FormatGoFloat(value);
}

json AlertmanagerPayload(std::string_view rule, AlertState status,
                         const std::vector<Transition>& alerts) {
  json list = json::array();
  for (const Transition& t : alerts) {
    const bool resolved = t.to == AlertState::kResolved;
    list.push_back(
        {{"status", resolved ? "resolved" : "firing"},
         {"labels", t.alert.labels},
         {"annotations", t.alert.annotations},
         {"startsAt", core::FormatTimestamp(t.alert.fired_at.value_or(t.alert.active_since))},
         {"endsAt", resolved ? core::FormatTimestamp(t.at) : kZeroTime},
         {"generatorURL", ""},
         {"fingerprint", Fingerprint(t.alert.labels)},
         {"value", ValueJson(t.alert.value)}});
  }
  const Labels group = {{kAlertNameLabel, std::string(rule)}};
  return json{
      {"version", "4"},
      {"groupKey", core::Cat("{}:", FormatLabels(group))},
      {"truncatedAlerts", 0},
      {"status", status == AlertState::kResolved ? "resolved" : "firing"},
      {"receiver", "ferry"},
      {"groupLabels", group},
      {"commonLabels", Common(alerts, [](const ActiveAlert& a) { return a.labels; })},
      {"commonAnnotations", Common(alerts, [](const ActiveAlert& a) { return a.annotations; })},
      {"externalURL", ""},
      {"alerts", std::move(list)}};
}

void AlertNotifier::Notify(const AlertRule& rule, const std::vector<Transition>& transitions) {
  std::vector<Transition> fired;
  std::vector<Transition> resolved;
  for (const Transition& t : transitions) {
    if (t.to == AlertState::kFiring) fired.push_back(t);
    if (t.to == AlertState::kResolved) resolved.push_back(t);
  }
  if (fired.empty() && resolved.empty()) return;
  for (const Action& action : rule.actions) {
    if (std::holds_alternative<LogAction>(action)) {
      for (const Transition& t : fired) Log(t);
      for (const Transition& t : resolved) Log(t);
    } else if (const auto* webhook = std::get_if<WebhookAction>(&action)) {
      if (!fired.empty()) {
        webhooks_.Send({webhook->url},
                       AlertmanagerPayload(rule.name, AlertState::kFiring, fired).dump());
      }
      if (!resolved.empty() && webhook->send_resolved) {
        webhooks_.Send({webhook->url},
                       AlertmanagerPayload(rule.name, AlertState::kResolved, resolved).dump());
      }
    }
  }
}

}  // namespace ferry::alerts
