#include "alerts/notifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "alerts/annotation_template.h"
#include "core/clock.h"

namespace ferry::alerts {
namespace {

using nlohmann::json;

Transition Fired(const std::string& endpoint, const std::string& summary, int64_t at) {
  Transition t;
  t.alert.rule = "HighErrorRate";
  t.alert.labels = {
      {"alertname", "HighErrorRate"}, {"endpoint", endpoint}, {"severity", "warning"}};
  t.alert.state = AlertState::kFiring;
  t.alert.active_since = at - 60'000'000;
  t.alert.fired_at = at;
  t.alert.value = 0.25;
  t.alert.annotations = {{"summary", summary}, {"runbook", "r1"}};
  t.from = AlertState::kPending;
  t.to = AlertState::kFiring;
  t.at = at;
  return t;
}

TEST(NotifierTest, PayloadHasAlertmanagersShapeWithCommonLabelsAndAnnotations) {
  const json payload = AlertmanagerPayload(
      "HighErrorRate", AlertState::kFiring,
      {Fired("fraud", "fraud errors", 1'000'000), Fired("churn", "churn errors", 2'000'000)});
  EXPECT_EQ(payload["version"], "4");
  EXPECT_EQ(payload["status"], "firing");
  EXPECT_EQ(payload["groupKey"], "{}:{alertname=\"HighErrorRate\"}");
  EXPECT_EQ(payload["truncatedAlerts"], 0);
  EXPECT_EQ(payload["commonLabels"],
            (json{{"alertname", "HighErrorRate"}, {"severity", "warning"}}));
  EXPECT_EQ(payload["commonAnnotations"], (json{{"runbook", "r1"}}));
  ASSERT_EQ(payload["alerts"].size(), 2u);
  EXPECT_EQ(payload["alerts"][1]["startsAt"], "1970-01-01T00:00:02.000000Z");
  EXPECT_EQ(payload["alerts"][1]["value"], 0.25);
  EXPECT_EQ(payload["alerts"][1]["generatorURL"], "");
}

TEST(NotifierTest, ValuesJsonCannotHoldAreStrings) {
  EXPECT_EQ(ValueJson(1.5), json(1.5));
  EXPECT_EQ(ValueJson(std::numeric_limits<double>::quiet_NaN()), json("NaN"));
  EXPECT_EQ(ValueJson(-std::numeric_limits<double>::infinity()), json("-Inf"));
}

TEST(AnnotationTemplateTest, RendersLabelsAndValuesAsPrometheusDoes) {
  absl::StatusOr<AnnotationTemplate> t =
      AnnotationTemplate::Parse("{{ $labels.endpoint }}: {{$value}} ({{ $labels.missing }})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Render({{"endpoint", "fraud"}}, 0.25), "fraud: 0.25 ()");
  EXPECT_EQ(AnnotationTemplate::Parse("no actions")->Render({}, 1), "no actions");
  for (const char* bad :
       {"{{ .Value }}", "{{ $labels }}", "{{ $value | humanize }}", "{{ $value"}) {
    EXPECT_FALSE(AnnotationTemplate::Parse(bad).ok()) << bad;
  }
  const std::pair<double, const char*> values[] = {
      {0, "0"},
      {1, "1"},
      {0.1, "0.1"},
      {123456, "123456"},
      {1e6, "1e+06"},
      {1234567, "1.234567e+06"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {-2.5, "-2.5"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"}};
  for (const auto& [value, text] : values) EXPECT_EQ(FormatGoFloat(value), text) << text;
}

}  // namespace
}  // namespace ferry::alerts
