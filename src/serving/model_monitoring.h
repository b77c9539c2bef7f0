#pragma once

// The monitor of a model version being loaded behind an endpoint (monitoring/
// model_monitor.h): its inputs' references from the profile of the dataset version the
// model was registered with (ModelVersion::reference_dataset, checked against the
// recorded profile digest), and its prediction's reference from the model's own
// predictions on that profile's sample rows.
//
// A model without a reference (registered without a training set, a dataset version
// deleted since, a profile that changed) still gets a monitor -- latency, throughput,
// missing values -- whose drift says why it has no verdicts; loading never fails for it.
//
// Thread-safety: a pure function of its arguments (reads the dataset store).

#include <cstdint>
#include <memory>

#include "dataset/dataset_store.h"
#include "monitoring/model_monitor.h"
#include "serving/served_model.h"

namespace ferry::serving {

std::shared_ptr<monitoring::ModelMonitor> BuildModelMonitor(const ServedModel& model,
                                                            const dataset::DatasetStore& datasets,
                                                            const monitoring::MonitoringPolicy& policy,
                                                            int64_t max_rows_per_second,
                                                            int64_t now_micros);

}  // namespace ferry::serving
