#include "pipeline/pipeline_executor.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/file.h"
#include "core/host.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/step_process.h"
#include "pipeline/store_step_context.h"
#include "registry/model_registry.h"
#include "store/object_store.h"
#include "store/workspace.h"

namespace ferry::pipeline {
namespace {

using core::Cat;
using nlohmann::json;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kMaxDepBytes = uint64_t{256} << 20;  // a dependency file hashed for the key
constexpr size_t kMaxMetricsFileBytes = 4 << 20;
constexpr size_t kStderrTailBytes = 600;
constexpr auto kHeartbeatEvery = std::chrono::seconds(5);
constexpr auto kMaxRetryDelay = std::chrono::seconds(60);

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

tracking::InputRole RoleOf(std::string_view input) {
  if (input == "validation" || input == "valid") return tracking::InputRole::kValidation;
  if (input == "test") return tracking::InputRole::kTest;
  return tracking::InputRole::kTrain;
}

// The last bytes of a file, on whole lines, for an error message.
std::string Tail(const fs::path& file) {
  absl::StatusOr<std::string> text = core::ReadFileToString(file, 64 << 20);
  if (!text.ok() || text->empty()) return "";
  std::string_view view(*text);
  while (!view.empty() && (view.back() == '\n' || view.back() == '\r')) view.remove_suffix(1);
  if (view.size() > kStderrTailBytes) {
    view = view.substr(view.size() - kStderrTailBytes);
    if (const size_t nl = view.find('\n'); nl != std::string_view::npos) view.remove_prefix(nl + 1);
  }
  return std::string(view);
}

// Files named by the words of a command that exist under `dir` (scripts, configs): their
// contents belong in the step's cache key, as DVC's deps.
std::vector<std::string> FilesNamedBy(std::string_view command, const fs::path& dir) {
  std::vector<std::string> out;
  std::istringstream words{std::string(command)};
  std::string word;
  while (words >> word) {
    if (const size_t eq = word.find('='); eq != std::string::npos) word = word.substr(eq + 1);
    while (!word.empty() && (word.front() == '"' || word.front() == '\'')) word.erase(0, 1);
    while (!word.empty() && (word.back() == '"' || word.back() == '\'' || word.back() == ';')) {
      word.pop_back();
    }
    if (word.empty() || word.front() == '/' || word.find("..") != std::string::npos ||
        word.front() == '-') {
      continue;
    }
    std::error_code ec;
    if (fs::is_regular_file(dir / word, ec)) out.push_back(word);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// metrics.json: {"name": number, "name": [numbers] (a series by step)}.
absl::StatusOr<std::vector<tracking::MetricPoint>> ReadMetricsFile(const fs::path& file,
                                                                   std::string_view step) {
  std::vector<tracking::MetricPoint> points;
  std::error_code ec;
  if (!fs::exists(file, ec)) return points;
  ASSIGN_OR_RETURN(std::string text, core::ReadFileToString(file, kMaxMetricsFileBytes));
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(
        Cat("step ", step, ": metrics.json is not a JSON object of metric names to numbers"));
  }
  for (const auto& [key, value] : parsed.items()) {
    RETURN_IF_ERROR(tracking::ValidateKey("metric", key));
    if (value.is_number()) {
      points.push_back({key, value.get<double>(), 0, 0});
    } else if (value.is_array()) {
      int64_t index = 0;
      for (const json& item : value) {
        if (!item.is_number()) {
          return absl::InvalidArgumentError(
              Cat("step ", step, ": metrics.json: \"", key, "\" holds a non-number"));
        }
        points.push_back({key, item.get<double>(), index++, 0});
      }
    } else {
      return absl::InvalidArgumentError(Cat("step ", step, ": metrics.json: \"", key,
                                            "\" is neither a number nor a list of numbers"));
    }
  }
  if (points.size() > tracking::RunBatch::kMaxBatchMetrics) {
    return absl::InvalidArgumentError(Cat("step ", step, ": metrics.json holds ", points.size(),
                                          " points, more than ",
                                          tracking::RunBatch::kMaxBatchMetrics));
  }
  return points;
}

// `${params.NAME}` is pasted into `run` commands, which /bin/sh reads: a value given for
// a run (`--param`, the API, a trigger) that a command uses must be one plain word, or it
// could add commands of its own ("1; rm -rf ~"). The spec's own defaults are the author's
// commands and pass as written.
absl::Status CheckCommandParam(const PipelineSpec& spec, const std::string& key,
                               std::string_view value) {
  if (value == spec.params.at(key)) return absl::OkStatus();
  constexpr std::string_view kPunctuation = "._-+,:/=@%";
  const bool plain = std::all_of(value.begin(), value.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           kPunctuation.find(c) != std::string_view::npos;
  });
  if (plain) return absl::OkStatus();
  const std::string ref = Cat("${params.", key, "}");
  for (const StepSpec& step : spec.steps) {
    if (step.uses || step.run.find(ref) == std::string::npos) continue;
    return absl::InvalidArgumentError(
        Cat("param ", key, ": \"", value.substr(0, 64), value.size() > 64 ? "..." : "",
            "\" goes into the command of step ", step.id,
            ", so it may only hold letters, digits"
            " and . _ - + , : / = @ % (other text reaches a command safely through the step's"
            " params, as $FERRY_PARAM_ variables)"));
  }
  return absl::OkStatus();
}

bool Ended(StepState s) { return s != StepState::kPending && s != StepState::kRunning; }

}  // namespace

std::string StepVariable(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  for (char ch : name) {
    out += std::isalnum(static_cast<unsigned char>(ch))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch)))
               : '_';
  }
  return out;
}

absl::Status EndAbandonedRun(PipelineRunStore& runs, tracking::TrackingStore& tracking,
                             std::string_view id, RunState state, std::string_view error) {
  ASSIGN_OR_RETURN(RunRecord run, runs.GetRun(id));
  const tracking::RunStatus ended =
      state == RunState::kCancelled ? tracking::RunStatus::kKilled : tracking::RunStatus::kFailed;
  const int64_t now = runs.workspace().clock().NowMicros();
  for (StepRecord& step : run.steps) {
    if (step.state != StepState::kRunning && step.state != StepState::kPending) continue;
    const bool was_running = step.state == StepState::kRunning;
    step.state =
        state == RunState::kCancelled || !was_running ? StepState::kCancelled : StepState::kFailed;
    step.error = std::string(error);
    step.ended_at = now;
    RETURN_IF_ERROR(runs.PutStep(run.id, step));
    // A step's tracking run that already ended keeps its status (SetStatus refuses).
    if (!step.tracking_run.empty()) (void)tracking.SetStatus(step.tracking_run, ended);
  }
  if (!run.tracking_run.empty()) (void)tracking.SetStatus(run.tracking_run, ended);
  return runs.EndRun(run.id, state, error);
}

absl::StatusOr<RunInvocation> InvocationOf(const std::string& yaml, const std::string& source,
                                           const std::filesystem::path& dir) {
  RunInvocation invocation;
  ASSIGN_OR_RETURN(invocation.spec, ParsePipelineSpec(yaml, source));
  invocation.spec_yaml = yaml;
  invocation.source = source;
  invocation.spec_dir = dir;
  return invocation;
}

absl::StatusOr<RunInvocation> QueuedInvocation(const RunRecord& queued) {
  ASSIGN_OR_RETURN(RunInvocation invocation,
                   InvocationOf(queued.spec, queued.source, queued.spec_dir));
  invocation.queued_run = queued.id;
  invocation.force = queued.force;
  invocation.params = queued.params;
  return invocation;
}

absl::StatusOr<std::map<std::string, std::string>> RunParams(
    const PipelineSpec& spec, const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> out = spec.params;
  for (const auto& [key, value] : overrides) {
    if (!spec.params.contains(key)) {
      std::string declared;
      for (const auto& [name, unused] : spec.params)
        declared += Cat(declared.empty() ? "" : ", ", name);
      return absl::InvalidArgumentError(
          Cat("pipeline ", spec.name, " declares no param \"", key,
              "\" (its params: ", declared.empty() ? "none" : declared, ")"));
    }
    RETURN_IF_ERROR(CheckCommandParam(spec, key, value));
    out[key] = value;
  }
  return out;
}

// One step's execution inside a run.
struct PipelineExecutor::StepJob {
  const StepSpec* spec = nullptr;
  StepRecord record;
  SteadyClock::time_point started;
};

// The state of one Execute call.
class PipelineExecutor::Run {
 public:
  Run(PipelineExecutor& executor, const RunInvocation& invocation)
      : x_(executor), inv_(invocation), spec_(invocation.spec) {}

  absl::StatusOr<ExecutionResult> Go();

 private:
  absl::Status Prepare();
  absl::Status PinInputs();
  void Schedule();
  void RunStep(StepJob& job);
  // Runs the step's attempts, filling job.record's outputs, note and error (not its
  // state, which the scheduler reads: the caller sets it under the lock).
  StepState Attempts(StepJob& job, const std::map<std::string, StepValue>& inputs,
                     const std::map<std::string, std::string>& params, const std::string& command);
  absl::StatusOr<StepOutcome> RunCommand(StoreStepContext& context, const std::string& command,
                                         int attempt, std::chrono::seconds timeout);
  absl::StatusOr<std::string> CacheKey(const StepSpec& step,
                                       const std::map<std::string, StepValue>& inputs,
                                       const std::map<std::string, std::string>& params,
                                       const std::string& command) const;
  // Whether every output of a cache entry still exists with its content.
  bool OutputsStillThere(const std::map<std::string, StepValue>& outputs) const;
  absl::StatusOr<std::string> CreateStepRun(const StepSpec& step,
                                            const std::map<std::string, StepValue>& inputs,
                                            const std::map<std::string, std::string>& params,
                                            const std::string& command);
  void Emit(ProgressEvent event) {
    if (!x_.progress_) return;
    std::lock_guard lock(progress_mu_);
    x_.progress_(event);
  }
  bool Cancelled() const { return cancelled_.load(); }
  void PollCancel();
  std::map<std::string, std::string> StepParams(const StepSpec& step) const;

  PipelineExecutor& x_;
  const RunInvocation& inv_;
  const PipelineSpec& spec_;
  RunRecord run_;
  std::map<std::string, std::string> params_;
  std::map<std::string, StepValue> pinned_;  // dataset inputs as written -> pinned
  std::vector<StepJob> jobs_;                // in the spec's order
  std::mutex mu_;                            // guards jobs_' records and running_
  std::condition_variable changed_;
  int running_ = 0;
  std::atomic<bool> cancelled_{false};
  std::mutex progress_mu_;
  std::vector<std::thread> threads_;
  int jobs_limit_ = 1;
  int step_threads_ = 1;
};

PipelineExecutor::PipelineExecutor(StepServices& services, PipelineRunStore& runs,
                                   ExecutorOptions options, ProgressSink progress)
    : services_(services),
      runs_(runs),
      options_(std::move(options)),
      progress_(std::move(progress)) {}

absl::StatusOr<ExecutionResult> PipelineExecutor::Execute(const RunInvocation& invocation) {
  cancel_.store(false);
  Run run(*this, invocation);
  return run.Go();
}

absl::Status PipelineExecutor::Run::PinInputs() {
  std::set<std::string> refs;
  for (const StepSpec& step : spec_.steps) {
    for (const auto& [name, ref] : step.inputs) {
      if (!ref.is_step()) refs.insert(ref.ToString());
    }
  }
  for (const std::string& text : refs) {
    if (inv_.reproduce) {
      const auto it = inv_.reproduce->inputs.find(text);
      if (it == inv_.reproduce->inputs.end()) {
        return absl::DataLossError(
            Cat("the run to reproduce recorded no version for its input ", text));
      }
      pinned_[text] = it->second;
      continue;
    }
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(text));
    absl::StatusOr<dataset::VersionRecord> version = x_.services_.datasets.Resolve(ref);
    if (!version.ok()) {
      return absl::Status(version.status().code(),
                          Cat("pipeline ", spec_.name, ": input ", text, ": ",
                              core::View(version.status().message())));
    }
    pinned_[text] = StepValue{ValueKind::kDataset, version->Ref(), version->content_sha256, ""};
  }
  return absl::OkStatus();
}

absl::Status PipelineExecutor::Run::Prepare() {
  if (inv_.reproduce) {
    params_ = inv_.reproduce->params;
  } else {
    ASSIGN_OR_RETURN(params_, RunParams(spec_, inv_.params));
  }
  RETURN_IF_ERROR(PinInputs());
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  jobs_limit_ = x_.options_.jobs > 0 ? x_.options_.jobs : cores;
  // Each step's share of the cores: all of them when steps run one at a time, else the
  // cores over the steps that may run at once (the widest level, at most `jobs`), so
  // parallel training steps do not oversubscribe the machine -- OpenMP's spinning
  // threads (libxgboost's) slow down many times over when they do.
  size_t widest = 1;
  for (const auto& level : StepLevels(spec_)) widest = std::max(widest, level.size());
  step_threads_ = std::max(1, cores / std::min(jobs_limit_, static_cast<int>(widest)));

  if (inv_.queued_run.empty()) {
    NewRun request;
    request.pipeline = spec_.name;
    request.spec = inv_.spec_yaml;
    request.source = inv_.source;
    request.spec_dir = inv_.spec_dir.string();
    request.params = params_;
    request.trigger = inv_.reproduce ? "reproduce" : inv_.trigger;
    request.trigger_detail = inv_.reproduce ? inv_.reproduce->id : inv_.trigger_detail;
    request.actor = x_.options_.actor;
    request.reproduce_of = inv_.reproduce ? inv_.reproduce->id : "";
    request.force = inv_.force;
    ASSIGN_OR_RETURN(run_, x_.runs_.CreateRun(request));
  } else {
    ASSIGN_OR_RETURN(run_, x_.runs_.GetRun(inv_.queued_run));
  }

  tracking::CreateRunOptions parent;
  parent.experiment = spec_.name;
  parent.name = Cat(spec_.name, "#", run_.number);
  parent.source_name = inv_.source;
  parent.source_sha256 = run_.spec_sha256;
  parent.user = x_.options_.actor;
  for (const auto& [key, value] : params_) parent.initial.params.push_back({key, value});
  parent.initial.tags = {{"ferry.pipeline", spec_.name},
                         {"ferry.pipeline_run", run_.id},
                         {"ferry.trigger", run_.trigger}};
  ASSIGN_OR_RETURN(tracking::RunInfo parent_run, x_.services_.tracking.CreateRun(parent));
  if (absl::Status started =
          x_.runs_.StartRun(run_.id, pinned_, parent_run.run_id, core::HostName(), ::getpid());
      !started.ok()) {
    (void)x_.services_.tracking.SetStatus(parent_run.run_id, tracking::RunStatus::kFailed);
    return started;
  }
  run_.tracking_run = parent_run.run_id;
  run_.state = RunState::kRunning;
  run_.inputs = pinned_;

  jobs_.resize(spec_.steps.size());
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    jobs_[i].spec = &spec_.steps[i];
    jobs_[i].record.step = spec_.steps[i].id;
    RETURN_IF_ERROR(x_.runs_.PutStep(run_.id, jobs_[i].record));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> PipelineExecutor::Run::StepParams(const StepSpec& step) const {
  std::map<std::string, std::string> out;
  if (step.uses) out = BuiltinDefaultParams(*step.uses);
  for (const auto& [key, value] : step.params) {
    // Validated at parse time against the spec's params, which params_ holds.
    absl::StatusOr<std::string> substituted = SubstituteParams(value, params_);
    out[key] = substituted.ok() ? *substituted : value;
  }
  return out;
}

void PipelineExecutor::Run::PollCancel() {
  if (x_.cancel_.load() ||
      (x_.options_.interrupted != nullptr && x_.options_.interrupted->load())) {
    cancelled_.store(true);
    return;
  }
  absl::StatusOr<bool> requested = x_.runs_.CancelRequested(run_.id);
  if (requested.ok() && *requested) cancelled_.store(true);
}

absl::StatusOr<ExecutionResult> PipelineExecutor::Run::Go() {
  const auto start = SteadyClock::now();
  if (absl::Status prepared = Prepare(); !prepared.ok()) {
    // A queued run that cannot start ends failed, with the reason -- unless it is no
    // longer queued: cancelled meanwhile, or taken by another executor, whose run it is.
    const std::string id = !run_.id.empty() ? run_.id : inv_.queued_run;
    if (!id.empty()) {
      absl::StatusOr<RunRecord> now = x_.runs_.GetRun(id);
      if (now.ok() && now->state == RunState::kQueued) {
        (void)x_.runs_.EndRun(id, RunState::kFailed, core::View(prepared.message()));
      }
    }
    return prepared;
  }
  Emit({ProgressEvent::Kind::kRunStarted, "", StepState::kPending, 0, "", 0, &run_});
  Schedule();
  for (std::thread& t : threads_) t.join();
  std::error_code ec;  // each attempt removed its own folder; the run's goes too
  fs::remove_all(x_.services_.workspace.ferry_dir() / "pipelines" / "work" / run_.id, ec);

  bool failed = false;
  bool cancelled = Cancelled();
  std::string first_error;
  for (const StepJob& job : jobs_) {
    if (job.record.state == StepState::kFailed || job.record.state == StepState::kUpstreamFailed) {
      failed = true;
      if (first_error.empty() && !job.record.error.empty()) {
        const std::string prefix = Cat("step ", job.record.step, ": ");
        first_error =
            job.record.error.starts_with(prefix) ? job.record.error : prefix + job.record.error;
      }
    }
    if (job.record.state == StepState::kCancelled) cancelled = true;
  }
  const RunState end = cancelled ? RunState::kCancelled
                       : failed  ? RunState::kFailed
                                 : RunState::kSucceeded;
  (void)x_.services_.tracking.SetStatus(
      run_.tracking_run, end == RunState::kSucceeded   ? tracking::RunStatus::kFinished
                         : end == RunState::kCancelled ? tracking::RunStatus::kKilled
                                                       : tracking::RunStatus::kFailed);
  RETURN_IF_ERROR(x_.runs_.EndRun(run_.id, end, cancelled ? "cancelled" : first_error));
  ExecutionResult result;
  ASSIGN_OR_RETURN(result.run, x_.runs_.GetRun(run_.id));
  if (inv_.reproduce) {
    for (const StepRecord& original : inv_.reproduce->steps) {
      const StepRecord* again = nullptr;
      for (const StepRecord& s : result.run.steps) {
        if (s.step == original.step) again = &s;
      }
      for (const auto& [name, value] : original.outputs) {
        OutputComparison c{original.step, name, value.sha256, ""};
        if (again != nullptr) {
          if (const auto it = again->outputs.find(name); it != again->outputs.end()) {
            c.reproduced_sha256 = it->second.sha256;
          }
        }
        result.comparisons.push_back(std::move(c));
      }
    }
  }
  Emit({ProgressEvent::Kind::kRunEnded, "", StepState::kPending, 0, "", SecondsSince(start),
        &result.run});
  return result;
}

void PipelineExecutor::Run::Schedule() {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < jobs_.size(); ++i) index[jobs_[i].spec->id] = i;
  auto last_poll = SteadyClock::now();
  auto last_beat = SteadyClock::now();
  std::unique_lock lock(mu_);
  while (true) {
    bool progressed = true;
    while (progressed) {
      progressed = false;
      for (StepJob& job : jobs_) {
        if (job.record.state != StepState::kPending) continue;
        bool ready = true;
        std::optional<StepState> blocked;  // what the step becomes without running
        std::string because;
        for (const auto& [name, ref] : job.spec->inputs) {
          if (!ref.is_step()) continue;
          const StepState dep = jobs_[index[ref.step]].record.state;
          if (!Ended(dep)) {
            ready = false;
          } else if (dep == StepState::kFailed || dep == StepState::kUpstreamFailed) {
            blocked = StepState::kUpstreamFailed;
            because = Cat("step ", ref.step, " failed");
          } else if (dep == StepState::kCancelled) {
            blocked = StepState::kCancelled;
          } else if (dep == StepState::kSkipped && !blocked) {
            blocked = StepState::kSkipped;
            because = Cat("step ", ref.step, " was skipped");
          }
        }
        if (!blocked && Cancelled()) blocked = StepState::kCancelled;
        if (blocked && (ready || *blocked != StepState::kSkipped)) {
          // A failed input decides at once; a skipped one once every input has ended.
          if (*blocked == StepState::kSkipped && !ready) continue;
          job.record.state = *blocked;
          job.record.note = because;
          job.record.ended_at = x_.services_.workspace.clock().NowMicros();
          (void)x_.runs_.PutStep(run_.id, job.record);
          Emit({ProgressEvent::Kind::kStepEnded, job.record.step, job.record.state, 0, because, 0,
                nullptr});
          progressed = true;
          continue;
        }
        if (!ready || running_ >= jobs_limit_) continue;
        job.record.state = StepState::kRunning;
        ++running_;
        threads_.emplace_back([this, &job] {
          RunStep(job);
          std::lock_guard done(mu_);
          --running_;
          changed_.notify_all();
        });
        progressed = true;
      }
    }
    const bool all_ended = std::all_of(jobs_.begin(), jobs_.end(),
                                       [](const StepJob& j) { return Ended(j.record.state); });
    if (all_ended && running_ == 0) return;
    changed_.wait_for(lock, x_.options_.poll);
    const auto now = SteadyClock::now();
    if (now - last_poll >= x_.options_.poll) {
      lock.unlock();
      PollCancel();
      lock.lock();
      last_poll = now;
    }
    if (now - last_beat >= kHeartbeatEvery) {
      (void)x_.runs_.Heartbeat(run_.id);
      last_beat = now;
    }
  }
}

absl::StatusOr<std::string> PipelineExecutor::Run::CacheKey(
    const StepSpec& step, const std::map<std::string, StepValue>& inputs,
    const std::map<std::string, std::string>& params, const std::string& command) const {
  json key = {{"version", 1}, {"params", params}, {"env", step.env}, {"outputs", step.outputs}};
  if (step.uses) {
    key["uses"] = BuiltinStepName(*step.uses);
  } else {
    key["run"] = command;
    json deps = json::object();
    std::vector<std::string> files = FilesNamedBy(command, inv_.spec_dir);
    files.insert(files.end(), step.deps.begin(), step.deps.end());
    for (const std::string& file : files) {
      const fs::path path = inv_.spec_dir / file;
      std::error_code ec;
      const uintmax_t size = fs::file_size(path, ec);
      if (ec) {
        return absl::NotFoundError(
            Cat("step ", step.id, ": deps: ", file, " does not exist in ", inv_.spec_dir.string()));
      }
      if (size > kMaxDepBytes) {
        return absl::InvalidArgumentError(Cat("step ", step.id, ": deps: ", file,
                                              " is larger than 256 MiB; hash it into a dataset"
                                              " input instead"));
      }
      ASSIGN_OR_RETURN(const core::Digest digest, core::Sha256::OfFile(path));
      deps[file] = digest.ToHex();
    }
    key["deps"] = std::move(deps);
  }
  json in = json::object();
  for (const auto& [name, value] : inputs) {
    in[name] = {ValueKindName(value.kind), value.sha256};
  }
  key["inputs"] = std::move(in);
  return core::Sha256::Of(key.dump()).ToHex();
}

bool PipelineExecutor::Run::OutputsStillThere(
    const std::map<std::string, StepValue>& outputs) const {
  for (const auto& [name, value] : outputs) {
    switch (value.kind) {
      case ValueKind::kDataset: {
        absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(value.ref);
        if (!ref.ok()) return false;
        absl::StatusOr<dataset::VersionRecord> v = x_.services_.datasets.Resolve(*ref);
        if (!v.ok() || v->content_sha256 != value.sha256) return false;
        break;
      }
      case ValueKind::kFile: {
        absl::StatusOr<core::Digest> digest = core::Digest::FromHex(value.sha256);
        if (!digest.ok()) return false;
        absl::StatusOr<bool> exists = x_.services_.workspace.objects().Exists(*digest);
        if (!exists.ok() || !*exists) return false;
        break;
      }
      case ValueKind::kModel: {
        absl::StatusOr<registry::ModelRef> ref = registry::ParseModelRef(value.ref);
        if (!ref.ok()) return false;
        absl::StatusOr<registry::ModelVersion> v = x_.services_.registry.Resolve(*ref);
        if (!v.ok() || v->artifact_digest != value.sha256) return false;
        break;
      }
    }
  }
  return true;
}

absl::StatusOr<std::string> PipelineExecutor::Run::CreateStepRun(
    const StepSpec& step, const std::map<std::string, StepValue>& inputs,
    const std::map<std::string, std::string>& params, const std::string& command) {
  tracking::CreateRunOptions options;
  options.experiment = spec_.name;
  options.name = step.id;
  options.source_name = inv_.source;
  options.source_sha256 = run_.spec_sha256;
  options.user = x_.options_.actor;
  for (const auto& [key, value] : params) options.initial.params.push_back({key, value});
  if (!step.uses) {
    options.initial.params.push_back(
        {"command", command.size() > tracking::RunBatch::kMaxValueBytes
                        ? command.substr(0, tracking::RunBatch::kMaxValueBytes)
                        : command});
  }
  options.initial.tags = {{"ferry.pipeline", spec_.name},
                          {"ferry.pipeline_run", run_.id},
                          {"ferry.parent_run", run_.tracking_run},
                          {"ferry.step", step.id},
                          {"ferry.step_kind", step.uses ? std::string(BuiltinStepName(*step.uses))
                                                        : std::string("command")}};
  // Built-in steps log what they read themselves (they know the roles); a command's
  // dataset inputs are logged here.
  if (!step.uses) {
    for (const auto& [name, value] : inputs) {
      if (value.kind == ValueKind::kDataset) {
        options.initial.inputs.push_back({value.ref, RoleOf(name)});
      }
    }
  }
  ASSIGN_OR_RETURN(tracking::RunInfo info, x_.services_.tracking.CreateRun(options));
  return info.run_id;
}

void PipelineExecutor::Run::RunStep(StepJob& job) {
  const StepSpec& step = *job.spec;
  job.started = SteadyClock::now();
  job.record.started_at = x_.services_.workspace.clock().NowMicros();

  std::map<std::string, StepValue> inputs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, ref] : step.inputs) {
      if (ref.is_step()) {
        for (const StepJob& other : jobs_) {
          if (other.spec->id != ref.step) continue;
          const auto it = other.record.outputs.find(ref.output);
          if (it != other.record.outputs.end()) inputs[name] = it->second;
        }
      } else {
        inputs[name] = pinned_.at(ref.ToString());
      }
    }
  }
  (void)x_.runs_.PutStep(run_.id, job.record);  // shown as running
  const std::map<std::string, std::string> params = StepParams(step);
  std::string command;
  if (!step.uses) {
    absl::StatusOr<std::string> substituted = SubstituteParams(step.run, params_);
    command = substituted.ok() ? *substituted : step.run;
  }
  auto finish = [&](StepState state) {
    std::lock_guard lock(mu_);
    job.record.state = state;
    job.record.ended_at = x_.services_.workspace.clock().NowMicros();
    (void)x_.runs_.PutStep(run_.id, job.record);
    Emit({ProgressEvent::Kind::kStepEnded, job.record.step, state, job.record.attempts,
          state == StepState::kFailed ? job.record.error : job.record.note,
          SecondsSince(job.started), nullptr});
  };
  for (const auto& [name, ref] : step.inputs) {
    if (!inputs.contains(name)) {
      job.record.error = Cat("input ", name, " (", ref.ToString(), ") was not made");
      finish(StepState::kFailed);
      return;
    }
  }

  const bool cacheable = !step.uses || BuiltinDefinitionOf(*step.uses).cacheable;
  absl::StatusOr<std::string> key = CacheKey(step, inputs, params, command);
  if (!key.ok()) {
    job.record.error = std::string(key.status().message());
    finish(StepState::kFailed);
    return;
  }
  job.record.cache_key = *key;
  if (cacheable && !inv_.force && !inv_.reproduce) {
    absl::StatusOr<std::optional<CacheEntry>> hit = x_.runs_.FindCache(*key);
    if (hit.ok() && hit->has_value()) {
      if (OutputsStillThere((*hit)->outputs)) {
        job.record.outputs = (*hit)->outputs;
        job.record.cached_from = (*hit)->run;
        job.record.tracking_run = (*hit)->tracking_run;
        job.record.note = Cat("cached: outputs of run ", (*hit)->run.substr(0, 8));
        finish(StepState::kCached);
        return;
      }
      (void)x_.runs_.DropCache(*key);  // something it made is gone: run it again
    }
  }
  Emit({ProgressEvent::Kind::kStepStarted, step.id, StepState::kRunning, 1, "", 0, nullptr});
  const StepState state = Attempts(job, inputs, params, command);
  if (state == StepState::kSucceeded && cacheable) {
    (void)x_.runs_.PutCache({*key, spec_.name, step.id, run_.id, job.record.tracking_run,
                             job.record.outputs, x_.services_.workspace.clock().NowMicros()});
  }
  finish(state);
}

StepState PipelineExecutor::Run::Attempts(StepJob& job,
                                          const std::map<std::string, StepValue>& inputs,
                                          const std::map<std::string, std::string>& params,
                                          const std::string& command) {
  const StepSpec& step = *job.spec;
  absl::StatusOr<std::string> run_id = CreateStepRun(step, inputs, params, command);
  if (!run_id.ok()) {
    job.record.error = std::string(run_id.status().message());
    return StepState::kFailed;
  }
  job.record.tracking_run = *run_id;
  std::map<std::string, StepValue> recorded;
  if (inv_.reproduce) {
    for (const StepRecord& s : inv_.reproduce->steps) {
      if (s.step == step.id) recorded = s.outputs;
    }
  }
  auto delay = x_.options_.retry_delay;
  absl::Status last;
  for (int attempt = 1; attempt <= step.retries + 1; ++attempt) {
    job.record.attempts = attempt;
    if (attempt > 1) {
      Emit({ProgressEvent::Kind::kStepRetrying, step.id, StepState::kRunning, attempt,
            std::string(last.message()), std::chrono::duration<double>(delay).count(), nullptr});
      const auto until = SteadyClock::now() + delay;
      while (SteadyClock::now() < until && !Cancelled()) {
        std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
            x_.options_.poll,
            std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()) +
                std::chrono::milliseconds(1)));
      }
      delay = std::min<std::chrono::milliseconds>(delay * 2, kMaxRetryDelay);
      if (Cancelled()) break;
    }
    const fs::path work = x_.services_.workspace.ferry_dir() / "pipelines" / "work" / run_.id /
                          step.id / std::to_string(attempt);
    std::error_code ec;
    fs::remove_all(work, ec);
    fs::create_directories(work, ec);
    if (ec) {
      last = core::ErrnoToStatus(ec.value(), work.string());
      continue;
    }
    const auto attempt_start = SteadyClock::now();
    StepAttempt a;
    a.pipeline = spec_.name;
    a.step = &step;
    a.params = params;
    a.inputs = inputs;
    a.work_dir = work;
    a.run_id = *run_id;
    a.threads = step_threads_;
    a.reproducing = inv_.reproduce.has_value();
    a.recorded_outputs = recorded;
    a.actor = x_.options_.actor;
    a.cancelled = [this, &step, attempt_start] {
      return Cancelled() ||
             (step.timeout.count() > 0 && SteadyClock::now() - attempt_start >= step.timeout);
    };
    StoreStepContext context(x_.services_, std::move(a));
    absl::StatusOr<StepOutcome> outcome;
    try {
      outcome = step.uses ? RunBuiltinStep(*step.uses, context)
                          : RunCommand(context, command, attempt, step.timeout);
    } catch (const std::exception& e) {
      outcome = absl::InternalError(Cat("step ", step.id, ": ", e.what()));
    }
    if (outcome.ok() && !outcome->skipped) {
      // Every declared output must have been handed back.
      for (const std::string& output : step.outputs) {
        if (!context.outputs().contains(output)) {
          outcome = absl::FailedPreconditionError(
              Cat("step ", step.id, ": declared output ", output, " was not made"));
          break;
        }
      }
    }
    const bool timed_out =
        step.timeout.count() > 0 && SteadyClock::now() - attempt_start >= step.timeout;
    fs::remove_all(work, ec);
    if (outcome.ok()) {
      job.record.outputs = context.outputs();
      job.record.note = outcome->note;
      (void)x_.services_.tracking.SetStatus(*run_id, tracking::RunStatus::kFinished);
      return outcome->skipped ? StepState::kSkipped : StepState::kSucceeded;
    }
    last = outcome.status();
    if (absl::IsCancelled(last) && timed_out) {
      last = absl::DeadlineExceededError(
          Cat("step ", step.id, ": timed out after ", step.timeout.count(), " s"));
    }
    if (Cancelled()) break;
  }
  const bool cancelled = Cancelled();
  job.record.error = cancelled ? "cancelled" : std::string(last.message());
  (void)x_.services_.tracking.SetStatus(
      *run_id, cancelled ? tracking::RunStatus::kKilled : tracking::RunStatus::kFailed);
  return cancelled ? StepState::kCancelled : StepState::kFailed;
}

absl::StatusOr<StepOutcome> PipelineExecutor::Run::RunCommand(StoreStepContext& context,
                                                              const std::string& command,
                                                              int attempt,
                                                              std::chrono::seconds timeout) {
  const StepSpec& step = context.step();
  const fs::path& work = context.work_dir();
  std::map<std::string, std::string> env = CurrentEnvironment();
  for (const auto& [name, value] : context.inputs()) {
    ASSIGN_OR_RETURN(const fs::path file, context.InputFile(name));
    env[StepVariable("FERRY_INPUT_", name)] = file.string();
  }
  const fs::path outputs = work / "outputs";
  std::error_code ec;
  fs::create_directories(outputs, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), outputs.string());
  for (const std::string& output : step.outputs) {
    env[StepVariable("FERRY_OUTPUT_", output)] = (outputs / output).string();
  }
  // A command sees its own params (as DVC's stages see the params they declare), so a
  // run param it does not use cannot invalidate its cache entry.
  for (const auto& [key, value] : context.params()) {
    env[StepVariable("FERRY_PARAM_", key)] = value;
  }
  RETURN_IF_ERROR(core::WriteFileAtomically(work / "params.json", json(context.params()).dump()));
  env["FERRY_PARAMS_FILE"] = (work / "params.json").string();
  env["FERRY_METRICS_FILE"] = (work / "metrics.json").string();
  env["FERRY_RUN_ID"] = context.run_id();
  env["FERRY_PIPELINE"] = spec_.name;
  env["FERRY_PIPELINE_RUN"] = run_.id;
  env["FERRY_STEP"] = step.id;
  env["FERRY_ATTEMPT"] = std::to_string(attempt);
  env["FERRY_THREADS"] = std::to_string(context.threads());
  for (const auto& [key, value] : step.env) env[key] = value;

  ProcessSpec process;
  process.command = command;
  process.cwd = inv_.spec_dir;
  process.env = std::move(env);
  process.stdout_file = work / "stdout.txt";
  process.stderr_file = work / "stderr.txt";
  process.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  process.grace = x_.options_.kill_grace;
  process.stop = [this] { return Cancelled(); };
  ASSIGN_OR_RETURN(const ProcessResult result, RunStepProcess(process));

  // The logs are the run's artifacts whatever happened; an attempt's own names keep a
  // retried step's earlier logs.
  for (const char* stream : {"stdout", "stderr"}) {
    (void)x_.services_.tracking.LogArtifact(context.run_id(), work / Cat(stream, ".txt"),
                                            Cat("logs/", stream, ".", attempt, ".txt"));
  }
  if (!result.ok()) {
    const std::string tail = Tail(work / "stderr.txt");
    const std::string message =
        Cat("step ", step.id, ": the command ", result.Describe(),
            tail.empty() ? std::string() : Cat("; the end of its stderr:\n", tail));
    if (result.stopped) return absl::CancelledError(message);
    if (result.timed_out) return absl::DeadlineExceededError(message);
    return absl::AbortedError(message);
  }
  ASSIGN_OR_RETURN(std::vector<tracking::MetricPoint> metrics,
                   ReadMetricsFile(work / "metrics.json", step.id));
  if (!metrics.empty()) {
    tracking::RunBatch batch;
    batch.metrics = std::move(metrics);
    RETURN_IF_ERROR(context.Log(batch));
  }
  for (const std::string& output : step.outputs) {
    const fs::path file = outputs / output;
    if (!fs::exists(file, ec)) {
      return absl::FailedPreconditionError(
          Cat("step ", step.id, ": the command succeeded but did not write its output ", output,
              " ($", StepVariable("FERRY_OUTPUT_", output), ")"));
    }
    // Not followed: a link would store whatever file it names, inside the workspace or
    // out of it, as the step's output.
    if (fs::is_symlink(fs::symlink_status(file, ec))) {
      return absl::FailedPreconditionError(Cat("step ", step.id, ": output ", output,
                                               " is a symbolic link; write the output's bytes to $",
                                               StepVariable("FERRY_OUTPUT_", output),
                                               " (copy the file)"));
    }
    if (!fs::is_regular_file(file, ec)) {
      return absl::FailedPreconditionError(
          Cat("step ", step.id, ": output ", output,
              " is not a regular file (outputs are files; archive a folder into one)"));
    }
  }
  for (const std::string& output : step.outputs) {
    RETURN_IF_ERROR(context.OutputFile(output, outputs / output));
  }
  // The note is the last line the command printed: its own summary, if it gives one.
  std::string last = Tail(work / "stdout.txt");
  if (const size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  if (last.size() > 160) last = last.substr(0, 157) + "...";
  return StepOutcome{false, last.empty() ? std::string("exited 0") : last};
}

}  // namespace ferry::pipeline
