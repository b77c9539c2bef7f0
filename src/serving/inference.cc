#include "serving/inference.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "core/error_mapping.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::serving {
namespace {

// Logs that an endpoint answers without its stored features, at most every 10 s.
void WarnDegraded(std::string_view endpoint, const absl::Status& why) {
  static std::atomic<int64_t> last_warned{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_warned.load();
  if (now - last < 10 || !last_warned.compare_exchange_strong(last, now)) return;
  spdlog::warn("serving: {}: answering without stored features (missing_features: missing): {}",
               endpoint, core::View(why.message()));
}

using core::Cat;

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

absl::Status CheckFinite(std::span<const float> values, size_t width, const ServedModel& model) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isinf(values[i])) {
      return absl::InvalidArgumentError(
          Cat("row ", i / width, ": input \"", model.input_names[i % width],
              "\" is infinite; send NaN (binary) or null (v1) for a missing value"));
    }
  }
  return absl::OkStatus();
}

const Column* FindColumn(const RequestFrame& frame, std::string_view name) {
  for (const Column& c : frame.columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool Present(const Column& c, size_t row) { return c.present.empty() || c.present[row] != 0; }

// Per-thread buffers: a warm thread reuses their capacity.
struct Scratch {
  std::vector<float> rows;
  std::vector<uint8_t> given;
  std::vector<features::EntityKeyValues> keys;
  features::OnlineResult online;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

InferenceService::InferenceService(EndpointManager& endpoints, features::SharedOnlineStore* online,
                                   PredictionLog* log, core::ClockPtr clock)
    : endpoints_(endpoints),
      online_(online),
      log_(log),
      clock_(std::move(clock)),
      id_prefix_(std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32)) {}

void InferenceService::AssignIds(size_t rows, std::vector<std::string>& ids) const {
  const uint64_t first = next_id_.fetch_add(rows, std::memory_order_relaxed);
  ids.resize(rows);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < rows; ++i) {
    // 12 hex digits of the process's prefix, then 12 of the counter.
    char text[24];
    const uint64_t prefix = id_prefix_ & 0xffffffffffffULL;
    const uint64_t counter = (first + i) & 0xffffffffffffULL;
    for (int d = 0; d < 12; ++d) {
      text[11 - d] = kHex[(prefix >> (4 * d)) & 0xf];
      text[23 - d] = kHex[(counter >> (4 * d)) & 0xf];
    }
    ids[i].assign(text, sizeof(text));
  }
}

absl::Status InferenceService::Infer(std::string_view endpoint,
                                     std::optional<std::string_view> version,
                                     const RequestFrame& frame, InferenceResult& out) const {
  ServedEndpointPtr served = endpoints_.FindEndpoint(endpoint);
  if (!served) return endpoints_.NotServing(endpoint);
  // Which model answers: the endpoint's, or during a canary rollout the candidate for its
  // share of requests. A version named in the request picks that side.
  const ServedModel* stable = served->stable.get();
  const ServedModel* candidate = served->candidate.get();
  const bool canary = candidate != nullptr && !served->rollout.shadow;
  bool to_candidate = canary && RouteToCandidate(*served, frame);
  if (version) {
    if (*version == stable->version_text) {
      to_candidate = false;
    } else if (canary && *version == candidate->version_text) {
      to_candidate = true;
    } else {
      return absl::NotFoundError(
          Cat("endpoint \"", endpoint, "\" serves version ", stable->version_text,
              canary ? Cat(" (and ", candidate->version_text, " as a canary)") : std::string(),
              " of ", stable->version.name, ", not version ", *version));
    }
  }
  const ServedModel& model = to_candidate ? *candidate : *stable;
  LiveFigures* figures =
      to_candidate ? served->candidate_figures.get() : served->stable_figures.get();
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = Run(model, frame, /*log=*/true, served->rollout.sticky_key, out);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (figures != nullptr) {
    figures->Record(seconds,
                    status.ok() ? std::span<const float>(out.outputs) : std::span<const float>(),
                    model.num_outputs, !status.ok());
  }
  if (model.metrics) {
    const int http = status.ok() ? 200
                     : status.code() == absl::StatusCode::kResourceExhausted
                         ? 413
                         : core::MapStatusCode(status.code()).http_status;
    model.metrics->Record(http, seconds, status.ok() ? frame.rows : 0);
  }
  if (!status.ok()) {
    if (model.monitor) model.monitor->CountFailed();
    return status;
  }
  if (model.monitor && model.monitor->Admit(out.rows)) {
    model.monitor->Observe(clock_->NowMicros(), out.inputs, out.outputs, out.rows, seconds);
  }
  out.model = to_candidate ? served->candidate : served->stable;
  if (candidate != nullptr && served->rollout.shadow) Shadow(*served, frame);
  return absl::OkStatus();
}

void InferenceService::Shadow(const ServedEndpoint& served, const RequestFrame& frame) const {
  // The shadow answers the same request; its outputs feed the comparison only.
  thread_local InferenceResult shadow;
  const auto start = std::chrono::steady_clock::now();
  absl::Status status =
      Run(*served.candidate, frame, /*log=*/false, served.rollout.sticky_key, shadow);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  served.candidate_figures->Record(
      seconds, status.ok() ? std::span<const float>(shadow.outputs) : std::span<const float>(),
      served.candidate->num_outputs, !status.ok());
  // The shadow's own monitor sees the same traffic, so its drift and prediction shift are
  // there to compare before it ever answers.
  if (status.ok() && served.candidate->monitor && served.candidate->monitor->Admit(shadow.rows)) {
    served.candidate->monitor->Observe(clock_->NowMicros(), shadow.inputs, shadow.outputs,
                                       shadow.rows, seconds);
  }
}

bool InferenceService::RouteToCandidate(const ServedEndpoint& served,
                                        const RequestFrame& frame) const {
  const int weight = served.rollout.weight;
  if (weight <= 0) return false;
  if (weight >= 100) return true;
  uint64_t bucket;
  const Column* sticky =
      served.rollout.sticky_key.empty() ? nullptr : FindColumn(frame, served.rollout.sticky_key);
  if (sticky != nullptr && frame.rows > 0 && Present(*sticky, 0)) {
    // The first row's key decides for the whole request, the same way on every server:
    // FNV-1a of the key's text (integers as decimal text, so 42 and "42" agree).
    char digits[32];
    std::string_view text;
    if (sticky->is_string) {
      text = sticky->strings[0];
    } else {
      const auto [end, ec] =
          !sticky->integers.empty()
              ? std::to_chars(digits, digits + sizeof(digits), sticky->integers[0])
              : std::to_chars(digits, digits + sizeof(digits), sticky->numbers[0]);
      text = std::string_view(digits, static_cast<size_t>(end - digits));
    }
    uint64_t hash = 14695981039346656037ULL;
    for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
    bucket = hash % 100;
  } else {
    thread_local std::mt19937_64 rng(std::random_device{}());
    bucket = rng() % 100;
  }
  return bucket < static_cast<uint64_t>(weight);
}

absl::Status InferenceService::Run(const ServedModel& served_model, const RequestFrame& frame,
                                   bool log, std::string_view routing_key,
                                   InferenceResult& out) const {
  const ServedModel* model = &served_model;
  if (frame.rows == 0) return absl::InvalidArgumentError("empty batch: no rows to predict");
  Batcher* batcher = frame.rows == 1 ? model->batcher.get() : nullptr;
  Arrival arrival(batcher);

  Scratch& scratch = ThreadScratch();
  std::span<const float> rows;
  if (frame.width > 0 && frame.columns.empty()) {
    if (frame.width != model->num_inputs) {
      return absl::InvalidArgumentError(Cat("input \"", frame.matrix_name, "\" has ", frame.width,
                                            " values per row but ", model->version.Ref(), " takes ",
                                            model->num_inputs, " inputs (",
                                            NameList(model->input_names), ")"));
    }
    rows = frame.matrix;
    RETURN_IF_ERROR(CheckFinite(rows, model->num_inputs, *model));
  } else {
    RETURN_IF_ERROR(Assemble(*model, frame, routing_key, scratch.rows));
    rows = scratch.rows;
  }

  out.outputs.resize(frame.rows * model->num_outputs);
  if (batcher != nullptr) {
    arrival.Joined();
    RETURN_IF_ERROR(batcher->PredictOne(rows, out.outputs));
  } else {
    RETURN_IF_ERROR(model->model->Predict(rows, out.outputs));
  }
  out.rows = frame.rows;
  out.inputs = rows;
  if (!log) return absl::OkStatus();
  AssignIds(frame.rows, out.prediction_ids);
  if (log_ != nullptr && log_->Sample()) {
    log_->Record(*model, out.prediction_ids, rows, out.outputs);
  }
  return absl::OkStatus();
}

absl::Status InferenceService::Assemble(const ServedModel& model, const RequestFrame& frame,
                                        std::string_view routing_key,
                                        std::vector<float>& rows) const {
  if (frame.width > 0) {
    return absl::InvalidArgumentError(
        Cat("input \"", frame.matrix_name,
            "\" holds whole rows, so no other input may be given; send either one tensor of"
            " every input or one tensor per input"));
  }
  const size_t n = model.num_inputs;
  const size_t count = frame.rows * n;
  std::vector<uint8_t>& given = ThreadScratch().given;
  rows.assign(count, kMissing);
  given.assign(count, 0);
  size_t filled = 0;
  for (const Column& c : frame.columns) {
    const int64_t index = model.InputIndex(c.name);
    if (index < 0) {
      if (model.IsJoinKey(c.name) || c.name == routing_key) continue;
      return absl::InvalidArgumentError(Cat("unknown input \"", c.name, "\"; ", model.version.Ref(),
                                            " takes ", NameList(model.input_names),
                                            model.query
                                                ? Cat(", or the entity keys of feature service \"",
                                                      model.version.signature.feature_service, "\"")
                                                : std::string()));
    }
    if (c.is_string) {
      return absl::InvalidArgumentError(Cat("input \"", c.name, "\" must be numeric, got strings"));
    }
    const size_t i = static_cast<size_t>(index);
    for (size_t r = 0; r < frame.rows; ++r) {
      if (!Present(c, r)) continue;
      const double v = c.numbers[r];
      if (std::isinf(v)) {
        return absl::InvalidArgumentError(
            Cat("row ", r, ": input \"", c.name,
                "\" is infinite; send NaN (binary) or null (v1) for a missing value"));
      }
      const size_t at = r * n + i;
      filled += given[at] == 0;
      rows[at] = static_cast<float>(v);
      given[at] = 1;
    }
  }
  if (filled == count) return absl::OkStatus();
  if (model.query) return Enrich(model, frame, rows, given);
  if (model.missing_features == MissingFeaturePolicy::kMissing) return absl::OkStatus();
  std::vector<std::string> missing;
  for (size_t i = 0; i < n; ++i) {
    for (size_t r = 0; r < frame.rows; ++r) {
      if (given[r * n + i] == 0) {
        missing.push_back(model.input_names[i]);
        break;
      }
    }
  }
  return absl::InvalidArgumentError(Cat("missing input", missing.size() > 1 ? "s " : " ",
                                        NameList(missing), " (", model.version.Ref(), " takes ", n,
                                        " inputs; endpoint \"", model.endpoint,
                                        "\" refuses missing features)"));
}

absl::Status InferenceService::Enrich(const ServedModel& model, const RequestFrame& frame,
                                      std::vector<float>& rows,
                                      const std::vector<uint8_t>& given) const {
  const features::OnlineQuery& query = *model.query;
  const std::string& service = model.version.signature.feature_service;
  const size_t n = model.num_inputs;
  Scratch& scratch = ThreadScratch();
  const std::vector<features::JoinKey>& join_keys = query.join_keys();
  scratch.keys.resize(join_keys.size());
  std::vector<const Column*> key_columns(join_keys.size());
  for (size_t k = 0; k < join_keys.size(); ++k) {
    const features::JoinKey& key = join_keys[k];
    const Column* c = FindColumn(frame, key.name);
    if (c == nullptr) {
      std::vector<std::string> missing;
      for (size_t i = 0; i < n; ++i) {
        if (given[i] == 0) missing.push_back(model.input_names[i]);
      }
      return absl::InvalidArgumentError(
          Cat("missing inputs ", NameList(missing), ": give them, or the entity key \"", key.name,
              "\" to fetch them from feature service \"", service, "\""));
    }
    key_columns[k] = c;
    features::EntityKeyValues& values = scratch.keys[k];
    values.name = key.name;
    values.type = key.type;
    if (key.type == table::ColumnType::kInt64) {
      if (c->is_string || c->integers.size() != frame.rows) {
        return absl::InvalidArgumentError(Cat("entity key \"", key.name, "\" must be integers"));
      }
      values.int64_values.assign(c->integers.begin(), c->integers.end());
    } else {
      values.string_values.resize(frame.rows);
      for (size_t r = 0; r < frame.rows; ++r) {
        if (c->is_string) {
          values.string_values[r] = c->strings[r];
        } else if (c->integers.size() == frame.rows) {
          values.string_values[r] = std::to_string(c->integers[r]);
        } else {
          return absl::InvalidArgumentError(
              Cat("entity key \"", key.name, "\" must be strings or integers"));
        }
      }
    }
  }
  if (online_ == nullptr) {
    return absl::UnavailableError("this server has no online store to enrich requests from");
  }
  absl::StatusOr<features::OnlineStore*> store = online_->Get();
  absl::Status fetched = store.status();
  if (store.ok()) {
    const features::OnlineFeatures online(**store, clock_);
    fetched = online.Get(query, scratch.keys, scratch.online);
  }
  if (!fetched.ok()) {
    // The online store is down (Redis unreachable, RocksDB held elsewhere): an endpoint
    // that takes missing features answers without them -- every stored feature missing --
    // instead of failing; one that refuses them fails with the store's error (503).
    if (fetched.code() != absl::StatusCode::kUnavailable ||
        model.missing_features != MissingFeaturePolicy::kMissing) {
      return fetched;
    }
    WarnDegraded(model.endpoint, fetched);
    return absl::OkStatus();
  }

  const auto describe_entity = [&](size_t r) {
    std::string text;
    for (size_t k = 0; k < join_keys.size(); ++k) {
      if (k > 0) text += ", ";
      const features::EntityKeyValues& v = scratch.keys[k];
      text += Cat(v.name, "=",
                  v.type == table::ColumnType::kInt64 ? std::to_string(v.int64_values[r])
                                                      : Cat("\"", v.string_values[r], "\""));
    }
    return text;
  };
  for (size_t i = 0; i < scratch.online.columns.size(); ++i) {
    const features::OnlineColumn& column = scratch.online.columns[i];
    const size_t input = model.query_inputs[i];
    for (size_t r = 0; r < frame.rows; ++r) {
      const size_t at = r * n + input;
      if (given[at] != 0) continue;
      for (size_t k = 0; k < key_columns.size(); ++k) {
        if (!Present(*key_columns[k], r)) {
          return absl::InvalidArgumentError(Cat("row ", r, ": no value for input \"",
                                                model.input_names[input], "\" and no entity key \"",
                                                join_keys[k].name, "\" to fetch it"));
        }
      }
      const features::FeatureStatus status = column.statuses[r];
      if (status != features::FeatureStatus::kPresent) {
        if (model.missing_features == MissingFeaturePolicy::kMissing) continue;
        return absl::InvalidArgumentError(Cat("row ", r, ": feature \"", model.input_names[input],
                                              "\" is ", features::FeatureStatusName(status),
                                              " for ", describe_entity(r), " in feature service \"",
                                              service, "\"; endpoint \"", model.endpoint,
                                              "\" refuses missing features"));
      }
      switch (column.type) {
        case table::ColumnType::kFloat64:
          rows[at] = static_cast<float>(column.Float64(r));
          break;
        case table::ColumnType::kBool:
          rows[at] = column.Bool(r) ? 1.0f : 0.0f;
          break;
        default:  // int64 and timestamps; strings were refused at load
          rows[at] = static_cast<float>(column.Int64(r));
          break;
      }
    }
  }
  // Request-time features: only the request can give them.
  if (model.missing_features == MissingFeaturePolicy::kMissing) return absl::OkStatus();
  for (const size_t input : model.request_inputs) {
    for (size_t r = 0; r < frame.rows; ++r) {
      if (given[r * n + input] != 0) continue;
      return absl::InvalidArgumentError(
          Cat("row ", r, ": no value for input \"", model.input_names[input],
              "\", a request-time feature (feature service \"", service,
              "\" does not supply it): give it in the request"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::serving
