#include "pipeline/store_step_context.h"

#include <algorithm>
#include <system_error>

#include "core/sha256.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/feature_registry.h"
#include "registry/model_registry.h"
#include "store/object_store.h"
#include "store/workspace.h"

namespace ferry::pipeline {
namespace {

using core::Cat;
namespace fs = std::filesystem;

std::string_view KindArticle(ValueKind kind) {
  switch (kind) {
    case ValueKind::kDataset:
      return "a dataset version";
    case ValueKind::kFile:
      return "a file";
    case ValueKind::kModel:
      return "a model version";
  }
  return "a file";
}

}  // namespace

ValueKind OutputKind(const StepSpec& step, std::string_view output) {
  if (!step.uses) return ValueKind::kFile;
  for (const BuiltinOutput& out : BuiltinDefinitionOf(*step.uses).outputs) {
    if (out.name == output) return out.kind;
  }
  return ValueKind::kFile;
}

StoreStepContext::StoreStepContext(StepServices& services, StepAttempt attempt)
    : services_(services), attempt_(std::move(attempt)) {}

const StepValue* StoreStepContext::FindInput(std::string_view input) const {
  const auto it = attempt_.inputs.find(std::string(input));
  return it == attempt_.inputs.end() ? nullptr : &it->second;
}

absl::StatusOr<dataset::VersionRecord> StoreStepContext::InputDataset(std::string_view input) {
  const StepValue* value = FindInput(input);
  if (value == nullptr) {
    return absl::NotFoundError(Cat("step ", step().id, ": no input \"", input, "\""));
  }
  if (value->kind == ValueKind::kDataset) {
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(value->ref));
    ASSIGN_OR_RETURN(dataset::VersionRecord version, services_.datasets.Resolve(ref));
    if (version.content_sha256 != value->sha256) {
      return absl::DataLossError(Cat("step ", step().id, ": input ", input, " (", value->ref,
                                     ") has content ", version.content_sha256,
                                     ", not the recorded ", value->sha256));
    }
    return version;
  }
  if (value->kind != ValueKind::kFile) {
    return absl::FailedPreconditionError(Cat("step ", step().id, ": input ", input, " is ",
                                             KindArticle(value->kind), ", not tabular data"));
  }
  if (const auto it = added_.find(std::string(input)); it != added_.end()) return it->second;
  ASSIGN_OR_RETURN(const fs::path file, InputFile(input));
  if (table::DetectFormat(value->ref) == table::Format::kOpaque) {
    return absl::FailedPreconditionError(
        Cat("step ", step().id, ": input ", input, " (", value->ref,
            ") is not a CSV or JSON Lines file by its name, so it cannot be read as a table"));
  }
  const std::string name = Cat(pipeline_name(), "_", step().id, "_", input);
  // The same bytes as the dataset's latest version (a rerun, a reproduction): that version,
  // without another "made by" edge from this run's producer.
  if (absl::StatusOr<dataset::DatasetRef> latest = dataset::ParseDatasetRef(name); latest.ok()) {
    absl::StatusOr<dataset::VersionRecord> version = services_.datasets.Resolve(*latest);
    if (version.ok() && version->content_sha256 == value->sha256) {
      added_[std::string(input)] = *version;
      return *std::move(version);
    }
  }
  dataset::AddOptions options;
  options.message = Cat("input ", input, " of step ", step().id, " of pipeline ", pipeline_name());
  options.source_name = value->ref;
  options.derived_from.push_back({{std::string(lineage::kind::kRun), value->run_id}, "artifact"});
  ASSIGN_OR_RETURN(dataset::AddResult added, services_.datasets.Add(name, file, options));
  added_[std::string(input)] = added.version;
  return added.version;
}

absl::StatusOr<fs::path> StoreStepContext::InputFile(std::string_view input) {
  const StepValue* value = FindInput(input);
  if (value == nullptr) {
    return absl::NotFoundError(Cat("step ", step().id, ": no input \"", input, "\""));
  }
  if (const auto it = fetched_.find(std::string(input)); it != fetched_.end()) return it->second;
  const fs::path dir = attempt_.work_dir / ".inputs";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), dir.string());
  fs::path destination;
  switch (value->kind) {
    case ValueKind::kDataset: {
      ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(value->ref));
      ASSIGN_OR_RETURN(dataset::VersionRecord version, services_.datasets.Resolve(ref));
      // The exported file keeps the extension the version was added with, so commands
      // can tell CSV from JSON Lines.
      destination = dir / Cat(input, fs::path(version.source).extension().string());
      ASSIGN_OR_RETURN(version, services_.datasets.Export(ref, destination));
      if (version.content_sha256 != value->sha256) {
        return absl::DataLossError(Cat("step ", step().id, ": input ", input, " (", value->ref,
                                       ") has content ", version.content_sha256,
                                       ", not the recorded ", value->sha256));
      }
      break;
    }
    case ValueKind::kFile: {
      ASSIGN_OR_RETURN(const core::Digest digest, core::Digest::FromHex(value->sha256));
      destination = dir / Cat(input, fs::path(value->ref).extension().string());
      // The object's name is the SHA-256 of its content and GetToFile verifies it.
      RETURN_IF_ERROR(services_.workspace.objects().GetToFile(digest, destination));
      break;
    }
    case ValueKind::kModel: {
      ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef(value->ref));
      ASSIGN_OR_RETURN(registry::ModelVersion version, services_.registry.Resolve(ref));
      if (version.artifact_digest != value->sha256) {
        return absl::DataLossError(Cat("step ", step().id, ": input ", input, " (", value->ref,
                                       ") has artifact ", version.artifact_digest,
                                       ", not the recorded ", value->sha256));
      }
      ASSIGN_OR_RETURN(const core::Digest digest, core::Digest::FromHex(version.artifact_digest));
      destination = dir / input;
      RETURN_IF_ERROR(services_.workspace.objects().GetToFile(digest, destination));
      break;
    }
  }
  fetched_[std::string(input)] = destination;
  return destination;
}

absl::Status StoreStepContext::CheckOutput(std::string_view output, ValueKind kind) const {
  const auto& outputs = step().outputs;
  if (std::find(outputs.begin(), outputs.end(), output) == outputs.end()) {
    return absl::InvalidArgumentError(
        Cat("step ", step().id, ": \"", output, "\" is not a declared output"));
  }
  if (OutputKind(step(), output) != kind) {
    return absl::InvalidArgumentError(Cat("step ", step().id, ": output ", output, " is ",
                                          KindArticle(OutputKind(step(), output)), ", not ",
                                          KindArticle(kind)));
  }
  if (outputs_.contains(std::string(output))) {
    return absl::InvalidArgumentError(
        Cat("step ", step().id, ": output ", output, " was handed back twice"));
  }
  return absl::OkStatus();
}

absl::Status StoreStepContext::OutputFile(std::string_view output, const fs::path& file) {
  RETURN_IF_ERROR(CheckOutput(output, ValueKind::kFile));
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return absl::FailedPreconditionError(Cat("step ", step().id, ": output ", output, ": ",
                                             file.filename().string(), " is not a regular file"));
  }
  // The artifact keeps the file's extension (or the output's own, "scores.csv") so a
  // reader can tell its format.
  const std::string path = fs::path(std::string(output)).has_extension()
                               ? Cat("outputs/", output)
                               : Cat("outputs/", output, file.extension().string());
  ASSIGN_OR_RETURN(tracking::Artifact artifact,
                   services_.tracking.LogArtifact(attempt_.run_id, file, path));
  outputs_[std::string(output)] =
      StepValue{ValueKind::kFile, path, artifact.digest, attempt_.run_id};
  return absl::OkStatus();
}

absl::StatusOr<dataset::VersionRecord> StoreStepContext::OutputDataset(
    std::string_view output, const fs::path& file, const DatasetOutputOptions& options) {
  RETURN_IF_ERROR(CheckOutput(output, ValueKind::kDataset));
  if (attempt_.reproducing) {
    const auto recorded = attempt_.recorded_outputs.find(std::string(output));
    if (recorded != attempt_.recorded_outputs.end()) {
      ASSIGN_OR_RETURN(const core::Digest digest, core::Sha256::OfFile(file));
      if (digest.ToHex() == recorded->second.sha256) {
        ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(recorded->second.ref));
        ASSIGN_OR_RETURN(dataset::VersionRecord version, services_.datasets.Resolve(ref));
        outputs_[std::string(output)] = recorded->second;
        return version;
      }
    }
  }
  dataset::AddOptions add;
  add.message = options.message.empty() ? Cat("output ", output, " of step ", step().id,
                                              " of pipeline ", pipeline_name())
                                        : options.message;
  add.source_name = file.filename().string();
  add.derived_from = options.derived_from;
  add.derived_from.push_back({{std::string(lineage::kind::kRun), attempt_.run_id}, "output"});
  ASSIGN_OR_RETURN(dataset::AddResult added, services_.datasets.Add(options.dataset, file, add));
  outputs_[std::string(output)] = StepValue{ValueKind::kDataset, added.version.Ref(),
                                            added.version.content_sha256, attempt_.run_id};
  return added.version;
}

absl::Status StoreStepContext::OutputModel(std::string_view output,
                                           const registry::ModelVersion& version) {
  RETURN_IF_ERROR(CheckOutput(output, ValueKind::kModel));
  outputs_[std::string(output)] =
      StepValue{ValueKind::kModel, version.Ref(), version.artifact_digest, attempt_.run_id};
  return absl::OkStatus();
}

absl::Status StoreStepContext::Log(const tracking::RunBatch& batch) {
  return services_.tracking.LogBatch(attempt_.run_id, batch);
}

}  // namespace ferry::pipeline
