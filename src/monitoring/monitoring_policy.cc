#include "monitoring/monitoring_policy.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"
#include "features/feature_definitions.h"

namespace ferry::monitoring {
namespace {

using core::Cat;

struct MethodName {
  DriftMethod method;
  std::string_view name;
};
constexpr std::array<MethodName, 7> kMethods{{
    {DriftMethod::kAuto, "auto"},
    {DriftMethod::kKolmogorovSmirnov, "ks"},
    {DriftMethod::kChiSquare, "chisquare"},
    {DriftMethod::kZTest, "z"},
    {DriftMethod::kWasserstein, "wasserstein"},
    {DriftMethod::kJensenShannon, "jensenshannon"},
    {DriftMethod::kPsi, "psi"},
}};

absl::Status Bad(std::string_view source, std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(Cat(source, ": ", key, ": ", what));
}

// yaml-cpp throws; every read of a scalar goes through here.
absl::StatusOr<std::string> Scalar(const YAML::Node& node, std::string_view source,
                                   std::string_view key) {
  if (!node.IsScalar()) return Bad(source, key, "expected a value");
  return node.Scalar();
}

template <typename T>
absl::StatusOr<T> Number(const YAML::Node& node, std::string_view source, std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, source, key));
  T value{};
  try {
    value = YAML::Node(text).as<T>();
  } catch (const YAML::Exception&) {
    return Bad(source, key,
               Cat("expected ", std::is_integral_v<T> ? "an integer" : "a number", ", got \"", text,
                   "\""));
  }
  return value;
}

absl::StatusOr<std::chrono::seconds> Duration(const YAML::Node& node, std::string_view source,
                                              std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, source, key));
  absl::StatusOr<int64_t> seconds = features::ParseDurationSeconds(text);
  if (!seconds.ok()) {
    return Bad(source, key, Cat("expected a duration such as 30m, 1h or 7d, got \"", text, "\""));
  }
  return std::chrono::seconds(*seconds);
}

absl::StatusOr<WindowSpec> ParseWindow(const YAML::Node& node, WindowSpec window,
                                       std::string_view source, std::string_view key) {
  RETURN_IF_ERROR(
      core::CheckYamlMap(core::YamlContext(source), node, key, {"duration", "rows", "slices"}));
  if (node["duration"] && node["rows"]) {
    return Bad(source, key, "give either duration (a time window) or rows (a count window)");
  }
  if (node["duration"]) {
    window.kind = WindowSpec::Kind::kTime;
    ASSIGN_OR_RETURN(window.duration, Duration(node["duration"], source, Cat(key, ".duration")));
  }
  if (node["rows"]) {
    window.kind = WindowSpec::Kind::kRows;
    ASSIGN_OR_RETURN(window.rows, Number<int64_t>(node["rows"], source, Cat(key, ".rows")));
  }
  if (node["slices"]) {
    ASSIGN_OR_RETURN(window.slices, Number<int>(node["slices"], source, Cat(key, ".slices")));
  }
  return window;
}

absl::StatusOr<DriftRule> ParseRule(const YAML::Node& node, std::string_view source,
                                    std::string_view key) {
  RETURN_IF_ERROR(
      core::CheckYamlMap(core::YamlContext(source), node, key, {"method", "threshold"}));
  DriftRule rule;
  if (node["method"]) {
    ASSIGN_OR_RETURN(std::string name, Scalar(node["method"], source, Cat(key, ".method")));
    absl::StatusOr<DriftMethod> method = ParseDriftMethod(name);
    if (!method.ok())
      return Bad(source, Cat(key, ".method"), core::View(method.status().message()));
    rule.method = *method;
  }
  if (node["threshold"]) {
    ASSIGN_OR_RETURN(rule.threshold,
                     Number<double>(node["threshold"], source, Cat(key, ".threshold")));
  }
  return rule;
}

absl::Status ValidateWindow(const WindowSpec& w, std::string_view key) {
  if (w.slices < 1 || w.slices > MonitoringPolicy::kMaxSlices) {
    return Bad("monitoring policy", Cat(key, ".slices"),
               Cat("must be in 1..", MonitoringPolicy::kMaxSlices));
  }
  if (w.kind == WindowSpec::Kind::kTime && w.duration.count() < w.slices) {
    return Bad("monitoring policy", Cat(key, ".duration"), "must be at least one second per slice");
  }
  if (w.kind == WindowSpec::Kind::kRows &&
      (w.rows < w.slices || w.rows > MonitoringPolicy::kMaxWindowRows)) {
    return Bad("monitoring policy", Cat(key, ".rows"),
               Cat("must be in slices..", MonitoringPolicy::kMaxWindowRows));
  }
  return absl::OkStatus();
}

absl::Status ValidateRule(const DriftRule& rule, std::string_view key) {
  if (!rule.threshold) return absl::OkStatus();
  const double t = *rule.threshold;
  if (!(std::isfinite(t) && t > 0)) {
    return Bad("monitoring policy", Cat(key, ".threshold"), "must be a positive number");
  }
  if (IsStatisticalTest(rule.method) && t >= 1) {
    return Bad("monitoring policy", Cat(key, ".threshold"),
               "is a p-value for this method: must be below 1");
  }
  return absl::OkStatus();
}

nlohmann::json WindowToJson(const WindowSpec& w) {
  nlohmann::json out = {{"slices", w.slices}};
  if (w.kind == WindowSpec::Kind::kTime) {
    out["duration"] = features::FormatDuration(w.duration.count());
  } else {
    out["rows"] = w.rows;
  }
  return out;
}

nlohmann::json RuleToJson(const DriftRule& rule) {
  nlohmann::json out = {{"method", DriftMethodName(rule.method)}};
  if (rule.threshold) out["threshold"] = *rule.threshold;
  return out;
}

}  // namespace

std::string_view DriftMethodName(DriftMethod method) {
  for (const MethodName& m : kMethods) {
    if (m.method == method) return m.name;
  }
  return "auto";
}

absl::StatusOr<DriftMethod> ParseDriftMethod(std::string_view name) {
  std::string list;
  for (const MethodName& m : kMethods) {
    if (m.name == name) return m.method;
    list += Cat(list.empty() ? "" : ", ", m.name);
  }
  return absl::InvalidArgumentError(Cat("unknown drift method \"", name, "\" (known: ", list, ")"));
}

bool IsStatisticalTest(DriftMethod method) {
  return method == DriftMethod::kKolmogorovSmirnov || method == DriftMethod::kChiSquare ||
         method == DriftMethod::kZTest;
}

double DefaultThreshold(DriftMethod method) {
  if (IsStatisticalTest(method)) return 0.05;
  return method == DriftMethod::kPsi ? 0.2 : 0.1;
}

const DriftRule& MonitoringPolicy::RuleFor(std::string_view feature) const {
  static const DriftRule kAuto;
  auto it = features.find(feature);
  return it == features.end() ? kAuto : it->second;
}

absl::Status ValidateMonitoringPolicy(const MonitoringPolicy& p) {
  RETURN_IF_ERROR(ValidateWindow(p.window, "window"));
  if (p.quality_window) RETURN_IF_ERROR(ValidateWindow(*p.quality_window, "quality.window"));
  if (p.min_rows < 1) return Bad("monitoring policy", "min_rows", "must be 1 or more");
  if (!(p.dataset_drift_share > 0 && p.dataset_drift_share <= 1)) {
    return Bad("monitoring policy", "dataset_drift_share", "must be in (0, 1]");
  }
  if (p.psi_bins < 2 || p.psi_bins > MonitoringPolicy::kMaxPsiBins) {
    return Bad("monitoring policy", "psi_bins",
               Cat("must be in 2..", MonitoringPolicy::kMaxPsiBins));
  }
  if (p.ks_sample < 10 || p.ks_sample > MonitoringPolicy::kMaxKsSample) {
    return Bad("monitoring policy", "ks_sample",
               Cat("must be in 10..", MonitoringPolicy::kMaxKsSample));
  }
  if (p.quality_max_rows < 1 || p.quality_max_rows > 10'000'000) {
    return Bad("monitoring policy", "quality.max_rows", "must be in 1..10000000");
  }
  if (p.quality_min_labels < 1 || p.quality_min_labels > p.quality_max_rows) {
    return Bad("monitoring policy", "quality.min_labels", "must be in 1..quality.max_rows");
  }
  if (p.features.size() > MonitoringPolicy::kMaxFeatureRules) {
    return Bad("monitoring policy", "features",
               Cat("at most ", MonitoringPolicy::kMaxFeatureRules, " entries"));
  }
  for (const auto& [name, rule] : p.features) {
    if (name.empty() || name.size() > 256) {
      return Bad("monitoring policy", "features", "feature names are 1-256 characters");
    }
    RETURN_IF_ERROR(ValidateRule(rule, Cat("features.", name)));
  }
  return ValidateRule(p.prediction, "prediction");
}

absl::StatusOr<MonitoringPolicy> ParseMonitoringPolicyYaml(std::string_view yaml,
                                                           std::string_view source) {
  ASSIGN_OR_RETURN(YAML::Node root, core::LoadYaml(yaml, source));
  MonitoringPolicy p;
  if (root.IsNull()) return p;
  try {
    RETURN_IF_ERROR(core::CheckYamlMap(core::YamlContext(source), root, "",
                                       {"window", "min_rows", "dataset_drift_share", "psi_bins",
                                        "ks_sample", "features", "prediction", "quality"}));
    if (root["window"]) {
      ASSIGN_OR_RETURN(p.window, ParseWindow(root["window"], p.window, source, "window"));
    }
    if (root["min_rows"]) {
      ASSIGN_OR_RETURN(p.min_rows, Number<int64_t>(root["min_rows"], source, "min_rows"));
    }
    if (root["dataset_drift_share"]) {
      ASSIGN_OR_RETURN(p.dataset_drift_share,
                       Number<double>(root["dataset_drift_share"], source, "dataset_drift_share"));
    }
    if (root["psi_bins"]) {
      ASSIGN_OR_RETURN(p.psi_bins, Number<int>(root["psi_bins"], source, "psi_bins"));
    }
    if (root["ks_sample"]) {
      ASSIGN_OR_RETURN(p.ks_sample, Number<int64_t>(root["ks_sample"], source, "ks_sample"));
    }
    if (const YAML::Node features = root["features"]) {
      if (!features.IsMap()) return Bad(source, "features", "expected a mapping of feature names");
      for (const auto& item : features) {
        const std::string name = item.first.as<std::string>();
        ASSIGN_OR_RETURN(p.features[name], ParseRule(item.second, source, Cat("features.", name)));
      }
    }
    if (root["prediction"]) {
      ASSIGN_OR_RETURN(p.prediction, ParseRule(root["prediction"], source, "prediction"));
    }
    if (const YAML::Node quality = root["quality"]) {
      RETURN_IF_ERROR(core::CheckYamlMap(core::YamlContext(source), quality, "quality",
                                         {"window", "max_rows", "min_labels"}));
      if (quality["window"]) {
        ASSIGN_OR_RETURN(p.quality_window,
                         ParseWindow(quality["window"], p.window, source, "quality.window"));
      }
      if (quality["max_rows"]) {
        ASSIGN_OR_RETURN(p.quality_max_rows,
                         Number<int64_t>(quality["max_rows"], source, "quality.max_rows"));
      }
      if (quality["min_labels"]) {
        ASSIGN_OR_RETURN(p.quality_min_labels,
                         Number<int64_t>(quality["min_labels"], source, "quality.min_labels"));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(source, ": ", e.what()));
  }
  absl::Status valid = ValidateMonitoringPolicy(p);
  if (!valid.ok()) return absl::InvalidArgumentError(Cat(source, ": ", valid.message()));
  return p;
}

nlohmann::json MonitoringPolicyToJson(const MonitoringPolicy& p) {
  nlohmann::json features = nlohmann::json::object();
  for (const auto& [name, rule] : p.features) features[name] = RuleToJson(rule);
  nlohmann::json quality = {{"max_rows", p.quality_max_rows},
                            {"min_labels", p.quality_min_labels}};
  if (p.quality_window) quality["window"] = WindowToJson(*p.quality_window);
  return {{"window", WindowToJson(p.window)},
          {"min_rows", p.min_rows},
          {"dataset_drift_share", p.dataset_drift_share},
          {"psi_bins", p.psi_bins},
          {"ks_sample", p.ks_sample},
          {"features", std::move(features)},
          {"prediction", RuleToJson(p.prediction)},
          {"quality", std::move(quality)}};
}

absl::StatusOr<MonitoringPolicy> MonitoringPolicyFromJson(const nlohmann::json& json) {
  return ParseMonitoringPolicyYaml(json.dump(), "stored monitoring policy");
}

}  // namespace ferry::monitoring
