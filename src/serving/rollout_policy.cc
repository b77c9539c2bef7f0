#include "serving/rollout_policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"
#include "server/http_url.h"
#include "features/feature_definitions.h"

namespace ferry::serving {
namespace {

using core::Cat;

constexpr size_t kMaxWebhooks = 16;

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(Cat("rollout policy: ", key, ": ", what));
}

template <typename T>
absl::StatusOr<T> ParseNumber(std::string_view key, std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Bad(key, Cat("expected ", std::is_integral_v<T> ? "an integer" : "a number", ", got \"",
                        text, "\""));
  }
  return value;
}

absl::StatusOr<std::chrono::seconds> ParseDuration(std::string_view key, std::string_view text) {
  absl::StatusOr<int64_t> seconds = features::ParseDurationSeconds(text);
  if (!seconds.ok()) {
    return Bad(key, Cat("expected a duration such as 60s, 5m or 1h, got \"", text, "\""));
  }
  return std::chrono::seconds(*seconds);
}

absl::StatusOr<std::vector<int>> ParseSteps(std::string_view text) {
  std::vector<int> steps;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (item.starts_with(' ')) item.remove_prefix(1);
    while (item.ends_with(' ')) item.remove_suffix(1);
    ASSIGN_OR_RETURN(int step, ParseNumber<int>("steps", item));
    steps.push_back(step);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return Bad("steps", "a trailing comma");
  }
  return steps;
}

// The webhook sender's own parser decides what a valid URL is.
absl::Status ValidateWebhook(std::string_view url) {
  if (absl::StatusOr<server::HttpUrl> parsed = server::ParseHttpUrl(url); !parsed.ok()) {
    return Bad("webhooks", Cat("\"", url, "\": ", core::View(parsed.status().message())));
  }
  return absl::OkStatus();
}

std::string KeyOf(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

absl::Status UnknownKey(std::string_view key) {
  std::string known;
  for (std::string_view k : kRolloutPolicyKeys) known += Cat(known.empty() ? "" : ", ", k);
  return absl::InvalidArgumentError(
      Cat("rollout policy: unknown key \"", key, "\" (known: ", known, ")"));
}

}  // namespace

absl::Status ValidateRolloutPolicy(const RolloutPolicy& p) {
  if (p.steps.empty()) return Bad("steps", "at least one step (the last 100)");
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (p.steps[i] < 1 || p.steps[i] > 100) {
      return Bad("steps", Cat("each step is a percent in 1..100, got ", p.steps[i]));
    }
    if (i > 0 && p.steps[i] <= p.steps[i - 1]) {
      return Bad("steps", Cat("steps must increase strictly, got ", p.steps[i - 1], " then ",
                              p.steps[i]));
    }
  }
  if (p.steps.back() != 100) {
    return Bad("steps", Cat("the last step must be 100 (all traffic), got ", p.steps.back()));
  }
  if (p.steps.size() < 2) {
    return Bad("steps", "need a step below 100 before it: at 100% production gets no traffic"
                        " to compare the canary with");
  }
  if (p.interval.count() < 1) return Bad("interval", "must be positive");
  if (p.progress_deadline.count() < 1) return Bad("progress_deadline", "must be positive");
  if (p.progress_deadline < p.interval) {
    return Bad("progress_deadline", "must be at least the interval (every step waits for one"
                                    " analysis)");
  }
  if (p.min_requests < 1) return Bad("min_requests", "must be 1 or more");
  if (p.min_labels < 1) return Bad("min_labels", "must be 1 or more");
  if (p.failure_limit < 1) return Bad("failure_limit", "must be 1 or more");
  if (!(p.max_error_rate_delta >= 0 && p.max_error_rate_delta <= 1)) {
    return Bad("max_error_rate_delta", "must be in 0..1 (a difference of two rates)");
  }
  if (!(p.max_p99_ratio > 0 && std::isfinite(p.max_p99_ratio))) {
    return Bad("max_p99_ratio", "must be a positive ratio");
  }
  if (!(p.max_prediction_shift >= 0 && p.max_prediction_shift <= 1)) {
    return Bad("max_prediction_shift", "must be in 0..1 (a Jensen-Shannon distance, base 2)");
  }
  if (!std::isfinite(p.min_quality_delta)) return Bad("min_quality_delta", "must be finite");
  if (!p.sticky_key.empty()) {
    absl::Status name = features::ValidateObjectName("sticky key", p.sticky_key);
    if (!name.ok()) return Bad("sticky_key", core::View(name.message()));
  }
  if (p.webhooks.size() > kMaxWebhooks) {
    return Bad("webhooks", Cat("at most ", kMaxWebhooks, " URLs"));
  }
  for (const std::string& url : p.webhooks) RETURN_IF_ERROR(ValidateWebhook(url));
  return absl::OkStatus();
}

absl::Status SetRolloutPolicyField(RolloutPolicy& p, std::string_view raw_key,
                                   std::string_view text) {
  const std::string key = KeyOf(raw_key);
  if (key == "steps") {
    ASSIGN_OR_RETURN(p.steps, ParseSteps(text));
  } else if (key == "interval") {
    ASSIGN_OR_RETURN(p.interval, ParseDuration(key, text));
  } else if (key == "progress_deadline") {
    ASSIGN_OR_RETURN(p.progress_deadline, ParseDuration(key, text));
  } else if (key == "min_requests") {
    ASSIGN_OR_RETURN(p.min_requests, ParseNumber<int64_t>(key, text));
  } else if (key == "min_labels") {
    ASSIGN_OR_RETURN(p.min_labels, ParseNumber<int64_t>(key, text));
  } else if (key == "failure_limit") {
    ASSIGN_OR_RETURN(p.failure_limit, ParseNumber<int>(key, text));
  } else if (key == "max_error_rate_delta") {
    ASSIGN_OR_RETURN(p.max_error_rate_delta, ParseNumber<double>(key, text));
  } else if (key == "max_p99_ratio") {
    ASSIGN_OR_RETURN(p.max_p99_ratio, ParseNumber<double>(key, text));
  } else if (key == "max_prediction_shift") {
    ASSIGN_OR_RETURN(p.max_prediction_shift, ParseNumber<double>(key, text));
  } else if (key == "min_quality_delta") {
    ASSIGN_OR_RETURN(p.min_quality_delta, ParseNumber<double>(key, text));
  } else if (key == "sticky_key") {
    p.sticky_key = std::string(text);
  } else if (key == "webhooks") {
    p.webhooks.emplace_back(text);
  } else {
    return UnknownKey(raw_key);
  }
  return absl::OkStatus();
}

absl::StatusOr<RolloutPolicy> ParseRolloutPolicyYaml(std::string_view yaml,
                                                     std::string_view source) {
  RETURN_IF_ERROR(core::CheckYamlUtf8(yaml, source));
  RolloutPolicy policy;
  // yaml-cpp reports errors by throwing; they stop here.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return policy;
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(Cat(source, ": a rollout policy is a mapping of keys"));
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& value = kv.second;
      const auto with_source = [&](absl::Status status) {
        return absl::InvalidArgumentError(Cat(source, ": ", core::View(status.message())));
      };
      if (std::find(std::begin(kRolloutPolicyKeys), std::end(kRolloutPolicyKeys), key) ==
          std::end(kRolloutPolicyKeys)) {
        return with_source(UnknownKey(key));
      }
      if (key == "steps" && value.IsSequence()) {
        policy.steps.clear();
        for (const YAML::Node& step : value) {
          if (!step.IsScalar()) return with_source(Bad(key, "expected a list of percents"));
          absl::StatusOr<int> parsed = ParseNumber<int>(key, step.Scalar());
          if (!parsed.ok()) return with_source(parsed.status());
          policy.steps.push_back(*parsed);
        }
        continue;
      }
      if (key == "webhooks" && value.IsSequence()) {
        policy.webhooks.clear();
        for (const YAML::Node& url : value) {
          if (!url.IsScalar()) return with_source(Bad(key, "expected a list of URLs"));
          policy.webhooks.push_back(url.Scalar());
        }
        continue;
      }
      if (!value.IsScalar()) return with_source(Bad(key, "expected a single value"));
      if (key == "webhooks") policy.webhooks.clear();
      absl::Status set = SetRolloutPolicyField(policy, key, value.Scalar());
      if (!set.ok()) return with_source(set);
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(source, ": ", e.what()));
  }
  absl::Status valid = ValidateRolloutPolicy(policy);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(Cat(source, ": ", core::View(valid.message())));
  }
  return policy;
}

nlohmann::json RolloutPolicyToJson(const RolloutPolicy& p) {
  return nlohmann::json{{"steps", p.steps},
                        {"interval", features::FormatDuration(p.interval.count())},
                        {"min_requests", p.min_requests},
                        {"failure_limit", p.failure_limit},
                        {"max_error_rate_delta", p.max_error_rate_delta},
                        {"max_p99_ratio", p.max_p99_ratio},
                        {"max_prediction_shift", p.max_prediction_shift},
                        {"min_quality_delta", p.min_quality_delta},
                        {"min_labels", p.min_labels},
                        {"sticky_key", p.sticky_key},
                        {"progress_deadline", features::FormatDuration(p.progress_deadline.count())},
                        {"webhooks", p.webhooks}};
}

absl::StatusOr<RolloutPolicy> RolloutPolicyFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("rollout policy: expected an object");
  return ParseRolloutPolicyYaml(json.dump(), "stored rollout policy");
}

}  // namespace ferry::serving
