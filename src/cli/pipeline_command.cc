// `ferry pipeline check FILE.yaml [--json]`: validates a pipeline spec (pipeline_spec.h)
// and prints its steps in the order they can run -- by levels, a level's steps able to
// run in parallel -- with their inputs, outputs and triggers. Running pipelines arrives
// with the rest of the pipelines issue.

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

constexpr size_t kMaxSpecBytes = 1 << 20;

std::string_view TriggerKindName(pipeline::Trigger::Kind kind) {
  switch (kind) {
    case pipeline::Trigger::Kind::kSchedule: return "schedule";
    case pipeline::Trigger::Kind::kDataset: return "dataset";
    case pipeline::Trigger::Kind::kAlert: return "alert";
    case pipeline::Trigger::Kind::kManual: return "manual";
  }
  return "manual";
}

json StepJson(const pipeline::StepSpec& step, size_t level) {
  json inputs = json::object();
  for (const auto& [name, ref] : step.inputs) inputs[name] = ref.ToString();
  json out = {{"id", step.id},
              {"level", level},
              {"inputs", std::move(inputs)},
              {"outputs", step.outputs},
              {"params", step.params},
              {"retries", step.retries},
              {"timeout_seconds", step.timeout.count()}};
  if (step.uses) {
    out["uses"] = pipeline::BuiltinStepName(*step.uses);
  } else {
    out["run"] = step.run;
  }
  return out;
}

absl::Status RunCheck(CliContext& context, const std::string& file, bool as_json) {
  ASSIGN_OR_RETURN(std::string yaml,
                   core::ReadFileToString(context.env().current_dir / file, kMaxSpecBytes));
  ASSIGN_OR_RETURN(pipeline::PipelineSpec spec, pipeline::ParsePipelineSpec(yaml, file));
  const auto levels = pipeline::StepLevels(spec);
  if (as_json) {
    json steps = json::array();
    for (size_t level = 0; level < levels.size(); ++level) {
      for (const pipeline::StepSpec* step : levels[level]) steps.push_back(StepJson(*step, level));
    }
    json triggers = json::array();
    for (const pipeline::Trigger& t : spec.triggers) {
      triggers.push_back({{"kind", TriggerKindName(t.kind)}, {"value", t.value}});
    }
    context.out() << json{{"name", spec.name},
                          {"params", spec.params},
                          {"triggers", std::move(triggers)},
                          {"max_concurrent_runs", spec.max_concurrent_runs},
                          {"steps", std::move(steps)}}
                         .dump()
                  << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = context.out();
  out << file << ": pipeline " << spec.name << ", " << spec.steps.size() << " steps in "
      << levels.size() << " levels\n";
  for (size_t level = 0; level < levels.size(); ++level) {
    for (const pipeline::StepSpec* step : levels[level]) {
      out << "  " << level + 1 << "  " << step->id << "  "
          << (step->uses ? Cat("uses ", pipeline::BuiltinStepName(*step->uses))
                         : Cat("run ", step->run));
      std::string reads;
      for (const auto& [name, ref] : step->inputs) {
        reads += Cat(reads.empty() ? "" : ", ", name, "=", ref.ToString());
      }
      if (!reads.empty()) out << "  <- " << reads;
      out << "\n";
    }
  }
  for (const pipeline::Trigger& t : spec.triggers) {
    out << "  trigger " << TriggerKindName(t.kind) << (t.value.empty() ? "" : " ") << t.value
        << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddPipelineCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* pipeline = app.add_subcommand("pipeline", "Training pipelines");
  pipeline->require_subcommand(1);
  CLI::App* check = pipeline->add_subcommand(
      "check", "Validate a pipeline file and show its steps in the order they can run");
  auto file = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  check->add_option("FILE", *file, "Pipeline spec (YAML)")->required();
  check->add_flag("--json", *as_json, "Print JSON");
  check->callback(
      [&context, result, file, as_json] { *result = RunCheck(context, *file, *as_json); });
}

}  // namespace ferry::cli
