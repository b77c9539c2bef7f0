#include "cli/demo_files.h"

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "demo/world.h"

namespace ferry::cli::demo_files {

std::string_view PipelineYaml() {
  return R"(# Retrains the fraud model when its live quality drops (the FraudModelDegraded alert in
# alerts.yaml), on the labelled transactions exported so far, and rolls the new version out
# as a canary if it beats production on the same held-out rows.
name: fraud_retrain
description: retrain on the latest labelled transactions, gate, register, canary
params:
  rounds: 300
max_concurrent_runs: 1
triggers:
  - alert: FraudModelDegraded
  - manual: {}
steps:
  - id: training_set            # point-in-time join: each transaction with its own features
    uses: training-set          # and its customer's and merchant's as of the day before,
    inputs: {entities: transactions@latest}   # named view__feature
    params: {features: fraud_features, full_feature_names: true}
  - id: split
    uses: split
    inputs: {data: steps.training_set.data}
    params: {train: 0.7, validation: 0.1, test: 0.2, seed: 7}
  - id: train
    uses: train-xgboost
    inputs: {train: steps.split.train, validation: steps.split.validation}
    params:
      label: is_fraud
      exclude: "transaction_id,customer_id,merchant_id,category,amount,hour,online,foreign"
      rounds: "${params.rounds}"
      max_depth: 5
      eta: 0.1
      early_stopping_rounds: 25
      eval_metric: auc
      seed: 7
  - id: evaluate                # candidate and production on the same test rows of the
    uses: evaluate              # last three days: the world as it is now
    inputs: {model: steps.train.model, test: steps.split.test}
    params: {label: is_fraud, endpoint: fraud, recent: 3d, metric: auc, min_improvement: 0.0,
             min_auc: 0.7}
  - id: register
    uses: register
    inputs: {model: steps.train.model, evaluation: steps.evaluate.evaluation}
    params: {name: fraud, feature_service: fraud_features}
  - id: canary
    uses: deploy-canary
    inputs: {model_version: steps.register.model_version, evaluation: steps.evaluate.evaluation}
    params: {endpoint: fraud, policy: canary.yaml}
)";
}

std::string_view CanaryPolicyYaml() {
  return R"(# The canary rollout of a retrained fraud model (docs/rollouts.md).
steps: [25, 50, 100]
interval: 2h
min_requests: 100
failure_limit: 2
# Latencies are tens of microseconds, where scheduling noise alone moves a p99 by half.
max_p99_ratio: 2.0
# A model retrained for a changed world scores differently by design; quality decides.
max_prediction_shift: 0.5
# Fraud is a few percent of payments, so two hundred labels hold about ten frauds: an AUC
# on them moves by hundredths by chance. The evaluation gate compared the two models on
# tens of thousands of rows already; live, the canary must not be clearly worse.
min_labels: 200
min_quality_delta: -0.05
progress_deadline: 24h
)";
}

std::string_view MonitoringPolicyYaml() {
  return R"(# Monitoring of the fraud endpoint (docs/monitoring.md).
window: {duration: 24h, slices: 24}  # drift over the last day (a whole daily cycle)
min_rows: 500                        # no drift verdict on fewer live values
dataset_drift_share: 0.3             # dataset drift: 30% of the inputs drifted
features:
  # The hour of day follows the clock: until a whole day is in the window its live
  # distribution differs from a month of training data by nature. Only a large shift counts.
  transaction__hour: {method: wasserstein, threshold: 0.5}
quality:
  window: {duration: 24h}            # quality from labels that arrived in the last day
  min_labels: 1000                   # no quality figure on fewer labels
)";
}

std::string_view AlertRulesYaml() {
  return R"(# Alert rules over ferry's own metrics (docs/alerts.md).
groups:
  - name: fraud-model
    interval: 10m
    rules:
      - alert: FraudFeatureDrift
        # Three inputs for two hours: a partial day in the window can tip one or two
        # inputs that follow the time of day, briefly; a change in the world stays.
        expr: sum by (endpoint, model, version) (ferry_feature_drift_detected{endpoint="fraud"}) >= 3
        for: 2h
        labels: {severity: warning}
        annotations:
          summary: "inputs of {{ $labels.model }}@{{ $labels.version }} drifted from its training data"
      - alert: FraudModelDegraded
        expr: ferry_model_quality{endpoint="fraud",metric="auc"} < 0.8
        for: 2h
        labels: {severity: critical}
        annotations:
          summary: "live AUC of {{ $labels.model }}@{{ $labels.version }} below 0.8"
        actions:
          - pipeline: {name: fraud_retrain}
)";
}

std::string_view ConfigYaml() {
  return R"(# ferry workspace configuration written by `ferry demo` (see README.md,
# "Configuration reference"): the demo's simulated clock jumps 15 minutes at a time, so
# the server looks for due work every few tens of milliseconds of real time.
version: 1
metadata: sqlite
log:
  level: warn
server:
  listen: "127.0.0.1:8080"
  access_log: false
serving:
  poll_interval_ms: 50
  rollout_tick_ms: 50
  monitoring_max_rows_per_second: 0
  prediction_log_retention_days: 60
alerts:
  evaluation_interval_ms: 50
pipelines:
  trigger_interval_ms: 50
)";
}

absl::Status WriteDemoFiles(const std::filesystem::path& root) {
  const std::pair<std::string_view, std::string_view> files[] = {
      {kFeaturesFile, demo::FeatureDefinitionsYaml()},
      {kPipelineFile, PipelineYaml()},
      {kCanaryFile, CanaryPolicyYaml()},
      {kMonitoringFile, MonitoringPolicyYaml()},
      {kAlertsFile, AlertRulesYaml()},
      {kConfigFile, ConfigYaml()},
  };
  for (const auto& [name, text] : files) {
    const std::filesystem::path path = root / name;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      return core::ErrnoToStatus(ec.value(), core::Cat("creating ", path.parent_path().string()));
    RETURN_IF_ERROR(core::WriteFileAtomically(path, text));
  }
  return absl::OkStatus();
}

}  // namespace ferry::cli::demo_files
