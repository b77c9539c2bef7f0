#include "pipeline/pipeline_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <functional>

#include "core/status.h"
#include "core/strings.h"
#include "core/yaml_fields.h"
#include "features/feature_definitions.h"
#include "pipeline/builtin_catalog.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr std::array<std::pair<BuiltinStep, std::string_view>, 6> kBuiltins{{
    {BuiltinStep::kTrainingSet, "training-set"},
    {BuiltinStep::kSplit, "split"},
    {BuiltinStep::kTrainXgboost, "train-xgboost"},
    {BuiltinStep::kEvaluate, "evaluate"},
    {BuiltinStep::kRegister, "register"},
    {BuiltinStep::kDeployCanary, "deploy-canary"},
}};

constexpr std::string_view kStepsPrefix = "steps.";

using Context = core::YamlContext;

// A field that must be there and be a value.
absl::StatusOr<std::string> Scalar(const Context& c, const YAML::Node& node,
                                   std::string_view where) {
  if (!node.IsScalar()) return c.Error(node, where, "expected a single value");
  return node.Scalar();
}

absl::Status CheckName(const Context& c, const YAML::Node& node, std::string_view where,
                       std::string_view what, std::string_view name) {
  absl::Status valid = features::ValidateObjectName(what, name);
  if (!valid.ok()) return c.Error(node, where, core::View(valid.message()));
  return absl::OkStatus();
}

// Every ${params.NAME} in `text` names a declared param.
absl::Status CheckParamRefs(const Context& c, const YAML::Node& node, std::string_view where,
                            std::string_view text,
                            const std::map<std::string, std::string>& params) {
  absl::StatusOr<std::string> substituted = SubstituteParams(text, params);
  if (!substituted.ok()) return c.Error(node, where, core::View(substituted.status().message()));
  return absl::OkStatus();
}

absl::StatusOr<StepSpec> ParseStep(const Context& c, const YAML::Node& node,
                                   const std::map<std::string, std::string>& params) {
  RETURN_IF_ERROR(core::CheckYamlMap(
      c, node, "steps",
      {"id", "uses", "run", "inputs", "outputs", "params", "retries", "timeout", "env", "deps"}));
  StepSpec step;
  if (!node["id"]) return c.Error(node, "steps", "a step needs an id");
  ASSIGN_OR_RETURN(step.id, Scalar(c, node["id"], "steps.id"));
  const std::string where = Cat("step ", step.id);
  RETURN_IF_ERROR(CheckName(c, node["id"], where, "step id", step.id));
  if (static_cast<bool>(node["uses"]) == static_cast<bool>(node["run"])) {
    return c.Error(node, where, "give exactly one of uses (a built-in step) and run (a command)");
  }
  if (node["uses"]) {
    ASSIGN_OR_RETURN(std::string uses, Scalar(c, node["uses"], Cat(where, ": uses")));
    absl::StatusOr<BuiltinStep> builtin = ParseBuiltinStep(uses);
    if (!builtin.ok()) return c.Error(node["uses"], where, core::View(builtin.status().message()));
    step.uses = *builtin;
  } else {
    ASSIGN_OR_RETURN(step.run, Scalar(c, node["run"], Cat(where, ": run")));
    if (step.run.empty()) return c.Error(node["run"], where, "run: an empty command");
    RETURN_IF_ERROR(CheckParamRefs(c, node["run"], Cat(where, ": run"), step.run, params));
  }
  if (const YAML::Node inputs = node["inputs"]) {
    if (!inputs.IsMap())
      return c.Error(inputs, where, "inputs: expected a mapping of names to references");
    for (const auto& item : inputs) {
      const std::string name = item.first.as<std::string>();
      RETURN_IF_ERROR(CheckName(c, item.first, where, "input name", name));
      ASSIGN_OR_RETURN(std::string text, Scalar(c, item.second, Cat(where, ": inputs.", name)));
      absl::StatusOr<InputRef> ref = ParseInputRef(text);
      if (!ref.ok()) {
        return c.Error(item.second, Cat(where, ": inputs.", name),
                       core::View(ref.status().message()));
      }
      step.inputs[name] = *std::move(ref);
    }
  }
  if (const YAML::Node outputs = node["outputs"]) {
    if (!outputs.IsSequence()) return c.Error(outputs, where, "outputs: expected a list of names");
    for (const YAML::Node& output : outputs) {
      ASSIGN_OR_RETURN(std::string name, Scalar(c, output, Cat(where, ": outputs")));
      // A command step's output may carry a file extension ("scores.csv") that tells its
      // readers the format; the name before it is like any other name.
      const size_t dot = name.find('.');
      RETURN_IF_ERROR(CheckName(c, output, where, "output name", name.substr(0, dot)));
      if (dot != std::string::npos) {
        const std::string_view ext = std::string_view(name).substr(dot + 1);
        const bool valid = !node["uses"] && !ext.empty() && ext.size() <= 16 &&
                           std::all_of(ext.begin(), ext.end(), [](char ch) {
                             return std::isalnum(static_cast<unsigned char>(ch));
                           });
        if (!valid) {
          return c.Error(output, where,
                         Cat("output \"", name,
                             "\": a command step's output is NAME or NAME.EXT (an extension of "
                             "letters and digits)"));
        }
      }
      if (std::find(step.outputs.begin(), step.outputs.end(), name) != step.outputs.end()) {
        return c.Error(output, where, Cat("output \"", name, "\" is declared twice"));
      }
      step.outputs.push_back(std::move(name));
    }
  }
  ASSIGN_OR_RETURN(step.params, core::YamlStringMap(c, node["params"], Cat(where, ": params")));
  for (const auto& [key, value] : step.params) {
    RETURN_IF_ERROR(CheckParamRefs(c, node["params"], Cat(where, ": params.", key), value, params));
  }
  ASSIGN_OR_RETURN(step.env, core::YamlStringMap(c, node["env"], Cat(where, ": env")));
  for (const auto& [key, value] : step.env) {
    const bool valid = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                       std::all_of(key.begin(), key.end(), [](char ch) {
                         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                       });
    if (!valid)
      return c.Error(node["env"], where, Cat("env: \"", key, "\" is not a variable name"));
  }
  if (node["retries"]) {
    ASSIGN_OR_RETURN(std::string text, Scalar(c, node["retries"], Cat(where, ": retries")));
    int retries = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), retries);
    if (ec != std::errc() || end != text.data() + text.size() || retries < 0 ||
        retries > PipelineSpec::kMaxRetries) {
      return c.Error(
          node["retries"], where,
          Cat("retries: expected 0..", PipelineSpec::kMaxRetries, ", got \"", text, "\""));
    }
    step.retries = retries;
  }
  if (node["timeout"]) {
    ASSIGN_OR_RETURN(std::string text, Scalar(c, node["timeout"], Cat(where, ": timeout")));
    absl::StatusOr<int64_t> seconds = features::ParseDurationSeconds(text);
    if (!seconds.ok() || *seconds <= 0) {
      return c.Error(
          node["timeout"], where,
          Cat("timeout: expected a duration such as 90s, 30m or 2h, got \"", text, "\""));
    }
    step.timeout = std::chrono::seconds(*seconds);
  }
  if (const YAML::Node deps = node["deps"]) {
    if (step.uses) return c.Error(deps, where, "deps: only command steps (run) take deps");
    if (!deps.IsSequence()) return c.Error(deps, where, "deps: expected a list of files");
    for (const YAML::Node& dep : deps) {
      ASSIGN_OR_RETURN(std::string path, Scalar(c, dep, Cat(where, ": deps")));
      if (!IsPlainRelativePath(path)) {
        return c.Error(dep, where,
                       Cat("deps: \"", path,
                           "\" must be a relative path inside the pipeline file's folder (DIR/FILE:"
                           " no leading '/', no empty, \".\" or \"..\" part, no backslash or"
                           " control character, parts of at most 255 bytes)"));
      }
      step.deps.push_back(std::move(path));
    }
  }
  if (step.uses) {
    if (absl::Status checked = CheckBuiltinStep(step); !checked.ok()) {
      return c.Error(node, where, core::View(checked.message()));
    }
  }
  return step;
}

absl::StatusOr<Trigger> ParseTrigger(const Context& c, const YAML::Node& node) {
  RETURN_IF_ERROR(
      core::CheckYamlMap(c, node, "triggers", {"schedule", "dataset", "alert", "manual"}));
  if (node.size() != 1) {
    return c.Error(node, "triggers", "each trigger is one of schedule, dataset, alert, manual");
  }
  Trigger t;
  if (node["manual"]) {
    t.kind = Trigger::Kind::kManual;
    return t;
  }
  const std::string key = node.begin()->first.as<std::string>();
  ASSIGN_OR_RETURN(t.value, Scalar(c, node[key], Cat("triggers.", key)));
  if (key == "schedule") {
    t.kind = Trigger::Kind::kSchedule;
    absl::StatusOr<CronSchedule> schedule = CronSchedule::Parse(t.value);
    if (!schedule.ok())
      return c.Error(node[key], "triggers.schedule", core::View(schedule.status().message()));
    t.schedule = *std::move(schedule);
  } else if (key == "dataset") {
    t.kind = Trigger::Kind::kDataset;
    absl::Status valid = dataset::ValidateDatasetName(t.value);
    if (!valid.ok()) return c.Error(node[key], "triggers.dataset", core::View(valid.message()));
  } else {
    t.kind = Trigger::Kind::kAlert;
    if (t.value.empty()) return c.Error(node[key], "triggers.alert", "an alert rule's name");
  }
  return t;
}

// A cycle through the step graph, as "a -> b -> a"; empty when there is none.
std::string FindCycle(const PipelineSpec& spec) {
  enum class Mark : uint8_t { kNone, kActive, kDone };
  std::map<std::string, Mark, std::less<>> marks;
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const StepSpec&)> visit = [&](const StepSpec& step) {
    marks[step.id] = Mark::kActive;
    path.push_back(step.id);
    for (const auto& [name, input] : step.inputs) {
      if (!input.is_step()) continue;
      const Mark mark = marks[input.step];
      if (mark == Mark::kActive) {
        const auto start = std::find(path.begin(), path.end(), input.step);
        for (auto it = start; it != path.end(); ++it) cycle += Cat(*it, " -> ");
        cycle += input.step;
        return true;
      }
      if (mark == Mark::kNone && visit(*spec.step(input.step))) return true;
    }
    path.pop_back();
    marks[step.id] = Mark::kDone;
    return false;
  };
  for (const StepSpec& step : spec.steps) {
    if (marks[step.id] == Mark::kNone && visit(step)) return cycle;
  }
  return "";
}

}  // namespace

bool IsPlainRelativePath(std::string_view path) {
  if (path.empty() || path.size() > 1024) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part.size() > 255 || part == "." || part == "..") return false;
    for (char ch : part) {
      if (ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::string_view TriggerKindName(Trigger::Kind kind) {
  switch (kind) {
    case Trigger::Kind::kSchedule:
      return "schedule";
    case Trigger::Kind::kDataset:
      return "dataset";
    case Trigger::Kind::kAlert:
      return "alert";
    case Trigger::Kind::kManual:
      return "manual";
  }
  return "manual";
}

std::string_view BuiltinStepName(BuiltinStep step) {
  for (const auto& [value, name] : kBuiltins) {
    if (value == step) return name;
  }
  return "unknown";
}

absl::StatusOr<BuiltinStep> ParseBuiltinStep(std::string_view name) {
  std::string list;
  for (const auto& [value, known] : kBuiltins) {
    if (known == name) return value;
    list += Cat(list.empty() ? "" : ", ", known);
  }
  return absl::InvalidArgumentError(
      Cat("unknown built-in step \"", name, "\" (known: ", list, ")"));
}

std::string InputRef::ToString() const {
  return is_step() ? Cat(kStepsPrefix, step, ".", output) : dataset->ToString();
}

absl::StatusOr<InputRef> ParseInputRef(std::string_view text) {
  InputRef ref;
  if (text.starts_with(kStepsPrefix)) {
    const std::string_view rest = text.substr(kStepsPrefix.size());
    const size_t dot = rest.find('.');
    const size_t second = rest.find('.', dot + 1);
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size() ||
        (second != std::string_view::npos &&
         (second == dot + 1 || second + 1 == rest.size() ||
          rest.find('.', second + 1) != std::string_view::npos))) {
      return absl::InvalidArgumentError(
          Cat("\"", text, "\": a step's output is steps.STEP.OUTPUT"));
    }
    ref.step = std::string(rest.substr(0, dot));
    ref.output = std::string(rest.substr(dot + 1));
    return ref;
  }
  std::string_view dataset_text = text;
  if (dataset_text.ends_with("@latest")) dataset_text.remove_suffix(7);  // the default
  ASSIGN_OR_RETURN(ref.dataset, dataset::ParseDatasetRef(dataset_text));
  return ref;
}

const StepSpec* PipelineSpec::step(std::string_view id) const {
  for (const StepSpec& s : steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

absl::StatusOr<PipelineSpec> ParsePipelineSpec(std::string_view yaml, std::string_view source) {
  const Context c(source);
  ASSIGN_OR_RETURN(YAML::Node root, core::LoadYaml(yaml, source));
  PipelineSpec spec;
  try {
    RETURN_IF_ERROR(core::CheckYamlMap(
        c, root, "",
        {"name", "description", "params", "triggers", "steps", "max_concurrent_runs"}));
    if (!root["name"]) return c.Error(root, "", "a pipeline needs a name");
    ASSIGN_OR_RETURN(spec.name, Scalar(c, root["name"], "name"));
    RETURN_IF_ERROR(CheckName(c, root["name"], "name", "pipeline name", spec.name));
    if (root["description"]) {
      ASSIGN_OR_RETURN(spec.description, Scalar(c, root["description"], "description"));
    }
    ASSIGN_OR_RETURN(spec.params, core::YamlStringMap(c, root["params"], "params"));
    for (const auto& [name, value] : spec.params) {
      RETURN_IF_ERROR(CheckName(c, root["params"], "params", "param name", name));
    }
    if (root["max_concurrent_runs"]) {
      ASSIGN_OR_RETURN(std::string text,
                       Scalar(c, root["max_concurrent_runs"], "max_concurrent_runs"));
      const auto [end, ec] =
          std::from_chars(text.data(), text.data() + text.size(), spec.max_concurrent_runs);
      if (ec != std::errc() || end != text.data() + text.size() || spec.max_concurrent_runs < 1 ||
          spec.max_concurrent_runs > 100) {
        return c.Error(root["max_concurrent_runs"], "max_concurrent_runs", "expected 1..100");
      }
    }
    if (const YAML::Node triggers = root["triggers"]) {
      if (!triggers.IsSequence()) return c.Error(triggers, "triggers", "expected a list");
      for (const YAML::Node& trigger : triggers) {
        ASSIGN_OR_RETURN(Trigger t, ParseTrigger(c, trigger));
        spec.triggers.push_back(std::move(t));
      }
    }
    const YAML::Node steps = root["steps"];
    if (!steps || !steps.IsSequence() || steps.size() == 0) {
      return c.Error(steps ? steps : root, "steps", "a pipeline needs a list of steps");
    }
    if (steps.size() > PipelineSpec::kMaxSteps) {
      return c.Error(steps, "steps", Cat("at most ", PipelineSpec::kMaxSteps, " steps"));
    }
    for (const YAML::Node& node : steps) {
      ASSIGN_OR_RETURN(StepSpec step, ParseStep(c, node, spec.params));
      if (spec.step(step.id) != nullptr) {
        return c.Error(node["id"], Cat("step ", step.id), "another step has this id");
      }
      spec.steps.push_back(std::move(step));
    }
    // Every step input names a step and one of its outputs.
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const StepSpec& step = spec.steps[i];
      for (const auto& [name, input] : step.inputs) {
        if (!input.is_step()) continue;
        const YAML::Node at = steps[i]["inputs"][name];
        const StepSpec* from = spec.step(input.step);
        if (from == nullptr) {
          return c.Error(
              at, Cat("step ", step.id),
              Cat("input ", name, " reads step \"", input.step, "\", which does not exist"));
        }
        if (std::find(from->outputs.begin(), from->outputs.end(), input.output) ==
            from->outputs.end()) {
          return c.Error(at, Cat("step ", step.id),
                         Cat("input ", name, " reads output \"", input.output, "\" of step ",
                             input.step, ", which declares no such output"));
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(source, ": ", e.what()));
  }
  if (const std::string cycle = FindCycle(spec); !cycle.empty()) {
    return absl::InvalidArgumentError(
        Cat(source, ": the steps read each other in a cycle: ", cycle));
  }
  return spec;
}

std::vector<std::vector<const StepSpec*>> StepLevels(const PipelineSpec& spec) {
  std::map<std::string, size_t, std::less<>> level;
  // Steps are valid and acyclic: repeat passes in file order until every step is placed
  // (at most one pass per level).
  while (level.size() < spec.steps.size()) {
    for (const StepSpec& step : spec.steps) {
      if (level.count(step.id)) continue;
      size_t at = 0;
      bool ready = true;
      for (const auto& [name, input] : step.inputs) {
        if (!input.is_step()) continue;
        auto it = level.find(input.step);
        if (it == level.end()) {
          ready = false;
          break;
        }
        at = std::max(at, it->second + 1);
      }
      if (ready) level[step.id] = at;
    }
  }
  std::vector<std::vector<const StepSpec*>> out;
  for (const StepSpec& step : spec.steps) {
    const size_t at = level[step.id];
    if (out.size() <= at) out.resize(at + 1);
    out[at].push_back(&step);
  }
  return out;
}

absl::StatusOr<std::string> SubstituteParams(std::string_view text,
                                             const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, open - i);
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(Cat("an unclosed ${ in \"", text, "\""));
    }
    const std::string_view ref = text.substr(open + 2, close - open - 2);
    if (!ref.starts_with("params.")) {
      return absl::InvalidArgumentError(
          Cat("${", ref,
              "}: only ${params.NAME} is replaced (inputs and outputs reach a command"
              " as files and environment variables)"));
    }
    auto it = values.find(std::string(ref.substr(7)));
    if (it == values.end()) {
      return absl::InvalidArgumentError(Cat("${", ref, "} names no declared param"));
    }
    out += it->second;
    i = close + 1;
  }
  return out;
}

}  // namespace ferry::pipeline
