#pragma once

// InferenceService: one inference request, from a decoded RequestFrame to predictions:
//
//   1. The endpoint's current model (and the version asked for, if any).
//   2. The model's input rows: one tensor holding every input (width = the model's
//      input count), or one column per input by name. A request may instead give the
//      feature service's entity keys (e.g. customer_id); the inputs it does not give
//      are then fetched from the online store in-process (OnlineFeatures), and the
//      values it does give override the stored ones ("request-time features"). A
//      feature neither given nor stored follows the endpoint's missing-feature policy:
//      an error naming the feature and the entity, or a missing value.
//   3. The model's predictions, one call for the whole batch.
//   Around them, during a rollout: the request goes to the canary for its share of
//   traffic (at random, or by a hash of the sticky key so an entity stays on one model),
//   or is answered by production and copied to a shadow; each side's latency, failures
//   and scores are recorded for the rollout's analysis (LiveFigures).
//   4. A prediction id per row, and the rows handed to the prediction log (sampled;
//      never blocking).
//
// NaN means missing, as XGBoost treats it: the value takes each split's default
// branch. Infinite values are refused: XGBoost would compare them like any number,
// which is rarely what a caller meant.
//
// Thread-safety: Infer may be called from any number of threads at once; scratch
// buffers are per thread, so a warm thread allocates only the result's ids.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "features/shared_online_store.h"
#include "serving/endpoint_manager.h"
#include "serving/inference_codec.h"
#include "serving/prediction_log.h"

namespace ferry::serving {

struct InferenceResult {
  ServedModelPtr model;  // keeps the version alive while the response is written
  size_t rows = 0;
  std::vector<float> outputs;  // rows * model->num_outputs
  std::vector<std::string> prediction_ids;
  // The model's input rows as predicted (rows * num_inputs); they live in the request
  // or in this thread's scratch, so they are valid only until the thread's next request.
  std::span<const float> inputs;
};

class InferenceService {
 public:
  // `online` may be null (no enrichment); `log` may be null (nothing logged). All must
  // outlive the service.
  InferenceService(EndpointManager& endpoints, features::SharedOnlineStore* online,
                   PredictionLog* log, core::ClockPtr clock);

  // Errors: NotFound for an unknown endpoint or a version it does not serve;
  // Unavailable when the endpoint has no model loaded (with the reason) or the online
  // store cannot be read now; InvalidArgument naming the input, row or feature that is
  // wrong; the model's errors.
  absl::Status Infer(std::string_view endpoint, std::optional<std::string_view> version,
                     const RequestFrame& frame, InferenceResult& out) const;

  EndpointManager& endpoints() const { return endpoints_; }
  PredictionLog* log() const { return log_; }

 private:
  // Fills `rows` (frame.rows x model.num_inputs) from the frame, enriching when needed.
  // Runs one model on the frame: rows, prediction, and (with `log`) ids and the log.
  // `routing_key` names a request field that only routes (a rollout's sticky key): it
  // is not refused as an unknown input.
  absl::Status Run(const ServedModel& model, const RequestFrame& frame, bool log,
                   std::string_view routing_key, InferenceResult& out) const;
  // A shadow rollout's candidate answers the same request, for the comparison only.
  void Shadow(const ServedEndpoint& served, const RequestFrame& frame) const;
  // Whether this request goes to a canary: by the rollout's weight, drawn at random or
  // from the sticky key's hash.
  bool RouteToCandidate(const ServedEndpoint& served, const RequestFrame& frame) const;
  absl::Status Assemble(const ServedModel& model, const RequestFrame& frame,
                        std::string_view routing_key, std::vector<float>& rows) const;
  absl::Status Enrich(const ServedModel& model, const RequestFrame& frame,
                      std::vector<float>& rows, const std::vector<uint8_t>& given) const;
  void AssignIds(size_t rows, std::vector<std::string>& ids) const;

  EndpointManager& endpoints_;
  features::SharedOnlineStore* online_;
  PredictionLog* log_;
  core::ClockPtr clock_;
  const uint64_t id_prefix_;  // random per process: ids stay unique across restarts
  mutable std::atomic<uint64_t> next_id_{0};
};

}  // namespace ferry::serving
