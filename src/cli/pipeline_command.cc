// `ferry pipeline check FILE.yaml [--json]`: validates a pipeline spec (pipeline_spec.h)
// and prints its steps in the order they can run -- by levels, a level's steps able to
// run in parallel -- with their inputs, outputs and triggers.
// `ferry pipeline apply FILE`: stores the pipeline in the workspace, where `ferry server`
// runs its triggers. `ferry pipeline list [PIPELINE]`, `show RUN`, `logs RUN STEP`,
// `triggers [PIPELINE]`: what ran and why. (run, reproduce, cancel: pipeline_run_command.cc.)

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/pipeline_commands.h"
#include "cli/registry_commands.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

constexpr size_t kMaxSpecBytes = 1 << 20;

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
  ASSIGN_OR_RETURN(LoadedSpec loaded, LoadSpecFile(context, file));
  const pipeline::PipelineSpec& spec = loaded.spec;
  const auto levels = pipeline::StepLevels(spec);
  if (as_json) {
    json steps = json::array();
    for (size_t level = 0; level < levels.size(); ++level) {
      for (const pipeline::StepSpec* step : levels[level]) steps.push_back(StepJson(*step, level));
    }
    json triggers = json::array();
    for (const pipeline::Trigger& t : spec.triggers) {
      triggers.push_back({{"kind", pipeline::TriggerKindName(t.kind)}, {"value", t.value}});
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
    out << "  trigger " << pipeline::TriggerKindName(t.kind) << (t.value.empty() ? "" : " ")
        << t.value << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunApply(CliContext& context, const std::string& file, const std::string& actor) {
  ASSIGN_OR_RETURN(LoadedSpec loaded, LoadSpecFile(context, file));
  ASSIGN_OR_RETURN(OpenedPipelines opened, OpenPipelines(context, loaded.dir));
  pipeline::AppliedPipeline applied;
  applied.name = loaded.spec.name;
  applied.source = loaded.source;
  applied.spec = loaded.yaml;
  applied.spec_dir = loaded.dir.string();
  applied.applied_by = Actor(context, actor);
  ASSIGN_OR_RETURN(applied, opened.services->runs->Apply(applied));
  context.out() << "applied pipeline " << applied.name << " from " << applied.source << " ("
                << loaded.spec.steps.size() << " steps, " << loaded.spec.triggers.size()
                << " triggers; sha256 " << applied.spec_sha256.substr(0, 12) << ")\n";
  return absl::OkStatus();
}

std::string Ago(int64_t micros, int64_t now) {
  const int64_t s = (now - micros) / 1'000'000;
  if (s < 120) return Cat(s, "s ago");
  if (s < 7200) return Cat(s / 60, "m ago");
  if (s < 2 * 86400) return Cat(s / 3600, "h ago");
  return Cat(s / 86400, "d ago");
}

std::string Duration(const pipeline::RunRecord& run, int64_t now) {
  if (!run.started_at) return "";
  const int64_t end = run.ended_at.value_or(now);
  return Cat((end - *run.started_at) / 1000 / 1000.0, " s");
}

absl::Status RunList(CliContext& context, const std::string& name, int64_t limit, bool as_json) {
  ASSIGN_OR_RETURN(OpenedPipelines opened, OpenPipelines(context, context.env().current_dir));
  pipeline::PipelineRunStore& runs = *opened.services->runs;
  ASSIGN_OR_RETURN(auto applied, runs.Applied());
  ASSIGN_OR_RETURN(auto list, runs.ListRuns(name, limit));
  if (as_json) {
    json pipelines = json::array();
    for (const auto& p : applied) {
      pipelines.push_back({{"name", p.name},
                           {"source", p.source},
                           {"spec_sha256", p.spec_sha256},
                           {"applied_at", core::FormatTimestamp(p.applied_at)},
                           {"applied_by", p.applied_by}});
    }
    json out_runs = json::array();
    for (const auto& r : list) out_runs.push_back(pipeline::RunToJson(r));
    context.out() << json{{"pipelines", pipelines}, {"runs", out_runs}}.dump() << "\n";
    return absl::OkStatus();
  }
  const int64_t now = opened.workspace->clock().NowMicros();
  if (name.empty()) {
    if (applied.empty()) {
      context.out() << "no pipelines applied (ferry pipeline apply FILE)\n";
    } else {
      std::vector<std::vector<std::string>> rows = {{"PIPELINE", "SOURCE", "APPLIED", "BY"}};
      for (const auto& p : applied) {
        rows.push_back({p.name, p.source, Ago(p.applied_at, now), p.applied_by});
      }
      PrintTable(context.out(), rows);
    }
    context.out() << "\n";
  }
  if (list.empty()) {
    context.out() << "no pipeline runs" << (name.empty() ? "" : Cat(" of ", name)) << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"RUN", "PIPELINE", "#", "STATE", "TRIGGER", "STARTED", "TOOK"}};
  for (const auto& r : list) {
    rows.push_back({r.id.substr(0, 8), r.pipeline, std::to_string(r.number),
                    std::string(pipeline::RunStateName(r.state)) +
                        (r.cancel_requested && !pipeline::IsEnded(r.state) ? " (cancelling)" : ""),
                    r.trigger, Ago(r.created_at, now), Duration(r, now)});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

absl::Status RunShow(CliContext& context, const std::string& id, bool as_json) {
  ASSIGN_OR_RETURN(OpenedPipelines opened, OpenPipelines(context, context.env().current_dir));
  ASSIGN_OR_RETURN(pipeline::RunRecord run, opened.services->runs->GetRun(id));
  if (as_json) {
    context.out() << pipeline::RunToJson(run).dump() << "\n";
    return absl::OkStatus();
  }
  const int64_t now = opened.workspace->clock().NowMicros();
  std::ostream& out = context.out();
  out << "run " << run.id << "\n"
      << "  pipeline  " << run.pipeline << " #" << run.number << " (" << run.source << ", sha256 "
      << run.spec_sha256.substr(0, 12) << ")\n"
      << "  state     " << pipeline::RunStateName(run.state)
      << (run.error.empty() ? "" : Cat(": ", run.error)) << "\n"
      << "  trigger   " << run.trigger << (run.trigger_detail.empty() ? "" : " ")
      << run.trigger_detail << "\n"
      << "  by        " << run.actor << ", " << core::FormatTimestamp(run.created_at);
  if (run.started_at) out << ", took " << Duration(run, now);
  out << "\n";
  if (!run.reproduce_of.empty()) out << "  reproduces " << run.reproduce_of << "\n";
  if (!run.tracking_run.empty()) out << "  tracking  " << run.tracking_run << "\n";
  for (const auto& [key, value] : run.params)
    out << "  param     " << key << " = " << value << "\n";
  for (const auto& [ref, value] : run.inputs) {
    out << "  input     " << ref << " = " << value.ref << " (sha256 " << value.sha256.substr(0, 12)
        << ")\n";
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "STATE", "TRIES", "RUN", "NOTE"}};
  for (const auto& s : run.steps) {
    std::string note = s.state == pipeline::StepState::kFailed ? s.error : s.note;
    if (const size_t nl = note.find('\n'); nl != std::string::npos)
      note = note.substr(0, nl) + " ...";
    rows.push_back({s.step, std::string(pipeline::StepStateName(s.state)),
                    s.attempts > 0 ? std::to_string(s.attempts) : "", s.tracking_run.substr(0, 8),
                    note});
  }
  out << "\n";
  PrintTable(out, rows);
  bool any_output = false;
  for (const auto& s : run.steps) {
    for (const auto& [name, value] : s.outputs) {
      if (!any_output) out << "\noutputs\n";
      any_output = true;
      out << "  " << s.step << "." << name << "  " << pipeline::ValueKindName(value.kind) << " "
          << value.ref << "  sha256 " << value.sha256.substr(0, 12) << "\n";
    }
  }
  return absl::OkStatus();
}

absl::Status RunLogs(CliContext& context, const std::string& id, const std::string& step,
                     int attempt, bool stderr_only, bool stdout_only) {
  ASSIGN_OR_RETURN(OpenedPipelines opened, OpenPipelines(context, context.env().current_dir));
  ASSIGN_OR_RETURN(pipeline::RunRecord run, opened.services->runs->GetRun(id));
  const pipeline::StepRecord* record = nullptr;
  for (const auto& s : run.steps) {
    if (s.step == step) record = &s;
  }
  if (record == nullptr) {
    return absl::NotFoundError(
        Cat("pipeline run ", run.id.substr(0, 8), " has no step \"", step, "\""));
  }
  if (record->tracking_run.empty()) {
    return absl::NotFoundError(Cat("step ", step, " of run ", run.id.substr(0, 8), " is ",
                                   pipeline::StepStateName(record->state), ": it has no logs"));
  }
  ASSIGN_OR_RETURN(tracking::Run tracked, opened.services->tracking->GetRun(record->tracking_run));
  const int which = attempt > 0 ? attempt : std::max(1, record->attempts);
  bool found = false;
  for (const char* stream : {"stdout", "stderr"}) {
    if ((stderr_only && std::string_view(stream) == "stdout") ||
        (stdout_only && std::string_view(stream) == "stderr")) {
      continue;
    }
    const std::string path = Cat("logs/", stream, ".", which, ".txt");
    for (const tracking::Artifact& artifact : tracked.artifacts) {
      if (artifact.path != path) continue;
      found = true;
      ASSIGN_OR_RETURN(const core::Digest digest, core::Digest::FromHex(artifact.digest));
      ASSIGN_OR_RETURN(std::string text,
                       opened.workspace->objects().GetBytes(digest, size_t{256} << 20));
      if (!stderr_only && !stdout_only) context.out() << "==> " << stream << " <==\n";
      context.out() << text;
      if (!text.empty() && text.back() != '\n') context.out() << "\n";
    }
  }
  if (!found) {
    return absl::NotFoundError(
        Cat("step ", step, " of run ", run.id.substr(0, 8), " has no logs for attempt ", which,
            record->state == pipeline::StepState::kCached ? " (it was cached)" : "",
            " (built-in steps log metrics and notes, not output; see ferry runs show ",
            record->tracking_run.substr(0, 8), ")"));
  }
  return absl::OkStatus();
}

absl::Status RunTriggers(CliContext& context, const std::string& name, int64_t limit,
                         bool as_json) {
  ASSIGN_OR_RETURN(OpenedPipelines opened, OpenPipelines(context, context.env().current_dir));
  ASSIGN_OR_RETURN(auto events, opened.services->runs->TriggerEvents(name, limit));
  if (as_json) {
    json out = json::array();
    for (const auto& e : events) out.push_back(pipeline::TriggerEventToJson(e));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  if (events.empty()) {
    context.out() << "no triggers fired" << (name.empty() ? "" : Cat(" for ", name)) << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"AT", "PIPELINE", "KIND", "DETAIL", "OUTCOME", "RUN"}};
  for (const auto& e : events) {
    rows.push_back(
        {core::FormatTimestamp(e.at), e.pipeline, e.kind, e.detail, e.outcome, e.run.substr(0, 8)});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenedPipelines> OpenPipelines(CliContext& context,
                                              const std::filesystem::path& spec_dir) {
  OpenedPipelines opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.services, pipeline::PipelineServices::Open(*opened.workspace, spec_dir));
  return opened;
}

absl::StatusOr<LoadedSpec> LoadSpecFile(CliContext& context, const std::string& file) {
  LoadedSpec loaded;
  const std::filesystem::path path = context.env().current_dir / file;
  ASSIGN_OR_RETURN(loaded.yaml, core::ReadFileToString(path, kMaxSpecBytes));
  ASSIGN_OR_RETURN(loaded.spec, pipeline::ParsePipelineSpec(loaded.yaml, file));
  loaded.source = file;
  std::error_code ec;
  loaded.dir = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec).parent_path();
  if (ec) return core::ErrnoToStatus(ec.value(), path.string());
  return loaded;
}

namespace {}  // namespace

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

  auto apply_file = std::make_shared<std::string>();
  auto actor = std::make_shared<std::string>();
  CLI::App* apply = pipeline->add_subcommand(
      "apply", "Store a pipeline in the workspace; ferry server runs its triggers");
  apply->add_option("FILE", *apply_file, "Pipeline spec (YAML)")->required();
  apply->add_option("--actor", *actor, "Who applies it (default: $USER)");
  apply->callback(
      [&context, result, apply_file, actor] { *result = RunApply(context, *apply_file, *actor); });

  auto name = std::make_shared<std::string>();
  auto limit = std::make_shared<int64_t>(20);
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = pipeline->add_subcommand("list", "Applied pipelines and recent runs");
  list->add_option("PIPELINE", *name, "Only this pipeline's runs");
  list->add_option("--limit", *limit, "Runs to show (default 20)")
      ->check(CLI::Range(int64_t{1}, pipeline::PipelineRunStore::kMaxListedRuns));
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, name, limit, list_json] {
    *result = RunList(context, *name, *limit, *list_json);
  });

  auto show_id = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  CLI::App* show = pipeline->add_subcommand("show", "A run: its steps, states, outputs and why");
  show->add_option("RUN", *show_id, "Pipeline run id (or a unique prefix)")->required();
  show->add_flag("--json", *show_json, "Print JSON");
  show->callback(
      [&context, result, show_id, show_json] { *result = RunShow(context, *show_id, *show_json); });

  auto logs_id = std::make_shared<std::string>();
  auto logs_step = std::make_shared<std::string>();
  auto attempt = std::make_shared<int>(0);
  auto only_stderr = std::make_shared<bool>(false);
  auto only_stdout = std::make_shared<bool>(false);
  CLI::App* logs = pipeline->add_subcommand("logs", "A command step's stdout and stderr");
  logs->add_option("RUN", *logs_id, "Pipeline run id (or a unique prefix)")->required();
  logs->add_option("STEP", *logs_step, "Step id")->required();
  logs->add_option("--attempt", *attempt, "Which attempt (default: the last)")
      ->check(CLI::Range(1, 11));
  logs->add_flag("--stderr", *only_stderr, "Only stderr");
  logs->add_flag("--stdout", *only_stdout, "Only stdout");
  logs->callback([&context, result, logs_id, logs_step, attempt, only_stderr, only_stdout] {
    *result = RunLogs(context, *logs_id, *logs_step, *attempt, *only_stderr, *only_stdout);
  });

  auto trig_name = std::make_shared<std::string>();
  auto trig_limit = std::make_shared<int64_t>(50);
  auto trig_json = std::make_shared<bool>(false);
  CLI::App* triggers = pipeline->add_subcommand(
      "triggers", "What triggers fired and what they did (started, queued, coalesced)");
  triggers->add_option("PIPELINE", *trig_name, "Only this pipeline");
  triggers->add_option("--limit", *trig_limit, "Events to show (default 50)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  triggers->add_flag("--json", *trig_json, "Print JSON");
  triggers->callback([&context, result, trig_name, trig_limit, trig_json] {
    *result = RunTriggers(context, *trig_name, *trig_limit, *trig_json);
  });

  AddPipelineRunVerbs(*pipeline, context, result);
}

}  // namespace ferry::cli
