#include "cli/demo_loop.h"

#include <fmt/format.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <thread>

#include "api/routes.h"
#include "cli/demo_files.h"
#include "cli/demo_replay.h"
#include "cli/demo_report.h"
#include "core/file.h"
#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/feature_definitions.h"
#include "features/historical_retrieval.h"
#include "monitoring/monitoring_policy.h"
#include "pipeline/in_process_launcher.h"
#include "pipeline/pipeline_services.h"
#include "server/http_server.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
namespace fs = std::filesystem;
using Stopwatch = std::chrono::steady_clock;

constexpr int64_t kMicrosPerDay = 86'400'000'000;

double SecondsSince(Stopwatch::time_point start) {
  return std::chrono::duration<double>(Stopwatch::now() - start).count();
}

// "01-30 02:15" of a simulated time.
std::string Short(int64_t micros) {
  std::string t = core::FormatTimestamp(micros).substr(5, 11);
  t[5] = ' ';
  return t;
}

std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

class ClosedLoop {
 public:
  ClosedLoop(CliContext& context, const DemoOptions& options)
      : context_(context), out_(context.out()), options_(options) {}
  ~ClosedLoop() {
    if (http_) {
      http_->Shutdown();
      http_->Wait();
    }
  }

  absl::Status Run();

 private:
  absl::Status CreateWorkspace();
  absl::Status StartServer();
  absl::Status LoadData();
  absl::Status TrainFirstModel();
  absl::Status Deploy();
  absl::Status Live();
  absl::Status Report();

  // Narrates what the platform did since the last look: alerts, pipeline runs, rollout
  // events. Returns whether a pipeline run is queued or running.
  absl::StatusOr<bool> Observe();
  absl::Status NarrateRun(const json& run);
  absl::StatusOr<json> Call(std::string_view method, std::string_view target,
                            std::string_view body = {});
  absl::StatusOr<json> WaitForRun(const std::string& id);
  void DayLine(int64_t day_start);

  CliContext& context_;
  std::ostream& out_;
  const DemoOptions options_;
  std::shared_ptr<core::SimulatedClock> clock_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<server::HttpServer> http_;
  std::unique_ptr<server::HttpConnection> api_;
  std::unique_ptr<DemoReplay> replay_;
  int64_t change_at_ = 0;  // when the world changes
  // What Observe has told already.
  std::set<std::string> alerts_told_;
  std::set<std::string> runs_started_told_;
  std::set<std::string> runs_ended_told_;
  std::set<std::string> rollout_events_told_;
  size_t payments_at_day_start_ = 0;
};

absl::StatusOr<json> ClosedLoop::Call(std::string_view method, std::string_view target,
                                      std::string_view body) {
  ASSIGN_OR_RETURN(server::HttpReply reply, api_->Call(method, target, body));
  json parsed = json::parse(reply.body, nullptr, false);
  if (reply.status >= 300) {
    return absl::InternalError(
        Cat(method, " ", target, ": HTTP ", reply.status, " ", reply.body.substr(0, 400)));
  }
  if (parsed.is_discarded()) {
    return absl::InternalError(Cat(method, " ", target, ": not JSON: ", reply.body.substr(0, 200)));
  }
  return parsed;
}

absl::Status ClosedLoop::CreateWorkspace() {
  std::error_code ec;
  if (fs::exists(options_.root / ".ferry", ec)) {
    return absl::AlreadyExistsError(Cat(options_.root.string(),
                                        " already holds a ferry workspace; the demo makes a new "
                                        "one (give another --workspace)"));
  }
  // The clock starts where the history ends: the world's "now".
  const int64_t start = demo::WorldOptions{}.start_micros;
  clock_ = std::make_shared<core::SimulatedClock>(start + options_.history_days * kMicrosPerDay);
  change_at_ = clock_->NowMicros() + options_.change_after_days * kMicrosPerDay;
  { ASSIGN_OR_RETURN(auto created, store::Workspace::Init(options_.root, clock_)); }
  RETURN_IF_ERROR(demo_files::WriteDemoFiles(options_.root));
  ASSIGN_OR_RETURN(workspace_, store::Workspace::Open(options_.root, clock_));
  out_ << "== 1. a new workspace, and a world of card payments\n"
       << "workspace  " << options_.root.string()
       << "  (SQLite metadata, content-addressed objects, RocksDB online store)\n"
       << fmt::format(
              "world      {} customers, {} merchants, seed {}; {} days of history from "
              "2026-01-01, then {} live days on a simulated clock; the world changes "
              "on {}\n",
              Thousands(options_.customers), Thousands(options_.merchants), options_.seed,
              options_.history_days, options_.live_days,
              core::FormatTimestamp(change_at_).substr(0, 10))
       << "files      features.yaml, pipelines/fraud_retrain.yaml, pipelines/canary.yaml, "
          "monitoring.yaml, alerts.yaml\n";
  return absl::OkStatus();
}

absl::Status ClosedLoop::StartServer() {
  auto ready = std::make_shared<std::atomic<bool>>(false);
  api::PipelineRunnerOptions pipelines;
  store::Workspace& workspace = *workspace_;
  pipelines.launcher = [&workspace] {
    pipeline::ExecutorOptions executor;
    executor.actor = "ferry-server";
    return std::make_unique<pipeline::InProcessRunLauncher>(workspace, executor);
  };
  // Heartbeats are written every 5 s of real time, hours apart on the simulated clock;
  // in-process runs are alive while this process is (their pid is ours).
  pipelines.triggers.stale_after = std::chrono::hours(24 * 365);
  ASSIGN_OR_RETURN(std::shared_ptr<server::Router> router,
                   api::BuildRouter(*workspace_, ready, pipelines));
  core::ServerConfig config = workspace_->config().server;
  config.listen = options_.listen;
  // The demo's server asks for no API tokens, so it serves this machine only.
  ASSIGN_OR_RETURN(core::HostPort listen, core::ParseHostPort(config.listen));
  if (!core::IsLoopbackHost(listen.host)) {
    return absl::InvalidArgumentError(core::Cat(
        "--listen ", config.listen, ": the demo's server requires no API tokens, so it listens"
        " on a loopback address only (e.g. 127.0.0.1:8080); use `ferry server` to serve others"));
  }
  ASSIGN_OR_RETURN(http_, server::HttpServer::Create(
                              config, router, std::make_shared<server::AllowAllAuthorizer>()));
  RETURN_IF_ERROR(http_->Start());
  ready->store(true);
  api_ = std::make_unique<server::HttpConnection>("127.0.0.1", http_->port(),
                                                  std::chrono::seconds(120));
  out_ << "server     http://127.0.0.1:" << http_->port()
       << " (this process; every step below goes through its HTTP API)\n";
  return absl::OkStatus();
}

absl::Status ClosedLoop::LoadData() {
  out_ << "\n== 2. data: the history, versioned; features defined\n";
  ReplayOptions replay;
  replay.data_dir = options_.root / "data";
  replay.port = http_->port();
  replay.world.customers = options_.customers;
  replay.world.merchants = options_.merchants;
  replay.world.seed = options_.seed;
  replay.world.drift_day = options_.history_days + options_.change_after_days;
  replay.history_days = options_.history_days;
  auto start = Stopwatch::now();
  ASSIGN_OR_RETURN(replay_, DemoReplay::Create(replay, clock_));
  const demo::GeneratedWorld& h = replay_->history();
  out_ << fmt::format(
      "generated  {} payments ({} fraud, {:.2f}%), {} customer and {} merchant daily "
      "aggregates ({:.1f} MiB) in {:.2f} s\n",
      Thousands(h.transactions), Thousands(h.fraud),
      h.transactions ? 100.0 * h.fraud / h.transactions : 0.0, Thousands(h.customer_rows),
      Thousands(h.merchant_rows), h.bytes / 1048576.0, SecondsSince(start));
  start = Stopwatch::now();
  RETURN_IF_ERROR(replay_->UploadHistory());
  for (const char* name : {"transactions", "customer_daily", "merchant_daily"}) {
    ASSIGN_OR_RETURN(json v, Call("GET", Cat("/api/v1/datasets/", name, "/versions/latest")));
    out_ << fmt::format("POST /api/v1/datasets/{}/versions -> {}@{}  {} rows  sha256:{}\n", name,
                        name, JsonInt(v, "version"), Thousands(JsonInt(v, "rows")),
                        JsonText(v, "content_sha256").substr(0, 16));
  }
  out_ << fmt::format("           uploaded, chunked, deduplicated and profiled in {:.2f} s\n",
                      SecondsSince(start));

  // The definitions, as `ferry features apply features.yaml` applies them.
  start = Stopwatch::now();
  ASSIGN_OR_RETURN(auto services, pipeline::PipelineServices::Open(*workspace_, options_.root));
  ASSIGN_OR_RETURN(std::string yaml,
                   core::ReadFileToString(options_.root / demo_files::kFeaturesFile, 1 << 20));
  ASSIGN_OR_RETURN(features::FeatureDefinitions definitions,
                   features::ParseFeatureDefinitions(yaml, std::string(demo_files::kFeaturesFile)));
  ASSIGN_OR_RETURN(auto changes, services->features->Apply(definitions, {}));
  RETURN_IF_ERROR(
      features::PrepareFeatureTables(*workspace_, *services->datasets, *services->features)
          .status());
  out_ << fmt::format(
      "ferry features apply features.yaml: {} definitions (entities customer, "
      "merchant; views customer_daily, merchant_daily; service {}), join tables "
      "sorted in {:.2f} s\n",
      changes.size(), demo_files::kService, SecondsSince(start));
  return absl::OkStatus();
}

absl::StatusOr<json> ClosedLoop::WaitForRun(const std::string& id) {
  while (true) {
    ASSIGN_OR_RETURN(json run, Call("GET", Cat("/api/v1/pipeline-runs/", id)));
    const std::string state = JsonText(run, "state");
    if (state != "queued" && state != "running") return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

absl::Status ClosedLoop::TrainFirstModel() {
  out_ << "\n== 3. the training pipeline: the first model\n";
  ASSIGN_OR_RETURN(auto services, pipeline::PipelineServices::Open(*workspace_, options_.root));
  const fs::path file = options_.root / demo_files::kPipelineFile;
  ASSIGN_OR_RETURN(std::string yaml, core::ReadFileToString(file, 1 << 20));
  pipeline::AppliedPipeline applied;
  applied.name = std::string(demo_files::kPipeline);
  applied.source = std::string(demo_files::kPipelineFile);
  applied.spec = yaml;
  applied.spec_dir = file.parent_path().string();
  applied.applied_by = "demo";
  RETURN_IF_ERROR(pipeline::ParsePipelineSpec(yaml, applied.source).status());
  ASSIGN_OR_RETURN(applied, services->runs->Apply(applied));
  out_ << "ferry pipeline apply pipelines/fraud_retrain.yaml: 6 steps; triggers: alert "
       << demo_files::kQualityAlert << ", manual\n";
  ASSIGN_OR_RETURN(json started,
                   Call("POST", "/api/v1/pipelines/fraud_retrain/runs", R"({"actor": "demo"})"));
  out_ << "POST /api/v1/pipelines/fraud_retrain/runs -> " << JsonText(started, "outcome") << " run "
       << JsonInt(started["run"], "number") << "\n";
  ASSIGN_OR_RETURN(json run, WaitForRun(started["run"]["id"].get<std::string>()));
  RETURN_IF_ERROR(NarrateRun(run));
  runs_started_told_.insert(run["id"].get<std::string>());
  runs_ended_told_.insert(run["id"].get<std::string>());
  if (JsonText(run, "state") != "succeeded") {
    return absl::AbortedError(
        Cat("the first pipeline run ", JsonText(run, "state"), ": ", JsonText(run, "error")));
  }
  return absl::OkStatus();
}

absl::Status ClosedLoop::NarrateRun(const json& run) {
  out_ << fmt::format("pipeline run {} ({}) {}", JsonInt(run, "number"), JsonText(run, "trigger"),
                      JsonText(run, "state"));
  if (!JsonText(run, "error").empty()) out_ << ": " << JsonText(run, "error");
  out_ << "\n";
  for (const json& step : run["steps"]) {
    std::string note = JsonText(step, "note");
    if (const size_t nl = note.find('\n'); nl != std::string::npos) note.resize(nl);
    std::string error = JsonText(step, "error");
    if (const size_t nl = error.find('\n'); nl != std::string::npos) error.resize(nl);
    out_ << fmt::format("  {:<13} {:<10} {}\n", JsonText(step, "step"), JsonText(step, "state"),
                        error.empty() ? note : error);
  }
  return absl::OkStatus();
}

absl::Status ClosedLoop::Deploy() {
  out_ << "\n== 4. production\n";
  ASSIGN_OR_RETURN(json alias, Call("PUT", "/api/v1/models/fraud/aliases/production",
                                    R"({"version": 1, "actor": "demo", "reason": "first model"})"));
  out_ << "PUT /api/v1/models/fraud/aliases/production -> fraud@1\n";
  ASSIGN_OR_RETURN(std::string policy_yaml,
                   core::ReadFileToString(options_.root / demo_files::kMonitoringFile, 1 << 20));
  ASSIGN_OR_RETURN(monitoring::MonitoringPolicy policy,
                   monitoring::ParseMonitoringPolicyYaml(policy_yaml, demo_files::kMonitoringFile));
  // A customer or merchant without a payment in the last 30 days has no aggregates: the
  // model gets them as missing, as it saw them in training.
  const json deploy = {{"model", "fraud@production"},
                       {"missing_features", "missing"},
                       {"monitoring", monitoring::MonitoringPolicyToJson(policy)},
                       {"actor", "demo"}};
  RETURN_IF_ERROR(Call("PUT", "/api/v1/endpoints/fraud", deploy.dump()).status());
  out_ << "PUT /api/v1/endpoints/fraud {\"model\": \"fraud@production\", "
          "\"missing_features\": \"missing\", \"monitoring\": monitoring.yaml}\n";
  ASSIGN_OR_RETURN(std::string rules,
                   core::ReadFileToString(options_.root / demo_files::kAlertsFile, 1 << 20));
  RETURN_IF_ERROR(Call("PUT", "/api/v1/alerts/rules", rules).status());
  out_ << "PUT /api/v1/alerts/rules alerts.yaml: " << demo_files::kDriftAlert << ", "
       << demo_files::kQualityAlert << " (its action triggers the pipeline)\n";
  auto start = Stopwatch::now();
  ASSIGN_OR_RETURN(json materialized, Call("POST", "/api/v1/features/materialize", "{}"));
  uint64_t keys = 0;
  for (const json& view : materialized.value("views", json::array())) {
    keys += JsonInt(view, "keys_written");
  }
  out_ << fmt::format(
      "POST /api/v1/features/materialize -> {} entity keys in the online store "
      "in {:.2f} s\n",
      Thousands(keys), SecondsSince(start));
  // Ready once the endpoint has loaded the model.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(json endpoint, Call("GET", "/api/v1/endpoints/fraud"));
    if (JsonText(endpoint, "state") == "READY") {
      out_ << "endpoint fraud READY: fraud@1, " << JsonText(endpoint, "evaluator")
           << "; requests give the entity keys, every input comes from the online store\n";
      break;
    }
    if (attempt > 200) {
      return absl::DeadlineExceededError(Cat("endpoint fraud is not ready: ", endpoint.dump()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();
}

void ClosedLoop::DayLine(int64_t day_start) {
  const std::vector<ServedPayment>& payments = replay_->payments();
  double p99 = 0;
  std::vector<float> latencies;
  uint64_t fraud = 0;
  for (size_t i = payments_at_day_start_; i < payments.size(); ++i) {
    latencies.push_back(payments[i].latency_ms);
    fraud += payments[i].fraud ? 1 : 0;
  }
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) p99 = latencies[latencies.size() * 99 / 100];
  std::string monitored = "monitoring: -";
  absl::StatusOr<json> report = Call("GET", "/api/v1/deployments/fraud/monitoring");
  if (report.ok() && !(*report)["models"].empty()) {
    const json& m = (*report)["models"][0];
    const json& drift = m["drift"];
    const json& quality = m["quality"];
    std::string auc = "-";
    if (quality.contains("metrics") && quality["metrics"].contains("auc") &&
        quality["metrics"]["auc"].is_number()) {
      auc = fmt::format("{:.3f}", quality["metrics"]["auc"].get<double>());
    }
    monitored =
        fmt::format("fraud@{}: {}/{} features drifted, live AUC {} ({} labels)",
                    JsonInt(m, "version"), JsonInt(drift, "features_drifted"),
                    JsonInt(drift, "features_with_verdict"), auc, JsonInt(quality, "labeled"));
  }
  out_ << fmt::format("{}  {:>6} payments, {:>4.1f}% fraud, p99 {:.2f} ms   {}\n",
                      core::FormatTimestamp(day_start).substr(0, 10),
                      Thousands(payments.size() - payments_at_day_start_),
                      latencies.empty() ? 0.0 : 100.0 * fraud / latencies.size(), p99, monitored);
  payments_at_day_start_ = payments.size();
}

absl::StatusOr<bool> ClosedLoop::Observe() {
  const int64_t now = clock_->NowMicros();
  // Alerts that started firing.
  ASSIGN_OR_RETURN(json alerts, Call("GET", "/api/v1/alerts"));
  for (const json& rule : alerts["rules"]) {
    for (const json& alert : rule["alerts"]) {
      if (JsonText(alert, "state") != "firing") continue;
      const std::string key =
          Cat(JsonText(rule, "name"), JsonText(alert, "fired_at"), JsonText(alert, "fingerprint"));
      if (!alerts_told_.insert(key).second) continue;
      std::string summary;
      if (alert["annotations"].contains("summary")) {
        summary = alert["annotations"]["summary"].get<std::string>();
      }
      out_ << fmt::format("{}  ALERT {} firing (value {:.4g}): {}\n", Short(now),
                          JsonText(rule, "name"), JsonNumber(alert, "value"), summary);
      if (JsonText(rule, "name") == demo_files::kDriftAlert) {
        absl::StatusOr<json> report = Call("GET", "/api/v1/deployments/fraud/monitoring");
        if (report.ok() && !(*report)["models"].empty()) {
          std::string drifted;
          for (const json& f : (*report)["models"][0]["drift"].value("features", json::array())) {
            if (!(f.contains("drifted") && f["drifted"].is_boolean() && f["drifted"].get<bool>()))
              continue;
            drifted +=
                fmt::format("{}{} ({} {:.3g})", drifted.empty() ? "" : ", ", JsonText(f, "name"),
                            JsonText(f, "method"), JsonNumber(f, "statistic"));
          }
          if (!drifted.empty()) out_ << "               drifted: " << drifted << "\n";
        }
      }
    }
  }
  // Pipeline runs the triggers started.
  ASSIGN_OR_RETURN(json runs, Call("GET", "/api/v1/pipelines/fraud_retrain/runs?limit=5"));
  bool in_flight = false;
  for (const json& run : runs["runs"]) {
    const std::string id = JsonText(run, "id");
    const std::string state = JsonText(run, "state");
    if (runs_started_told_.insert(id).second) {
      std::string inputs;
      for (const auto& [name, value] : run["inputs"].items()) {
        inputs += Cat(inputs.empty() ? "" : ", ", JsonText(value, "ref"));
      }
      out_ << fmt::format("{}  pipeline run {} started by {} {} on {}\n", Short(now),
                          JsonInt(run, "number"), JsonText(run, "trigger"),
                          JsonText(run, "trigger_detail"), inputs);
    }
    if (state == "queued" || state == "running") {
      in_flight = true;
    } else if (runs_ended_told_.insert(id).second) {
      ASSIGN_OR_RETURN(json full, Call("GET", Cat("/api/v1/pipeline-runs/", id)));
      out_ << Short(now) << "  ";
      RETURN_IF_ERROR(NarrateRun(full));
    }
  }
  // Rollout events.
  absl::StatusOr<json> rollout = Call("GET", "/api/v1/endpoints/fraud/rollout");
  if (rollout.ok()) {
    std::vector<json> events((*rollout)["events"].begin(), (*rollout)["events"].end());
    std::sort(events.begin(), events.end(),
              [](const json& a, const json& b) { return JsonInt(a, "seq") < JsonInt(b, "seq"); });
    for (const json& e : events) {
      const std::string key = Cat(JsonInt(e, "rollout_id"), ":", JsonInt(e, "seq"));
      if (!rollout_events_told_.insert(key).second) continue;
      out_ << fmt::format("{}  canary {} {}% by {}: {}\n", Short(now), JsonText(e, "type"),
                          JsonInt(e, "weight"), JsonText(e, "actor"), JsonText(e, "reason"));
      // The figures behind a decision: each check of the analysis.
      const std::string type = JsonText(e, "type");
      if (type != "advanced" && type != "promoted" && type != "rolled_back") continue;
      const json figures = e.value("figures", json::object());
      for (const json& check : figures.value("checks", json::array())) {
        out_ << fmt::format("               {} {}: {}\n", JsonText(check, "name"),
                            JsonText(check, "outcome"), JsonText(check, "detail"));
      }
    }
  }
  return in_flight;
}

absl::Status ClosedLoop::Live() {
  out_ << fmt::format(
      "\n== 5. live: each payment pushed to the online store and scored by its keys over "
      "HTTP, labels {}-{} h later, exports every 6 h (simulated clock, {} min per step)\n",
      1, 4, options_.tick.count());
  const int64_t start = clock_->NowMicros();
  const int64_t end = start + options_.live_days * kMicrosPerDay;
  const auto tick = std::chrono::duration_cast<std::chrono::microseconds>(options_.tick).count();
  int64_t next_day = start + kMicrosPerDay;
  bool change_told = false;
  int64_t target = start;
  while (target < end) {
    const auto step_start = Stopwatch::now();
    ASSIGN_OR_RETURN(bool in_flight, Observe());
    if (in_flight) {
      // The world waits while a pipeline runs: the simulated clock flows at real speed
      // meanwhile, so its steps show their real durations.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    target = std::min(end, std::max(target, clock_->NowMicros()) + tick);
    const auto day_lines = [&] {
      while (clock_->NowMicros() >= next_day) {
        DayLine(next_day - kMicrosPerDay);
        next_day += kMicrosPerDay;
      }
    };
    if (!change_told && target > change_at_) {
      RETURN_IF_ERROR(replay_->AdvanceTo(change_at_));
      day_lines();
      out_ << Short(change_at_)
           << "  THE WORLD CHANGES: spending shifts (larger amounts, more online) and fraud "
              "takes a new form\n";
      change_told = true;
    }
    RETURN_IF_ERROR(replay_->AdvanceTo(target));
    day_lines();
    const auto spent = Stopwatch::now() - step_start;
    if (spent < options_.min_step) std::this_thread::sleep_for(options_.min_step - spent);
  }
  // Labels still due and the last analyses: let the server look once more.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RETURN_IF_ERROR(Observe().status());
  const ReplayCounters& c = replay_->counters();
  out_ << fmt::format(
      "replayed   {} payments ({} failed), {} labels fed back, {} dataset "
      "versions exported\n",
      Thousands(c.requests), Thousands(c.failed_requests), Thousands(c.labels_sent), c.exports);
  if (!c.first_failure.empty()) out_ << "first failure: " << c.first_failure << "\n";
  return absl::OkStatus();
}

absl::Status ClosedLoop::Report() {
  ASSIGN_OR_RETURN(auto services, pipeline::PipelineServices::Open(*workspace_, options_.root));
  DemoFacts facts;
  facts.live_start = replay_->live_start_micros();
  facts.change_at = change_at_;
  facts.live_end = replay_->live_start_micros() + options_.live_days * kMicrosPerDay;
  facts.counters = replay_->counters();
  facts.payments = &replay_->payments();
  ASSIGN_OR_RETURN(DemoRecord record, ReadDemoRecord(*api_));
  out_ << "\n== 6. timeline (read back from the metadata store)\n";
  PrintTimeline(out_, record, facts);
  out_ << "\n== 7. lineage of the production model\n";
  RETURN_IF_ERROR(PrintProductionLineage(out_, *workspace_, *services));
  out_ << "\n== 8. summary\n";
  PrintSummary(out_, record, facts);
  out_ << "\n== checks\n";
  const std::vector<LoopCheck> checks = CheckLoop(record, facts);
  std::string failed;
  for (const LoopCheck& c : checks) {
    out_ << (c.passed ? "  ok    " : "  FAIL  ") << c.name << ": " << c.detail << "\n";
    if (!c.passed) failed += Cat(failed.empty() ? "" : "; ", c.name);
  }
  if (!failed.empty()) {
    return absl::FailedPreconditionError(Cat("the loop did not close: ", failed));
  }
  return absl::OkStatus();
}

absl::Status ClosedLoop::Run() {
  const auto start = Stopwatch::now();
  RETURN_IF_ERROR(CreateWorkspace());
  RETURN_IF_ERROR(StartServer());
  RETURN_IF_ERROR(LoadData());
  RETURN_IF_ERROR(TrainFirstModel());
  RETURN_IF_ERROR(Deploy());
  RETURN_IF_ERROR(Live());
  const absl::Status report = Report();
  out_ << fmt::format("\ndemo took {:.0f} s; workspace kept at {}\n", SecondsSince(start),
                      options_.root.string());
  if (options_.keep_serving) {
    out_ << "serving on http://127.0.0.1:" << http_->port()
         << " until Ctrl-C (try: curl -s localhost:" << http_->port()
         << "/api/v1/deployments/fraud/monitoring)" << std::endl;
    RETURN_IF_ERROR(http_->RunUntilSignal());
  }
  return report;
}

}  // namespace

absl::Status RunClosedLoopDemo(CliContext& context, const DemoOptions& options) {
  ClosedLoop loop(context, options);
  return loop.Run();
}

}  // namespace ferry::cli
