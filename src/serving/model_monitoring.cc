#include "serving/model_monitoring.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <map>

#include "core/status.h"
#include "core/strings.h"
#include "dataset/dataset_ref.h"

namespace ferry::serving {
namespace {

using core::Cat;

// The dataset version the model's reference names, or why there is none.
absl::StatusOr<dataset::VersionRecord> ReferenceVersion(const registry::ModelVersion& version,
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
  return record;
}

// Every value of the inputs' numeric reference columns, read again from the dataset when
// the reference is small enough (rows x inputs <= kMaxExactReferenceCells): the profile's
// quantile sketches place bin edges within about 1% in rank, which biases the binned
// Wasserstein distance by up to ~0.05 standard deviations; exact bins do not. Empty when
// the reference is larger or cannot be read (the sketches then serve; logged).
constexpr int64_t kMaxExactReferenceCells = 20'000'000;

std::map<std::string, std::vector<double>> ReferenceValues(
    const ServedModel& model, const dataset::DatasetStore& datasets,
    const dataset::VersionRecord& record, const table::TableProfile& profile) {
  std::map<std::string, std::vector<double>> out;
  if (profile.row_count * static_cast<int64_t>(model.input_names.size()) >
      kMaxExactReferenceCells) {
    return out;
  }
  std::vector<std::string> columns;           // to read
  std::map<std::string, std::vector<std::string>> inputs_of;  // column -> inputs
  for (const std::string& input : model.input_names) {
    const table::ColumnProfile* column = monitoring::ReferenceColumn(profile, input);
    if (column == nullptr || !column->numeric || column->top_values) continue;  // exact already
    if (inputs_of[column->name].empty()) columns.push_back(column->name);
    inputs_of[column->name].push_back(input);
  }
  if (columns.empty()) return out;
  std::map<std::string, std::vector<double>> values;
  absl::Status read = datasets.ReadBatches(
      record, columns, 65'536, [&](table::RecordBatch batch) -> absl::Status {
        for (const table::ColumnArray& column : batch.columns) {
          std::vector<double>& to = values[column.name];
          for (int64_t row = 0; row < batch.num_rows; ++row) {
            const auto r = static_cast<size_t>(row);
            if (!column.valid[r]) {
              to.push_back(std::numeric_limits<double>::quiet_NaN());
            } else if (column.type == table::ColumnType::kFloat64) {
              to.push_back(column.float64_values[r]);
            } else {
              to.push_back(static_cast<double>(column.int64_values[r]));
            }
          }
        }
        return absl::OkStatus();
      });
  if (!read.ok()) {
    spdlog::warn("monitoring: {}: reading the reference {} again failed ({}); its sketches serve",
                 model.version.Ref(), model.version.reference_dataset, core::View(read.message()));
    return out;
  }
  for (auto& [column, inputs] : inputs_of) {
    for (const std::string& input : inputs) out[input] = values[column];
  }
  return out;
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
  absl::StatusOr<table::TableProfile> profile = absl::NotFoundError("");
  absl::StatusOr<dataset::VersionRecord> record = ReferenceVersion(model.version, datasets);
  if (record.ok()) profile = datasets.Profile(*record);
  if (profile.ok()) {
    setup.profile = &*profile;
    setup.reference_outputs = ReferenceOutputs(model, *profile);
    setup.reference_values = ReferenceValues(model, datasets, *record, *profile);
  } else {
    const absl::Status& why = record.ok() ? profile.status() : record.status();
    setup.no_reference = Cat("no reference: ", core::View(why.message()));
    spdlog::info("monitoring: endpoint {}: {} has {}", model.endpoint, model.version.Ref(),
                 setup.no_reference);
  }
  return monitoring::ModelMonitor::Create(std::move(setup));
}

}  // namespace ferry::serving
