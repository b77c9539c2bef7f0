#include "api/query_params.h"

#include <algorithm>
#include <charconv>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::api {
namespace {

constexpr size_t kMaxParams = 64;

absl::StatusOr<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 2 < text.size() ? core::HexDigitValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? core::HexDigitValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("malformed %-escape");
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  if (out.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("query parameters may not contain NUL");
  }
  return out;
}

}  // namespace

absl::StatusOr<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    if (params.pairs_.size() == kMaxParams) {
      return absl::InvalidArgumentError(core::Cat("more than ", kMaxParams, " query parameters"));
    }
    // Errors name the parameter, never its text: a query may carry a token.
    size_t eq = pair.find('=');
    absl::StatusOr<std::string> name = Decode(pair.substr(0, eq));
    if (!name.ok()) {
      return absl::InvalidArgumentError(
          core::Cat("a query parameter's name: ", core::View(name.status().message())));
    }
    std::string value;
    if (eq != std::string_view::npos) {
      absl::StatusOr<std::string> decoded = Decode(pair.substr(eq + 1));
      if (!decoded.ok()) {
        return absl::InvalidArgumentError(
            core::Cat("query parameter \"", *name, "\": ", core::View(decoded.status().message())));
      }
      value = *std::move(decoded);
    }
    params.pairs_.emplace_back(*std::move(name), std::move(value));
  }
  return params;
}

std::optional<std::string> QueryParams::Get(std::string_view name) const {
  for (const auto& [k, v] : pairs_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

absl::StatusOr<bool> QueryParams::GetBool(std::string_view name, bool fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  if (value->empty() || *value == "1" || *value == "true" || *value == "yes") return true;
  if (*value == "0" || *value == "false" || *value == "no") return false;
  return absl::InvalidArgumentError(
      core::Cat("query parameter ", name, ": expected true or false, got \"", *value, "\""));
}

absl::StatusOr<int64_t> QueryParams::GetInt(std::string_view name, int64_t fallback,
                                            int64_t min, int64_t max) const {
  const std::optional<std::string> text = Get(name);
  if (!text) return fallback;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return absl::InvalidArgumentError(
        core::Cat(name, " must be ", min, "..", max, ", got \"", *text, "\""));
  }
  return value;
}

absl::Status QueryParams::OnlyThese(std::initializer_list<std::string_view> known) const {
  for (const auto& [k, v] : pairs_) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return absl::InvalidArgumentError(core::Cat("unknown query parameter \"", k, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::api
