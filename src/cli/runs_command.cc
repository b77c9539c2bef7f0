// `ferry runs create|log|finish|list|show` and `ferry experiments list|create`:
// experiment tracking from the command line, so scripts without Python can log.

#include <charconv>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/output.h"
#include "cli/registry_commands.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "tracking/run_search.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
using tracking::RunBatch;

constexpr size_t kMaxSourceBytes = size_t{64} << 20;

// What `runs create` and `runs log` take on the command line.
struct BatchFlags {
  std::vector<std::string> params;   // k=v
  std::vector<std::string> metrics;  // k=v or k=v@step
  std::vector<std::string> tags;     // k=v
  std::vector<std::string> inputs;   // role=DATASET_REF
  int64_t step = 0;

  void AddTo(CLI::App& command) {
    command.add_option("--param,-p", params, "A param, KEY=VALUE (repeatable)");
    command.add_option("--metric,-m", metrics,
                       "A metric point, KEY=VALUE or KEY=VALUE@STEP; VALUE may be nan, inf, -inf"
                       " (repeatable)");
    command.add_option("--tag,-t", tags, "A tag, KEY=VALUE (repeatable)");
    command.add_option("--input", inputs,
                       "A dataset version the run reads, ROLE=REF with ROLE train, validation or"
                       " test (repeatable)");
    command.add_option("--step", step, "Step of metrics given without @STEP (default 0)");
  }

  absl::StatusOr<RunBatch> ToBatch() const {
    RunBatch batch;
    for (const std::string& text : params) {
      ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--param"));
      batch.params.push_back({kv.first, kv.second});
    }
    for (const std::string& text : tags) {
      ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--tag"));
      batch.tags.push_back({kv.first, kv.second});
    }
    for (const std::string& text : metrics) {
      ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--metric"));
      tracking::MetricPoint point{kv.first, 0, step, 0};
      std::string value = kv.second;
      const size_t at = value.rfind('@');
      if (at != std::string::npos) {
        const std::string_view step_text = std::string_view(value).substr(at + 1);
        auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(),
                                         point.step);
        if (ec != std::errc() || end != step_text.data() + step_text.size()) {
          return absl::InvalidArgumentError(Cat("--metric ", text, ": the step must be an integer"));
        }
        value.resize(at);
      }
      absl::StatusOr<double> parsed = tracking::ParseMetricValue(value);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            Cat("--metric ", text, ": ", core::View(parsed.status().message())));
      }
      point.value = *parsed;
      batch.metrics.push_back(std::move(point));
    }
    for (const std::string& text : inputs) {
      ASSIGN_OR_RETURN(auto kv, SplitKeyValue(text, "--input"));
      std::optional<tracking::InputRole> role = tracking::ParseInputRole(kv.first);
      if (!role) {
        return absl::InvalidArgumentError(
            Cat("--input ", text, ": the role must be train, validation or test"));
      }
      batch.inputs.push_back({kv.second, *role});
    }
    return batch;
  }
};

std::string Time(int64_t micros) { return core::FormatTimestamp(micros).substr(0, 19); }

absl::Status RunCreate(CliContext& context, const tracking::CreateRunOptions& base,
                       const BatchFlags& flags, const std::string& source_file, bool as_json) {
  tracking::CreateRunOptions options = base;
  ASSIGN_OR_RETURN(options.initial, flags.ToBatch());
  if (options.user.empty()) options.user = Actor(context, "");
  if (!source_file.empty()) {
    ASSIGN_OR_RETURN(std::string bytes, core::ReadFileToString(
                                            context.env().current_dir / source_file,
                                            kMaxSourceBytes));
    options.source_sha256 = core::Sha256::Of(bytes).ToHex();
    if (options.source_name.empty()) options.source_name = source_file;
  }
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(tracking::RunInfo run, opened.tracking->CreateRun(options));
  if (as_json) {
    context.out() << tracking::RunInfoToJson(run).dump() << "\n";
  } else {
    context.out() << run.run_id << "\n";  // alone on stdout, for `run=$(ferry runs create)`
  }
  return absl::OkStatus();
}

absl::Status RunLog(CliContext& context, const std::string& run_id, const BatchFlags& flags,
                    const std::vector<std::string>& artifacts) {
  ASSIGN_OR_RETURN(RunBatch batch, flags.ToBatch());
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  RETURN_IF_ERROR(opened.tracking->LogBatch(run_id, batch));
  for (const std::string& file : artifacts) {
    ASSIGN_OR_RETURN(tracking::Artifact a, opened.tracking->LogArtifact(
                                               run_id, context.env().current_dir / file, ""));
    context.out() << "artifact " << a.path << " sha256:" << a.digest << " ("
                  << HumanBytes(a.size) << ")\n";
  }
  return absl::OkStatus();
}

absl::Status RunFinish(CliContext& context, const std::string& run_id, const std::string& status) {
  std::optional<tracking::RunStatus> parsed = tracking::ParseRunStatus(status);
  if (!parsed || *parsed == tracking::RunStatus::kRunning) {
    return absl::InvalidArgumentError(
        Cat("--status ", status, ": expected FINISHED, FAILED or KILLED"));
  }
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(tracking::RunInfo run, opened.tracking->SetStatus(run_id, *parsed));
  context.out() << "run " << run.run_id << " " << tracking::RunStatusName(run.status) << "\n";
  return absl::OkStatus();
}

std::string MetricsText(const tracking::Run& run, size_t most) {
  std::string text;
  for (size_t i = 0; i < run.metrics.size() && i < most; ++i) {
    text += Cat(i ? " " : "", run.metrics[i].key, "=",
                tracking::FormatMetricValue(run.metrics[i].value));
  }
  if (run.metrics.size() > most) text += " ...";
  return text;
}

absl::Status RunList(CliContext& context, const tracking::SearchRequest& request, bool as_json) {
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(tracking::SearchPage page, tracking::SearchRuns(*opened.tracking, request));
  if (as_json) {
    json runs = json::array();
    for (const tracking::Run& run : page.runs) runs.push_back(tracking::RunToJson(run));
    context.out() << json{{"runs", runs},
                          {"next_page_token", page.next_page_token.empty()
                                                  ? json(nullptr)
                                                  : json(page.next_page_token)}}
                         .dump()
                  << "\n";
    return absl::OkStatus();
  }
  if (page.runs.empty()) {
    context.out() << "no runs match\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"RUN ID", "EXPERIMENT", "NAME", "STATUS", "STARTED", "METRICS"}};
  for (const tracking::Run& run : page.runs) {
    rows.push_back({run.info.run_id, run.info.experiment_name, run.info.name,
                    std::string(tracking::RunStatusName(run.info.status)),
                    Time(run.info.start_time), MetricsText(run, 4)});
  }
  PrintTable(context.out(), rows);
  if (!page.next_page_token.empty()) {
    context.out() << "more: --page-token " << page.next_page_token << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunShow(CliContext& context, const std::string& run_id, const std::string& metric,
                     bool as_json) {
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(tracking::Run run, opened.tracking->GetRun(run_id));
  std::vector<tracking::MetricPoint> history;
  if (!metric.empty()) {
    ASSIGN_OR_RETURN(history, opened.tracking->MetricHistory(run_id, metric));
  }
  std::ostream& out = context.out();
  if (as_json) {
    json body = tracking::RunToJson(run);
    if (!metric.empty()) {
      json points = json::array();
      for (const auto& p : history) {
        points.push_back({{"value", tracking::MetricValueToJson(p.value)},
                          {"step", p.step},
                          {"timestamp", p.timestamp}});
      }
      body["history"] = {{"key", metric}, {"points", points}};
    }
    out << body.dump() << "\n";
    return absl::OkStatus();
  }
  const tracking::RunInfo& info = run.info;
  out << "run " << info.run_id << "  " << info.name << "\n";
  out << "  experiment " << info.experiment_name << " (" << info.experiment_id << ")\n";
  out << "  status     " << tracking::RunStatusName(info.status) << ", started "
      << Time(info.start_time);
  if (info.end_time) out << ", ended " << Time(*info.end_time);
  out << "\n  host       " << info.host << (info.user.empty() ? "" : Cat(", user ", info.user))
      << "\n";
  if (!info.source_sha256.empty()) {
    out << "  source     " << info.source_name << " sha256:" << info.source_sha256 << "\n";
  }
  for (const auto& p : run.params) out << "  param      " << p.key << " = " << p.value << "\n";
  for (const auto& m : run.metrics) {
    out << "  metric     " << m.key << " = " << tracking::FormatMetricValue(m.value) << " (step "
        << m.step << ", " << run.metric_points[m.key] << " points)\n";
  }
  for (const auto& t : run.tags) out << "  tag        " << t.key << " = " << t.value << "\n";
  for (const auto& i : run.inputs) {
    out << "  input      " << tracking::InputRoleName(i.role) << " " << i.dataset_version
        << " sha256:" << i.content_sha256 << "\n";
  }
  for (const auto& a : run.artifacts) {
    out << "  artifact   " << a.path << " sha256:" << a.digest << " (" << HumanBytes(a.size)
        << ")\n";
  }
  for (const auto& p : history) {
    out << "  " << metric << "@" << p.step << " = " << tracking::FormatMetricValue(p.value) << "  "
        << core::FormatTimestamp(p.timestamp) << "\n";
  }
  return absl::OkStatus();
}

absl::Status ExperimentsList(CliContext& context, bool as_json) {
  ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
  ASSIGN_OR_RETURN(auto experiments, opened.tracking->ListExperiments());
  if (as_json) {
    json out = json::array();
    for (const auto& e : experiments) out.push_back(tracking::ExperimentToJson(e));
    context.out() << out.dump() << "\n";
    return absl::OkStatus();
  }
  if (experiments.empty()) {
    context.out() << "no experiments yet; `ferry runs create --experiment NAME` makes one\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "RUNS", "CREATED", "DESCRIPTION"}};
  for (const auto& e : experiments) {
    rows.push_back({Cat(e.id), e.name, Cat(e.runs), Time(e.created_at), e.description});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

}  // namespace

void AddRunsCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* runs = app.add_subcommand("runs", "Experiment runs: create, log, finish, list, show");
  runs->require_subcommand(1);

  CLI::App* create = runs->add_subcommand("create", "Start a run; prints its id");
  auto options = std::make_shared<tracking::CreateRunOptions>();
  auto create_flags = std::make_shared<BatchFlags>();
  auto source = std::make_shared<std::string>();
  auto create_json = std::make_shared<bool>(false);
  create->add_option("--experiment,-e", options->experiment, "Experiment (created if new)");
  create->add_option("--name,-n", options->name, "Run name (default: run-<id prefix>)");
  create->add_option("--source", *source,
                     "The code or pipeline spec file the run comes from; its SHA-256 is recorded");
  create->add_option("--source-sha256", options->source_sha256,
                     "The SHA-256 of the code (e.g. of a git tree) when not a file");
  create->add_option("--source-name", options->source_name, "What the source hash is of");
  create->add_option("--user", options->user, "Who runs it (default: $USER)");
  create_flags->AddTo(*create);
  create->add_flag("--json", *create_json, "Print the run as JSON");
  create->callback([&context, result, options, create_flags, source, create_json] {
    *result = RunCreate(context, *options, *create_flags, *source, *create_json);
  });

  CLI::App* log = runs->add_subcommand(
      "log", "Log params, metrics, tags, inputs and artifacts into a run (one transaction)");
  auto log_id = std::make_shared<std::string>();
  auto log_flags = std::make_shared<BatchFlags>();
  auto artifacts = std::make_shared<std::vector<std::string>>();
  log->add_option("RUN_ID", *log_id, "The run")->required();
  log_flags->AddTo(*log);
  log->add_option("--artifact,-a", *artifacts, "A file to store as an artifact (repeatable)");
  log->callback([&context, result, log_id, log_flags, artifacts] {
    *result = RunLog(context, *log_id, *log_flags, *artifacts);
  });

  CLI::App* finish = runs->add_subcommand("finish", "End a run");
  auto finish_id = std::make_shared<std::string>();
  auto status = std::make_shared<std::string>("FINISHED");
  finish->add_option("RUN_ID", *finish_id, "The run")->required();
  finish->add_option("--status", *status, "FINISHED (default), FAILED or KILLED");
  finish->callback([&context, result, finish_id, status] {
    *result = RunFinish(context, *finish_id, *status);
  });

  CLI::App* list = runs->add_subcommand("list", "Search runs: filter, order, pages");
  auto request = std::make_shared<tracking::SearchRequest>();
  auto list_json = std::make_shared<bool>(false);
  list->add_option("--experiment,-e", request->experiments, "Only these experiments (repeatable)");
  list->add_option("--filter,-f", request->filter,
                   "e.g. 'metrics.auc > 0.9 and params.max_depth = \"6\"'");
  list->add_option("--order-by,-o", request->order_by,
                   "e.g. 'metrics.auc DESC' (default: start_time DESC)");
  list->add_option("--max", request->max_results, "Runs per page (1-1000, default 100)");
  list->add_option("--page-token", request->page_token, "Continue where a page ended");
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, request, list_json] {
    *result = RunList(context, *request, *list_json);
  });

  CLI::App* show = runs->add_subcommand("show", "Show a run with everything it logged");
  auto show_id = std::make_shared<std::string>();
  auto metric = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show->add_option("RUN_ID", *show_id, "The run")->required();
  show->add_option("--metric", *metric, "Also print this metric's whole series");
  show->add_flag("--json", *show_json, "Print JSON");
  show->callback([&context, result, show_id, metric, show_json] {
    *result = RunShow(context, *show_id, *metric, *show_json);
  });
}

void AddExperimentsCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* experiments = app.add_subcommand("experiments", "Experiments: list, create");
  experiments->require_subcommand(1);
  CLI::App* list = experiments->add_subcommand("list", "List experiments with their run counts");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&context, result, list_json] { *result = ExperimentsList(context, *list_json); });

  CLI::App* create = experiments->add_subcommand("create", "Create an experiment");
  auto name = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  create->add_option("NAME", *name, "Experiment name")->required();
  create->add_option("--description,-d", *description, "What it is for");
  create->callback([&context, result, name, description]() {
    *result = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(OpenedRegistry opened, OpenRegistry(context));
      ASSIGN_OR_RETURN(tracking::Experiment e,
                       opened.tracking->CreateExperiment(*name, *description));
      context.out() << "created experiment " << e.name << " (" << e.id << ")\n";
      return absl::OkStatus();
    }();
  });
}

}  // namespace ferry::cli
