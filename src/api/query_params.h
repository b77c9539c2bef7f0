#pragma once

// QueryParams: the decoded `name=value` pairs of a request's query string
// ("a=1&b=x%20y&c"), for API routes that take options that way.
//
// Thread-safety: a value type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::api {

class QueryParams {
 public:
  // Percent-decodes names and values ('+' is a space). InvalidArgument for a
  // malformed escape, a NUL, or more than 64 parameters.
  static absl::StatusOr<QueryParams> Parse(std::string_view query);

  // The first value of `name`, if present ("" for a bare "name").
  std::optional<std::string> Get(std::string_view name) const;
  // Present with no value, "1", "true" or "yes" -> true; "0", "false", "no" -> false;
  // absent -> `fallback`; anything else InvalidArgument.
  absl::StatusOr<bool> GetBool(std::string_view name, bool fallback) const;
  // An integer in [min, max]; absent -> `fallback`; anything else InvalidArgument
  // ("limit must be 1..1000, got \"x\"").
  absl::StatusOr<int64_t> GetInt(std::string_view name, int64_t fallback, int64_t min,
                                 int64_t max) const;
  // InvalidArgument naming the first parameter not in `known`.
  absl::Status OnlyThese(std::initializer_list<std::string_view> known) const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace ferry::api
