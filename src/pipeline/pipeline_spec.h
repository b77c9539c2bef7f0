#pragma once

// PipelineSpec: a training pipeline as its YAML file declares it -- a name, params with
// defaults, triggers, and steps whose inputs (dataset references and other steps'
// outputs) make a DAG. ParsePipelineSpec reads and validates a file; the DAG's order comes
// from StepOrder. (The executor, the built-in steps and the triggers' runner build on this;
// docs/pipelines.md has the format.)
//
//   name: fraud-retrain
//   params: {rounds: 200, eta: 0.1}
//   triggers:
//     - schedule: "0 3 * * *"          # cron, UTC
//     - dataset: transactions           # a new version of this dataset
//     - alert: FraudFeatureDrift        # an alert rule firing (its pipeline action)
//     - manual: {}
//   steps:
//     - id: split
//       uses: split                     # a built-in step ...
//       inputs: {data: transactions@latest}
//       outputs: [train, test]
//       params: {seed: 7, test: 0.2}
//     - id: train
//       run: python3 train.py --rounds ${params.rounds}   # ... or any command
//       inputs: {train: steps.split.train}
//       outputs: [model]
//       retries: 2
//       timeout: 30m
//       env: {OMP_NUM_THREADS: "2"}
//
// An input is `steps.STEP.OUTPUT` (that step's declared output) or a dataset reference
// (`NAME`, `NAME@N`, `NAME@TAG`, `NAME@latest`). `${params.NAME}` in a command or a step
// param is replaced by the run's value of a declared param.
//
// Thread-safety: value types.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_ref.h"

namespace ferry::pipeline {

// The built-in steps; "training-set", "split", "train-xgboost", "evaluate", "register",
// "deploy-canary".
enum class BuiltinStep : uint8_t {
  kTrainingSet,
  kSplit,
  kTrainXgboost,
  kEvaluate,
  kRegister,
  kDeployCanary,
};
std::string_view BuiltinStepName(BuiltinStep step);
// InvalidArgument listing the names for anything else.
absl::StatusOr<BuiltinStep> ParseBuiltinStep(std::string_view name);

struct InputRef {
  // Exactly one of the two.
  std::optional<dataset::DatasetRef> dataset;
  std::string step;  // with `output`: steps.STEP.OUTPUT
  std::string output;

  bool is_step() const { return !step.empty(); }
  std::string ToString() const;  // as written (normalised)
  friend bool operator==(const InputRef& a, const InputRef& b) {
    return a.ToString() == b.ToString();
  }
};

// InvalidArgument saying what is wrong.
absl::StatusOr<InputRef> ParseInputRef(std::string_view text);

struct StepSpec {
  std::string id;
  std::optional<BuiltinStep> uses;  // exactly one of uses and run
  std::string run;
  std::map<std::string, InputRef> inputs;  // by the name the step knows it by
  std::vector<std::string> outputs;
  std::map<std::string, std::string> params;  // values as written (scalars)
  int retries = 0;
  std::chrono::seconds timeout{0};  // 0: none
  std::map<std::string, std::string> env;
  // Files (relative to the pipeline file's folder) whose contents are part of a command
  // step's cache key besides the files its command names: a script's modules, a config.
  std::vector<std::string> deps;
};

// A cron schedule, UTC: minute hour day-of-month month day-of-week, each `*`, a number,
// a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; day-of-week 0-7 (0
// and 7 are Sunday). As in cron, when both day fields are restricted a day matching
// either runs.
class CronSchedule {
 public:
  // InvalidArgument naming the field for malformed text or values out of range.
  static absl::StatusOr<CronSchedule> Parse(std::string_view text);
  // The first minute strictly after `after_micros` (microseconds since the epoch, UTC)
  // that the schedule matches; nullopt when none within 5 years (e.g. "0 0 30 2 *").
  std::optional<int64_t> Next(int64_t after_micros) const;

 private:
  uint64_t minutes_ = 0;  // bit m: minute m
  uint32_t hours_ = 0;
  uint32_t days_ = 0;     // bit d: day d (1-31)
  uint16_t months_ = 0;   // bit m: month m (1-12)
  uint8_t weekdays_ = 0;  // bit w: weekday w (0 = Sunday)
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

struct Trigger {
  enum class Kind : uint8_t { kSchedule, kDataset, kAlert, kManual };
  Kind kind = Kind::kManual;
  std::string value;  // the cron text, dataset name or alert name; empty for manual
  std::optional<CronSchedule> schedule;
};

// "schedule", "dataset", "alert", "manual": as the file writes the kind.
std::string_view TriggerKindName(Trigger::Kind kind);

struct PipelineSpec {
  static constexpr size_t kMaxSteps = 200;
  static constexpr int kMaxRetries = 10;

  std::string name;
  std::string description;
  std::map<std::string, std::string> params;  // defaults, as written
  std::vector<Trigger> triggers;
  std::vector<StepSpec> steps;  // in file order
  int max_concurrent_runs = 1;

  const StepSpec* step(std::string_view id) const;
};

// Parses and validates a pipeline file. InvalidArgument naming `source`, the YAML line
// where known, the step and the key: YAML syntax, unknown keys, bad names, a step with
// both or neither of `uses` and `run`, an unknown built-in step, duplicate step ids or
// outputs, an input naming a step or output that does not exist ("dangling"), a cycle
// (its steps named in order), `${params.X}` of an undeclared param, bad durations,
// retries outside 0..10, bad cron text.
absl::StatusOr<PipelineSpec> ParsePipelineSpec(std::string_view yaml, std::string_view source);

// The steps in an order where every step comes after the steps it reads from, by
// levels: level 0 reads no step, level k reads only steps of levels below k; within a
// level, file order. Steps of one level may run in parallel. The spec must be valid.
std::vector<std::vector<const StepSpec*>> StepLevels(const PipelineSpec& spec);

// True for a path that stays below the folder it is joined to, as the filesystem reads it
// (a pipeline's deps and policy files): '/'-separated parts, each 1-255 bytes, none "." or
// "..", without backslashes (another system's separator) or control characters (NUL would
// cut the path short); at most 1024 bytes.
bool IsPlainRelativePath(std::string_view path);

// `text` with every `${params.NAME}` replaced by `values`' NAME. InvalidArgument naming
// a param not in `values`, or an unclosed `${`.
absl::StatusOr<std::string> SubstituteParams(std::string_view text,
                                             const std::map<std::string, std::string>& values);

}  // namespace ferry::pipeline
