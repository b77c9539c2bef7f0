#include "core/yaml_fields.h"

#include <algorithm>
#include <set>

#include "core/status.h"
#include "core/strings.h"
#include "core/utf8.h"

namespace ferry::core {

absl::Status CheckYamlUtf8(std::string_view yaml, std::string_view file) {
  if (IsValidUtf8(yaml.data(), yaml.size())) return absl::OkStatus();
  // Which line: the first that is not valid on its own.
  size_t line = 1;
  for (size_t begin = 0; begin < yaml.size(); ++line) {
    const size_t end = std::min(yaml.find('\n', begin), yaml.size());
    if (!IsValidUtf8(yaml.data() + begin, end - begin)) break;
    begin = end + 1;
  }
  return absl::InvalidArgumentError(Cat(file, ":", line, ": not valid UTF-8"));
}

absl::StatusOr<YAML::Node> LoadYaml(std::string_view yaml, std::string_view file) {
  RETURN_IF_ERROR(CheckYamlUtf8(yaml, file));
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(file, ": not valid YAML: ", e.what()));
  }
}

absl::Status YamlContext::Error(const YAML::Node& node, std::string_view where,
                                std::string_view what) const {
  const YAML::Mark mark = node.Mark();
  const std::string line = mark.line >= 0 ? Cat(":", mark.line + 1) : "";
  return absl::InvalidArgumentError(Cat(file_, line, ": ", where, where.empty() ? "" : ": ", what));
}

absl::Status CheckYamlMap(const YamlContext& at, const YAML::Node& map, std::string_view where,
                          std::initializer_list<std::string_view> known) {
  if (!map.IsMap()) return at.Error(map, where, "expected a mapping");
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string names;
      for (std::string_view k : known) names += Cat(names.empty() ? "" : ", ", k);
      return at.Error(kv.first, where, Cat("unknown key \"", key, "\" (known: ", names, ")"));
    }
    if (!seen.insert(key).second) return at.Error(kv.first, where, Cat("\"", key, "\" twice"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> YamlText(const YamlContext& at, const YAML::Node& node,
                                     std::string_view where) {
  if (!node || node.IsNull()) return std::string();
  if (!node.IsScalar()) return at.Error(node, where, "expected a single value");
  return node.Scalar();
}

absl::StatusOr<std::map<std::string, std::string>> YamlStringMap(const YamlContext& at,
                                                                 const YAML::Node& node,
                                                                 std::string_view where) {
  std::map<std::string, std::string> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) return at.Error(node, where, "expected a mapping of names to values");
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string field = Cat(where, ".", name);
    ASSIGN_OR_RETURN(std::string value, YamlText(at, kv.second, field));
    if (!out.emplace(name, std::move(value)).second)
      return at.Error(kv.first, field, "given twice");
  }
  return out;
}

}  // namespace ferry::core
