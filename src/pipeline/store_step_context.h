#pragma once

// StoreStepContext: the StepContext (step_context.h) of one step attempt over the
// workspace's stores -- what the executor hands every built-in step and what it uses to
// collect a command step's outputs, and what tests run built-in steps with.
//
//   - Dataset inputs resolve in the dataset store; file inputs are artifacts of the
//     run that made them (fetched from the object store, verified); model inputs are
//     registered versions (their artifact fetched).
//   - OutputFile stores the file at once as the artifact "outputs/NAME" of the step's run
//     and records its SHA-256; OutputDataset adds a dataset version (when reproducing, only
//     when the bytes differ from the recorded output's); OutputModel records the version.
//
// Thread-safety: one context per attempt, used by one thread (cancelled() from any).

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "pipeline/step_context.h"

namespace ferry::pipeline {

struct StepAttempt {
  std::string pipeline;
  const StepSpec* step = nullptr;             // outlives the context
  std::map<std::string, std::string> params;  // substituted, defaults filled in
  std::map<std::string, StepValue> inputs;
  std::filesystem::path work_dir;  // created empty by the caller
  std::string run_id;              // the step's tracking run (RUNNING)
  int threads = 1;
  bool reproducing = false;
  // When reproducing: the outputs the original run recorded, by name.
  std::map<std::string, StepValue> recorded_outputs;
  std::string actor;
  std::function<bool()> cancelled;  // empty: never
};

class StoreStepContext final : public StepContext {
 public:
  StoreStepContext(StepServices& services, StepAttempt attempt);

  const std::string& pipeline_name() const override { return attempt_.pipeline; }
  const StepSpec& step() const override { return *attempt_.step; }
  const std::map<std::string, std::string>& params() const override { return attempt_.params; }
  const std::map<std::string, StepValue>& inputs() const override { return attempt_.inputs; }
  absl::StatusOr<dataset::VersionRecord> InputDataset(std::string_view input) override;
  absl::StatusOr<std::filesystem::path> InputFile(std::string_view input) override;
  const std::filesystem::path& work_dir() const override { return attempt_.work_dir; }
  absl::Status OutputFile(std::string_view output, const std::filesystem::path& file) override;
  absl::StatusOr<dataset::VersionRecord> OutputDataset(
      std::string_view output, const std::filesystem::path& file,
      const DatasetOutputOptions& options) override;
  absl::Status OutputModel(std::string_view output, const registry::ModelVersion& version) override;
  const std::string& run_id() const override { return attempt_.run_id; }
  absl::Status Log(const tracking::RunBatch& batch) override;
  bool cancelled() const override { return attempt_.cancelled && attempt_.cancelled(); }
  int threads() const override { return attempt_.threads; }
  bool reproducing() const override { return attempt_.reproducing; }
  const std::string& actor() const override { return attempt_.actor; }
  StepServices& services() override { return services_; }

  // What the step handed back, by output name.
  const std::map<std::string, StepValue>& outputs() const { return outputs_; }

 private:
  // The declared output `output` of kind `kind`, or InvalidArgument naming the step.
  absl::Status CheckOutput(std::string_view output, ValueKind kind) const;
  const StepValue* FindInput(std::string_view input) const;

  StepServices& services_;
  StepAttempt attempt_;
  std::map<std::string, StepValue> outputs_;
  std::map<std::string, std::filesystem::path> fetched_;  // input -> local file
  std::map<std::string, dataset::VersionRecord> added_;   // file input -> its dataset version
};

// The value kind of `step`'s output `output`: the built-in's definition for `uses:`
// steps, kFile for command steps.
ValueKind OutputKind(const StepSpec& step, std::string_view output);

}  // namespace ferry::pipeline
