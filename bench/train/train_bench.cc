// train_bench: the library side of bench/train/run.
//
//   train_bench step WORKSPACE DATASET@N WORK_DIR PARAMS
//       runs the train-xgboost step on the dataset version as the pipeline executor
//       does: a tracking run in experiment "bench", a StoreStepContext over the
//       workspace's stores with the catalog's defaults under PARAMS (a YAML flow map's
//       inside, "label: y, rounds: 200"), the model stored as the run's output and left
//       in WORK_DIR; prints the step's note
//   train_bench phases WORKSPACE DATASET@N PARAMS
//       the same work through xgboost_training.h with each phase timed: reading the
//       version into the float32 matrix, building libxgboost's matrix, boosting (with the
//       per-round evaluation), saving; prints "read=S matrix=S train=S save=S
//       first_round=S" (the first round is part of train). TRAIN_BENCH_DENSE=1 builds a
//       plain DMatrix, as Python's xgboost.DMatrix does, instead of a QuantileDMatrix.
//
// `ferry pipeline run` is not there yet; this is what it will do for one step, minus
// the pipeline file and the DAG.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_store.h"
#include "pipeline/builtin_steps.h"
#include "pipeline/pipeline_services.h"
#include "pipeline/store_step_context.h"
#include "pipeline/xgboost_training.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace {

using namespace ferry;
using core::Cat;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Opened {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<pipeline::PipelineServices> stores;  // over *workspace
};

absl::StatusOr<Opened> Open(const std::string& root) {
  Opened o;
  ASSIGN_OR_RETURN(o.workspace, store::Workspace::Open(root, core::SystemClock::Shared()));
  ASSIGN_OR_RETURN(o.stores,
                   pipeline::PipelineServices::Open(*o.workspace, std::filesystem::current_path()));
  return o;
}

// The step's spec, params with the catalog's defaults filled in, and the input's value.
struct Step {
  pipeline::PipelineSpec spec;
  std::map<std::string, std::string> params;
  pipeline::StepValue input;
};

absl::StatusOr<Step> MakeStep(const Opened& o, const std::string& ref, const std::string& params) {
  Step step;
  ASSIGN_OR_RETURN(step.spec,
                   pipeline::ParsePipelineSpec(Cat("name: bench\nsteps:\n  - {id: train, uses: "
                                                   "train-xgboost, inputs: {train: ",
                                                   ref, "}, params: {", params, "}}\n"),
                                               "bench.yaml"));
  const pipeline::StepSpec& spec = step.spec.steps.front();
  step.params = pipeline::BuiltinDefaultParams(*spec.uses);
  for (const auto& [key, value] : spec.params) step.params[key] = value;
  ASSIGN_OR_RETURN(const dataset::DatasetRef parsed, dataset::ParseDatasetRef(ref));
  ASSIGN_OR_RETURN(const dataset::VersionRecord version, o.stores->datasets->Resolve(parsed));
  step.input = {pipeline::ValueKind::kDataset, version.Ref(), version.content_sha256, ""};
  return step;
}

absl::Status RunStep(const std::string& root, const std::string& ref, const std::string& work_dir,
                     const std::string& params) {
  ASSIGN_OR_RETURN(Opened o, Open(root));
  ASSIGN_OR_RETURN(Step step, MakeStep(o, ref, params));
  tracking::CreateRunOptions run_options;
  run_options.experiment = "bench";
  run_options.name = "train";
  ASSIGN_OR_RETURN(const tracking::RunInfo run, o.stores->tracking->CreateRun(run_options));
  pipeline::StepAttempt attempt;
  attempt.pipeline = "bench";
  attempt.step = &step.spec.steps.front();
  attempt.params = step.params;
  attempt.inputs = {{"train", step.input}};
  attempt.work_dir = work_dir;
  attempt.run_id = run.run_id;
  attempt.threads = 2;
  attempt.actor = "bench";
  std::filesystem::create_directories(work_dir);
  pipeline::StoreStepContext context(*o.stores->steps, std::move(attempt));
  absl::StatusOr<pipeline::StepOutcome> outcome = pipeline::RunTrainXgboostStep(context);
  RETURN_IF_ERROR(o.stores->tracking
                      ->SetStatus(run.run_id, outcome.ok() ? tracking::RunStatus::kFinished
                                                           : tracking::RunStatus::kFailed)
                      .status());
  RETURN_IF_ERROR(outcome.status());
  std::printf("%s\n", outcome->note.c_str());
  return absl::OkStatus();
}

absl::Status RunPhases(const std::string& root, const std::string& ref, const std::string& params) {
  ASSIGN_OR_RETURN(Opened o, Open(root));
  ASSIGN_OR_RETURN(Step step, MakeStep(o, ref, params));
  auto param = [&step](const std::string& name) {
    const auto it = step.params.find(name);
    return it != step.params.end() ? it->second : std::string(name == "threads" ? "2" : "");
  };
  ASSIGN_OR_RETURN(const dataset::DatasetRef parsed, dataset::ParseDatasetRef(ref));
  ASSIGN_OR_RETURN(const dataset::VersionRecord version, o.stores->datasets->Resolve(parsed));
  ASSIGN_OR_RETURN(const table::TableProfile profile, o.stores->datasets->Profile(version));
  std::vector<std::string> features;
  for (const table::ColumnSchema& column : profile.schema().columns) {
    if (column.name != param("label")) features.push_back(column.name);
  }

  auto start = Clock::now();
  ASSIGN_OR_RETURN(pipeline::FeatureMatrix rows,
                   pipeline::ReadFeatureMatrix(*o.stores->datasets, version, profile.schema(),
                                               features, param("label")));
  const double read = Seconds(start);
  start = Clock::now();
  pipeline::MatrixOptions options;
  options.threads = std::stoi(param("threads"));
  options.max_bin = std::stoi(param("max_bin"));
  // TRAIN_BENCH_DENSE=1: a plain DMatrix (what Python's xgboost.DMatrix makes) instead of
  // the QuantileDMatrix; hist then builds its bin index in the first round.
  if (std::getenv("TRAIN_BENCH_DENSE") != nullptr) {
    options.tree_method = pipeline::TreeMethod::kApprox;
  }
  ASSIGN_OR_RETURN(auto matrix, pipeline::XGBoostMatrix::Create(rows, options));
  const double build = Seconds(start);
  rows.values = std::vector<float>();
  rows.labels = std::vector<float>();
  start = Clock::now();
  std::vector<std::pair<std::string, std::string>> booster_params;
  for (const char* name : {"objective", "tree_method", "max_depth", "eta", "seed"}) {
    booster_params.emplace_back(name, param(name));
  }
  booster_params.emplace_back("nthread", param("threads"));
  ASSIGN_OR_RETURN(auto training, pipeline::XGBoostTraining::Create(
                                      *matrix, {{"train", matrix.get()}}, booster_params, rows));
  const int rounds = std::stoi(param("rounds"));
  double first = 0;
  for (int round = 0; round < rounds; ++round) {
    RETURN_IF_ERROR(training->Update(round));
    RETURN_IF_ERROR(training->Evaluate(round).status());
    if (round == 0) first = Seconds(start);
  }
  const double train = Seconds(start);
  start = Clock::now();
  ASSIGN_OR_RETURN(const std::string model, training->Save(pipeline::ModelFormat::kUbjson));
  const double save = Seconds(start);
  std::printf(
      "read=%.3f matrix=%.3f train=%.3f save=%.3f first_round=%.3f (%lld rows x %zu features)\n",
      read, build, train, save, first, static_cast<long long>(rows.rows), rows.columns());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  absl::Status status;
  if (mode == "step" && argc == 6) {
    status = RunStep(argv[2], argv[3], argv[4], argv[5]);
  } else if (mode == "phases" && argc == 5) {
    status = RunPhases(argv[2], argv[3], argv[4]);
  } else {
    std::fprintf(stderr,
                 "usage: train_bench step WORKSPACE DATASET@N WORK_DIR PARAMS\n"
                 "       train_bench phases WORKSPACE DATASET@N PARAMS\n");
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "train_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
