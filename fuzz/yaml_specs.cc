// Fuzzes every parser of the YAML users write, each on the same document:
//   feature definitions       features/feature_definitions.h (`ferry features apply`)
//   pipeline specs            pipeline/pipeline_spec.h       (`ferry pipeline apply`)
//   alert rule files          alerts/rule_file.h             (`ferry alerts apply`)
//   rollout policies          serving/rollout_policy.h       (`ferry deploy --policy`)
//   monitoring policies       monitoring/monitoring_policy.h
//   the workspace config      core/config.h                  (.ferry/config.yaml)
//
// Errors must be InvalidArgument (never an exception, a crash or another code). What
// parses must survive the format's own round trip, which is what ferry stores or prints:
// definitions through their canonical JSON, policies through ToJson/FromJson, the
// config through ToYaml, rule files through their Prometheus export; a pipeline's step
// levels must order every step after the steps it reads from.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "alerts/rule_file.h"
#include "core/check.h"
#include "core/config.h"
#include "features/feature_definitions.h"
#include "monitoring/monitoring_policy.h"
#include "nlohmann/json.hpp"
#include "pipeline/pipeline_spec.h"
#include "serving/rollout_policy.h"

namespace {

template <typename T>
bool Refused(const absl::StatusOr<T>& result) {
  FERRY_CHECK(result.ok() || absl::IsInvalidArgument(result.status()));
  return !result.ok();
}

void FeatureDefinitions(std::string_view yaml) {
  namespace features = ferry::features;
  const auto defs = features::ParseFeatureDefinitions(yaml, "features.yaml");
  if (Refused(defs)) return;
  for (const features::Entity& entity : defs->entities) {
    const std::string json = features::ToJson(entity);
    const auto back = features::EntityFromJson(json);
    FERRY_CHECK(back.ok() && *back == entity && features::ToJson(*back) == json);
  }
  for (const features::FeatureView& view : defs->views) {
    const std::string json = features::ToJson(view);
    const auto back = features::FeatureViewFromJson(json);
    FERRY_CHECK(back.ok() && *back == view && features::ToJson(*back) == json);
  }
  for (const features::FeatureService& service : defs->services) {
    const std::string json = features::ToJson(service);
    const auto back = features::FeatureServiceFromJson(json);
    FERRY_CHECK(back.ok() && *back == service && features::ToJson(*back) == json);
  }
}

void PipelineSpec(std::string_view yaml) {
  namespace pipeline = ferry::pipeline;
  const auto spec = pipeline::ParsePipelineSpec(yaml, "pipeline.yaml");
  if (Refused(spec)) return;
  FERRY_CHECK(!spec->steps.empty() && spec->steps.size() <= pipeline::PipelineSpec::kMaxSteps);
  std::map<std::string, size_t> level_of;
  size_t level = 0;
  for (const auto& steps : pipeline::StepLevels(*spec)) {
    FERRY_CHECK(!steps.empty());
    for (const pipeline::StepSpec* step : steps) {
      FERRY_CHECK(step != nullptr && spec->step(step->id) == step);
      FERRY_CHECK(level_of.emplace(step->id, level).second);
    }
    ++level;
  }
  FERRY_CHECK(level_of.size() == spec->steps.size());
  for (const pipeline::StepSpec& step : spec->steps) {
    FERRY_CHECK(step.uses.has_value() != !step.run.empty());
    FERRY_CHECK(step.retries >= 0 && step.retries <= pipeline::PipelineSpec::kMaxRetries);
    for (const auto& [name, input] : step.inputs) {
      if (!input.is_step()) continue;
      const pipeline::StepSpec* from = spec->step(input.step);
      FERRY_CHECK(from != nullptr);
      FERRY_CHECK(level_of.at(input.step) < level_of.at(step.id));
      const auto back = pipeline::ParseInputRef(input.ToString());
      FERRY_CHECK(back.ok() && *back == input);
    }
  }
}

// The lines of `text` that are not comments.
std::string WithoutComments(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    if (!line.starts_with('#')) (out += line) += '\n';
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

void RuleFile(std::string_view yaml) {
  namespace alerts = ferry::alerts;
  const auto rules = alerts::ParseRuleFile(yaml, "rules.yaml");
  if (Refused(rules)) return;
  FERRY_CHECK(rules->rule_count() <= alerts::kMaxRules);
  std::set<std::string> names;
  for (const alerts::RuleGroup& group : rules->groups) {
    for (const alerts::AlertRule& rule : group.rules) {
      FERRY_CHECK(names.insert(rule.name).second);
      FERRY_CHECK(rules->Find(rule.name) == &rule);
      FERRY_CHECK(rule.actions.size() <= alerts::kMaxActionsPerRule);
      (void)rule.severity();  // every rule has one
    }
  }
  // The Prometheus export parses back to the same export (it drops only `actions`), but
  // for the comment naming the digest of the source.
  const std::string exported = alerts::ExportPrometheusRules(*rules);
  const auto again = alerts::ParseRuleFile(exported, "exported.yaml");
  if (!again.ok()) {
    std::fprintf(stderr, "export:\n%s\nerror: %s\n", exported.c_str(),
                 again.status().ToString().c_str());
  }
  FERRY_CHECK(again.ok());
  FERRY_CHECK(again->rule_count() == rules->rule_count());
  const std::string reexported = alerts::ExportPrometheusRules(*again);
  if (WithoutComments(reexported) != WithoutComments(exported)) {
    std::fprintf(stderr, "export:\n%s\nexport of the export:\n%s\n", exported.c_str(),
                 reexported.c_str());
  }
  FERRY_CHECK(WithoutComments(reexported) == WithoutComments(exported));
}

// A policy parses, validates, and reads back equal from the JSON ferry stores it as.
template <typename Parse, typename Validate, typename ToJson, typename FromJson>
void Policy(std::string_view yaml, std::string_view source, Parse parse, Validate validate,
            ToJson to_json, FromJson from_json) {
  const auto policy = parse(yaml, source);
  if (Refused(policy)) return;
  FERRY_CHECK(validate(*policy).ok());
  const auto back = from_json(to_json(*policy));
  FERRY_CHECK(back.ok() && *back == *policy);
}

void WorkspaceConfig(std::string_view yaml) {
  const auto config = ferry::core::WorkspaceConfig::Parse(yaml);
  if (Refused(config)) return;
  const std::string written = config->ToYaml();
  const auto back = ferry::core::WorkspaceConfig::Parse(written);
  FERRY_CHECK(back.ok() && back->ToYaml() == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Rule files are capped at 1 MiB before parsing; the other files are small too. Long
  // inputs only slow the fuzzer down.
  if (size > 64 * 1024) return 0;
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  FeatureDefinitions(yaml);
  PipelineSpec(yaml);
  RuleFile(yaml);
  namespace monitoring = ferry::monitoring;
  namespace serving = ferry::serving;
  Policy(yaml, "policy.yaml", serving::ParseRolloutPolicyYaml, serving::ValidateRolloutPolicy,
         serving::RolloutPolicyToJson, serving::RolloutPolicyFromJson);
  Policy(yaml, "monitoring.yaml", monitoring::ParseMonitoringPolicyYaml,
         monitoring::ValidateMonitoringPolicy, monitoring::MonitoringPolicyToJson,
         monitoring::MonitoringPolicyFromJson);
  WorkspaceConfig(yaml);
  return 0;
}
