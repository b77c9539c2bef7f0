#pragma once

// Reading the fields of a YAML document (rule files, pipeline specs) with errors that
// name the file, the node's line and where in the document it is:
// "rules.yaml:12: rule HighErrorRate: for: ...". yaml-cpp throws on malformed access;
// callers keep their own try/catch around a whole parse.
//
// Thread-safety: stateless apart from the file name.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::core {

// InvalidArgument "FILE:LINE: not valid UTF-8" unless `yaml` is UTF-8 throughout. yaml-cpp
// does not check: without this, text that is not UTF-8 reaches names and descriptions
// that ferry stores as JSON, which cannot hold it.
absl::Status CheckYamlUtf8(std::string_view yaml, std::string_view file);

// The document in `yaml`; InvalidArgument "FILE: not valid YAML: ..." when it is not
// (CheckYamlUtf8 first).
absl::StatusOr<YAML::Node> LoadYaml(std::string_view yaml, std::string_view file);

class YamlContext {
 public:
  explicit YamlContext(std::string_view file) : file_(file) {}
  // InvalidArgument "FILE:LINE: WHERE: WHAT" (no line when the node has no mark; no
  // "WHERE: " when where is empty).
  absl::Status Error(const YAML::Node& node, std::string_view where, std::string_view what) const;

 private:
  std::string_view file_;
};

// Every key of `map` is in `known`, and none repeats; `map` must be a mapping.
absl::Status CheckYamlMap(const YamlContext& at, const YAML::Node& map, std::string_view where,
                          std::initializer_list<std::string_view> known);

// A scalar's text; "" when absent or null. InvalidArgument for a list or a mapping.
absl::StatusOr<std::string> YamlText(const YamlContext& at, const YAML::Node& node,
                                     std::string_view where);

// A mapping of names to scalars (empty when absent or null); a name given twice and
// values that are not scalars are errors.
absl::StatusOr<std::map<std::string, std::string>> YamlStringMap(const YamlContext& at,
                                                                 const YAML::Node& node,
                                                                 std::string_view where);

}  // namespace ferry::core
