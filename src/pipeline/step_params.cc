// Reading a built-in step's params (step_context.h) with errors naming step and param.

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/status.h"
#include "core/strings.h"
#include "pipeline/step_context.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

std::string Where(const StepContext& context, std::string_view name) {
  return Cat("step ", context.step().id, ": param ", name);
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::optional<std::string> OptionalParamText(const StepContext& context, std::string_view name) {
  const auto& params = context.params();
  const auto it = params.find(std::string(name));
  if (it == params.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> ParamText(const StepContext& context, std::string_view name) {
  std::optional<std::string> text = OptionalParamText(context, name);
  if (!text) return absl::InvalidArgumentError(Cat(Where(context, name), " is required"));
  return *std::move(text);
}

absl::StatusOr<int64_t> ParamInt(const StepContext& context, std::string_view name, int64_t min,
                                 int64_t max) {
  ASSIGN_OR_RETURN(const std::string text, ParamText(context, name));
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return absl::InvalidArgumentError(Cat(Where(context, name), ": expected an integer in ", min,
                                          "..", max, ", got \"", text, "\""));
  }
  return value;
}

absl::StatusOr<double> ParamDouble(const StepContext& context, std::string_view name, double min,
                                   double max) {
  ASSIGN_OR_RETURN(const std::string text, ParamText(context, name));
  // strtod rather than from_chars<double>: the same parse, and it is what g++ 12's
  // from_chars for doubles calls anyway; the whole text must be consumed.
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value) || value < min ||
      value > max) {
    return absl::InvalidArgumentError(Cat(Where(context, name), ": expected a number in ", min,
                                          "..", max, ", got \"", text, "\""));
  }
  return value;
}

absl::StatusOr<bool> ParamBool(const StepContext& context, std::string_view name) {
  ASSIGN_OR_RETURN(const std::string text, ParamText(context, name));
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  return absl::InvalidArgumentError(
      Cat(Where(context, name), ": expected true or false, got \"", text, "\""));
}

absl::StatusOr<std::vector<std::string>> ParamList(const StepContext& context,
                                                   std::string_view name) {
  std::vector<std::string> items;
  const std::optional<std::string> text = OptionalParamText(context, name);
  if (!text) return items;
  size_t start = 0;
  while (start <= text->size()) {
    size_t comma = text->find(',', start);
    if (comma == std::string::npos) comma = text->size();
    std::string item = Trim(std::string_view(*text).substr(start, comma - start));
    if (item.empty()) {
      return absl::InvalidArgumentError(
          Cat(Where(context, name), ": an empty item in the list \"", *text, "\""));
    }
    items.push_back(std::move(item));
    start = comma + 1;
  }
  return items;
}

}  // namespace ferry::pipeline
