#pragma once

// Labels: the identity of a time series as Prometheus has it, a set of name/value pairs
// sorted by name, with the metric name as the label "__name__". Alerts carry the labels
// of the series that made them plus their rule's labels and "alertname".
//
// Thread-safety: value types and pure functions.

#include <map>
#include <string>
#include <string_view>

namespace ferry::alerts {

using Labels = std::map<std::string, std::string>;

inline constexpr char kMetricNameLabel[] = "__name__";
inline constexpr char kAlertNameLabel[] = "alertname";
inline constexpr char kSeverityLabel[] = "severity";

// [a-zA-Z_][a-zA-Z0-9_]*, as Prometheus requires of label names.
bool IsValidLabelName(std::string_view name);
// [a-zA-Z_:][a-zA-Z0-9_:]*, as Prometheus requires of metric (and alert) names.
bool IsValidMetricName(std::string_view name);

// {a="x", b="y"} (the metric name first, outside the braces, when present; values quoted
// as JSON strings), for messages, logs and tables.
std::string FormatLabels(const Labels& labels);

// The labels as a JSON object text with sorted keys: how alerts are keyed and stored.
std::string LabelsToJson(const Labels& labels);

// Prometheus's fingerprint of a label set (FNV-1a 64 over the sorted names and values,
// each followed by 0xff), as 16 hex digits: what Alertmanager shows as "fingerprint".
std::string Fingerprint(const Labels& labels);

}  // namespace ferry::alerts
