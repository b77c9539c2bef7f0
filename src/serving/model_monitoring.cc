#include "serving/model_monitoring.h"

#include <spdlog/spdlog.h>

#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_ref.h"

namespace ferry::serving {
namespace {

using core::Cat;

// The profile the model's reference names, or why there is none.
absl::StatusOr<table::TableProfile> ReferenceProfile(const registry::ModelVersion& version,
                                                     const dataset::DatasetStore& datasets) {
  if (version.reference_dataset.empty()) {
    return absl::NotFoundError(Cat(version.Ref(), " was registered without a training dataset"));
  }
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(version.reference_dataset));
  ASSIGN_OR_RETURN(dataset::VersionRecord record, datasets.Resolve(ref));
  if (!record.profile) {
    return absl::NotFoundError(Cat(version.reference_dataset, " has no profile"));
  }
  if (!version.reference_profile.empty() && *record.profile != version.reference_profile) {
    return absl::FailedPreconditionError(
        Cat("the profile of ", version.reference_dataset, " is not the one ", version.Ref(),
            " was registered with"));
  }
  return datasets.Profile(record);
}

// The model's outputs on the profile's sample rows.
std::vector<float> ReferenceOutputs(const ServedModel& model, const table::TableProfile& profile) {
  const std::vector<float> rows = monitoring::SampleRows(profile, model.input_names);
  std::vector<float> outputs(rows.size() / std::max<size_t>(model.num_inputs, 1) *
                             model.num_outputs);
  if (rows.empty() || model.num_inputs == 0) return {};
  if (absl::Status status = model.model->Predict(rows, outputs); !status.ok()) {
    spdlog::warn("monitoring: {}: predicting the reference sample failed: {}",
                 model.version.Ref(), core::View(status.message()));
    return {};
  }
  return outputs;
}

}  // namespace

std::shared_ptr<monitoring::ModelMonitor> BuildModelMonitor(const ServedModel& model,
                                                            const dataset::DatasetStore& datasets,
                                                            const monitoring::MonitoringPolicy& policy,
                                                            int64_t max_rows_per_second,
                                                            int64_t now_micros) {
  monitoring::MonitorSetup setup;
  setup.input_names = model.input_names;
  setup.num_outputs = model.num_outputs;
  setup.policy = policy;
  setup.max_rows_per_second = max_rows_per_second;
  setup.now_micros = now_micros;
  setup.seed = std::hash<std::string>{}(Cat(model.endpoint, "/", model.version.Ref()));
  setup.reference_dataset = model.version.reference_dataset;
  absl::StatusOr<table::TableProfile> profile = ReferenceProfile(model.version, datasets);
  if (profile.ok()) {
    setup.profile = &*profile;
    setup.reference_outputs = ReferenceOutputs(model, *profile);
  } else {
    setup.no_reference = Cat("no reference: ", core::View(profile.status().message()));
    spdlog::info("monitoring: endpoint {}: {} has {}", model.endpoint, model.version.Ref(),
                 setup.no_reference);
  }
  return monitoring::ModelMonitor::Create(std::move(setup));
}

}  // namespace ferry::serving
