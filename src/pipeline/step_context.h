#pragma once

// StepContext: what a built-in step (builtin_steps.h) sees of the run it is part of --
// its params, its inputs as values with content hashes, a scratch folder, the stores,
// and the calls through which it hands back outputs and logs into its tracking run.
// The executor (pipeline_executor.h) implements it; tests implement it over a temporary
// workspace. A step never writes outputs anywhere else: the executor stores them, hashes
// them for the run cache, and in `reproduce` compares them with the recorded ones.
//
// Thread-safety: one context per step attempt, used from the thread running the step.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "pipeline/builtin_catalog.h"
#include "pipeline/pipeline_spec.h"
#include "tracking/tracking_store.h"

namespace ferry::features {
class FeatureRegistry;
}
namespace ferry::registry {
class ModelRegistry;
struct ModelVersion;
}  // namespace ferry::registry
namespace ferry::store {
class Workspace;
}

namespace ferry::pipeline {

// A value flowing between steps (or a pipeline input), pinned to its content.
struct StepValue {
  ValueKind kind = ValueKind::kFile;
  // kDataset: "NAME@N"; kModel: "NAME@V"; kFile: the artifact path under `run_id`'s run
  // ("outputs/model").
  std::string ref;
  // SHA-256 (hex) of the content: the dataset version's bytes, the file's bytes, the
  // model version's artifact.
  std::string sha256;
  std::string run_id;  // the step run that made it; empty for a pipeline's dataset inputs
  friend bool operator==(const StepValue&, const StepValue&) = default;
};

// The stores a step may use. All outlive the step.
struct StepServices {
  store::Workspace& workspace;
  dataset::DatasetStore& datasets;
  tracking::TrackingStore& tracking;
  features::FeatureRegistry& features;
  registry::ModelRegistry& registry;
  // Where relative paths in params (a rollout policy file) are read from: the
  // pipeline file's folder.
  std::filesystem::path spec_dir;
};

// How a step ended when it did not fail.
struct StepOutcome {
  // The step decided not to act (register or deploy-canary of a candidate the gate did
  // not bless; deploy-canary during `reproduce`): its dependants are skipped too.
  bool skipped = false;
  // One line for the terminal and `ferry pipeline show`: "blessed: auc 0.912 vs
  // production 0.897 (+0.015 >= 0.01)", "registered fraud@4".
  std::string note;
};

struct DatasetOutputOptions {
  std::string dataset;  // the dataset that gets the version
  std::string message;
  std::vector<dataset::LineageInput> derived_from;
};

class StepContext {
 public:
  virtual ~StepContext() = default;

  virtual const std::string& pipeline_name() const = 0;
  virtual const StepSpec& step() const = 0;
  // The step's params after `${params.X}` substitution, with the built-in's defaults
  // filled in for those not given.
  virtual const std::map<std::string, std::string>& params() const = 0;
  // The step's inputs by the name the step knows them by (absent optional inputs are
  // not in the map).
  virtual const std::map<std::string, StepValue>& inputs() const = 0;

  // The dataset version an input names. A kFile input holding a CSV or JSON Lines file
  // is added (once) as a version of the dataset "<pipeline>_<step>_<input>" so it can be
  // read as columns. FailedPrecondition for other kinds; NotFound for an absent input.
  virtual absl::StatusOr<dataset::VersionRecord> InputDataset(std::string_view input) = 0;
  // A local file holding the input's bytes (a dataset version exported byte-identical,
  // a stored file, a model version's artifact), verified against its hash. The file
  // lives until the step ends.
  virtual absl::StatusOr<std::filesystem::path> InputFile(std::string_view input) = 0;

  // An empty folder of this attempt's own, removed after the step.
  virtual const std::filesystem::path& work_dir() const = 0;

  // Hands `file` (usually in work_dir) to the executor as the output `output` (a kFile
  // output of the definition). The executor stores it after the step returns.
  virtual absl::Status OutputFile(std::string_view output, const std::filesystem::path& file) = 0;
  // A tabular file (CSV, JSON Lines; by its extension) as a new version of
  // `options.dataset` (a kDataset output). Stored at once (the version is returned),
  // except when reproducing: then the bytes are hashed and compared, and the recorded
  // version is returned if they match.
  virtual absl::StatusOr<dataset::VersionRecord> OutputDataset(
      std::string_view output, const std::filesystem::path& file,
      const DatasetOutputOptions& options) = 0;
  // A registered model version (a kModel output).
  virtual absl::Status OutputModel(std::string_view output,
                                   const registry::ModelVersion& version) = 0;

  // The step's tracking run: params were logged when it was created (and its dataset
  // inputs); metrics and tags go through Log.
  virtual const std::string& run_id() const = 0;
  virtual absl::Status Log(const tracking::RunBatch& batch) = 0;

  // True once the run is cancelled or the step's timeout passed: long steps check it
  // between units of work (training rounds) and return Cancelled.
  virtual bool cancelled() const = 0;
  // Threads the step may use (the `threads` param of train-xgboost overrides it).
  virtual int threads() const = 0;
  // During `ferry pipeline reproduce`: steps with side effects (register,
  // deploy-canary) must not act; they return StepOutcome{.skipped = true}.
  virtual bool reproducing() const = 0;
  // Who started the run, for records that name an actor.
  virtual const std::string& actor() const = 0;

  virtual StepServices& services() = 0;
};

// Reading params with errors that name the step and param ("step train: param rounds:
// expected an integer in 1..100000, got \"ten\""). Absent params (no default) give
// nullopt from the Optional forms and InvalidArgument ("... is required") otherwise.
absl::StatusOr<std::string> ParamText(const StepContext& context, std::string_view name);
std::optional<std::string> OptionalParamText(const StepContext& context, std::string_view name);
absl::StatusOr<int64_t> ParamInt(const StepContext& context, std::string_view name, int64_t min,
                                 int64_t max);
absl::StatusOr<double> ParamDouble(const StepContext& context, std::string_view name, double min,
                                   double max);
absl::StatusOr<bool> ParamBool(const StepContext& context, std::string_view name);
// A comma-separated list ("a, b,c" -> {a, b, c}); empty text gives an empty list.
absl::StatusOr<std::vector<std::string>> ParamList(const StepContext& context,
                                                   std::string_view name);

}  // namespace ferry::pipeline
