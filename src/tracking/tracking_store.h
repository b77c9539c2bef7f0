#pragma once

// TrackingStore: experiments and runs (run_record.h) in the "tracking" component of
// the metadata store, with their inputs in the lineage graph and their artifacts in
// the object store.
//
// Every write is one transaction: creating a run with its first params, tags and
// inputs; one logged batch (any mix of params, metrics, tags); a status change. So a
// batch is logged entirely or not at all, and processes that log into one run at once
// lose nothing (the metadata store serialises writers and waits out a busy lock).
// Rules every write checks inside its transaction:
//   - logging params, metrics, inputs or artifacts to a run that has ended is
//     FailedPrecondition ("run ... is FINISHED"); tags may still be set;
//   - a param logged again with the same value is a no-op, with another value
//     AlreadyExists naming the key and both values; one batch naming a param twice
//     with different values is InvalidArgument;
//   - an unknown run, experiment or dataset version is NotFound;
//   - a run ends once: RUNNING -> FINISHED | FAILED | KILLED; setting the status it
//     already has is a no-op, moving an ended run elsewhere FailedPrecondition.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "store/workspace.h"
#include "tracking/run_record.h"

namespace ferry::tracking {

inline constexpr std::string_view kDefaultExperiment = "Default";

// A dataset version a run reads, as the caller names it ("train", "train@3",
// "train@gold"); resolved to "NAME@N" when logged.
struct InputSpec {
  std::string dataset;
  InputRole role = InputRole::kTrain;
};

// What one LogBatch call logs, in one transaction. Limits (InvalidArgument beyond):
// kMaxBatchMetrics points, kMaxBatchParams params, kMaxBatchTags tags.
struct RunBatch {
  static constexpr size_t kMaxBatchMetrics = 10'000;
  static constexpr size_t kMaxBatchParams = 1'000;
  static constexpr size_t kMaxBatchTags = 1'000;
  static constexpr size_t kMaxValueBytes = 8'000;  // of a param or tag value

  std::vector<Param> params;
  std::vector<MetricPoint> metrics;
  std::vector<Tag> tags;
  std::vector<InputSpec> inputs;

  bool empty() const {
    return params.empty() && metrics.empty() && tags.empty() && inputs.empty();
  }
};

struct CreateRunOptions {
  std::string experiment = std::string(kDefaultExperiment);  // created when missing
  std::string name;         // empty: a generated one ("run-<first 8 of the id>")
  std::string source_name;  // e.g. the pipeline file the run came from
  std::string source_sha256;  // its hash (64 hex digits) or empty
  std::string host;         // empty: this machine's host name
  std::string user;
  RunBatch initial;         // logged in the creating transaction
  int64_t start_time = 0;   // 0: now
};

class TrackingStore {
 public:
  // Applies the "tracking" and "lineage" migrations. `datasets` resolves inputs; both
  // must outlive the store.
  static absl::StatusOr<std::unique_ptr<TrackingStore>> Open(
      store::Workspace& workspace, const dataset::DatasetStore& datasets);

  // --- Experiments -------------------------------------------------------------
  // Creates an experiment. AlreadyExists if the name is taken; InvalidArgument for a
  // bad name.
  absl::StatusOr<Experiment> CreateExperiment(std::string_view name,
                                              std::string_view description);
  // NotFound ("no experiment named ...").
  absl::StatusOr<Experiment> GetExperiment(std::string_view name) const;
  // Every experiment with its run count, by id.
  absl::StatusOr<std::vector<Experiment>> ListExperiments() const;

  // --- Runs --------------------------------------------------------------------
  // Creates a RUNNING run (and its experiment if missing) with `options.initial`
  // logged. Errors: InvalidArgument (names, keys, a source hash that is not 64 hex
  // digits), NotFound for an input dataset version, as LogBatch.
  absl::StatusOr<RunInfo> CreateRun(const CreateRunOptions& options);

  // Logs a batch into a run (see the file comment for the rules). Metric points with
  // timestamp 0 get the current time. Errors: NotFound, FailedPrecondition,
  // AlreadyExists, InvalidArgument as described there; Unavailable if the store stays
  // locked.
  absl::Status LogBatch(std::string_view run_id, const RunBatch& batch);

  // Stores the file at `file` in the object store as the run's artifact `path`
  // (default: the file's name) and lists it under the run, in one transaction with
  // the object's root entry so `ferry data gc` keeps it. Errors: FailedPrecondition
  // for an ended run, AlreadyExists when the run has another file under `path` (the
  // same bytes again are a no-op), NotFound for the file or the run.
  absl::StatusOr<Artifact> LogArtifact(std::string_view run_id,
                                       const std::filesystem::path& file,
                                       std::string_view path);

  // Ends a run (or sets RUNNING's successor); `end_time` 0 means now.
  absl::StatusOr<RunInfo> SetStatus(std::string_view run_id, RunStatus status,
                                    int64_t end_time = 0);

  // Removes a tag. NotFound when the run has no such tag.
  absl::Status DeleteTag(std::string_view run_id, std::string_view key);

  // The run with everything it logged (latest metric values, series lengths, inputs
  // with their content hashes, artifacts). NotFound for an unknown id.
  absl::StatusOr<Run> GetRun(std::string_view run_id) const;
  // Just the run's attributes. NotFound for an unknown id.
  absl::StatusOr<RunInfo> GetRunInfo(std::string_view run_id) const;
  // One metric's series, by step then timestamp. NotFound for an unknown run or key.
  absl::StatusOr<std::vector<MetricPoint>> MetricHistory(std::string_view run_id,
                                                         std::string_view key) const;

  store::Workspace& workspace() const { return workspace_; }

 private:
  TrackingStore(store::Workspace& workspace, const dataset::DatasetStore& datasets)
      : workspace_(workspace), datasets_(datasets) {}

  // Resolves inputs outside the write transaction (reading the dataset store).
  absl::StatusOr<std::vector<RunInput>> ResolveInputs(const std::vector<InputSpec>& specs) const;
  // Writes a validated batch into `run_id`, which the caller found RUNNING in `tx`.
  absl::Status WriteBatch(store::Transaction& tx, const std::string& run_id,
                          const RunBatch& batch, const std::vector<RunInput>& inputs,
                          int64_t now) const;

  store::Workspace& workspace_;
  const dataset::DatasetStore& datasets_;
};

// Checks a batch on its own (names, sizes, duplicate params). InvalidArgument.
absl::Status ValidateBatch(const RunBatch& batch);

}  // namespace ferry::tracking
