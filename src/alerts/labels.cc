#include "alerts/labels.h"

#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace ferry::alerts {
namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

bool IsValidName(std::string_view name, bool colon) {
  if (name.empty() || !IsNameStart(name[0], colon)) return false;
  for (char c : name.substr(1)) {
    if (!IsNameStart(c, colon) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

bool IsValidLabelName(std::string_view name) { return IsValidName(name, false); }
bool IsValidMetricName(std::string_view name) { return IsValidName(name, true); }

std::string FormatLabels(const Labels& labels) {
  std::string out;
  if (auto name = labels.find(kMetricNameLabel); name != labels.end()) out = name->second;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (name == kMetricNameLabel) continue;
    if (!first) out += ", ";
    first = false;
    out += fmt::format("{}={}", name, nlohmann::json(value).dump());
  }
  out += '}';
  return out;
}

std::string LabelsToJson(const Labels& labels) { return nlohmann::json(labels).dump(); }

std::string Fingerprint(const Labels& labels) {
  constexpr uint64_t kOffset = 14695981039346656037ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t hash = kOffset;
  const auto add = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= kPrime;
    }
    hash ^= 0xff;
    hash *= kPrime;
  };
  for (const auto& [name, value] : labels) {
    add(name);
    add(value);
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace ferry::alerts
