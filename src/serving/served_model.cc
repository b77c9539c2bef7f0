#include "serving/served_model.h"

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::serving {
namespace {

using core::Cat;

std::string MetadataJson(const ServedModel& m) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  for (const std::string& name : m.input_names) {
    inputs.push_back({{"name", name}, {"datatype", "FP32"}, {"shape", {-1}}});
  }
  nlohmann::ordered_json output_shape = m.num_outputs == 1
                                            ? nlohmann::ordered_json{-1}
                                            : nlohmann::ordered_json{-1, m.num_outputs};
  const ModelDescription& d = m.model->description();
  nlohmann::ordered_json parameters = {
      {"model", m.version.Ref()},
      {"objective", d.objective},
      {"evaluator", d.evaluator},
      // The alternative to one tensor per input: every input in one tensor, in order.
      {"matrix_input", {{"datatype", "FP32"}, {"shape", {-1, m.num_inputs}}}},
      {"missing_features", MissingFeaturePolicyName(m.missing_features)},
  };
  if (m.query) {
    nlohmann::ordered_json keys = nlohmann::ordered_json::array();
    for (const features::JoinKey& key : m.query->join_keys()) {
      keys.push_back({{"name", key.name},
                      {"datatype", key.type == table::ColumnType::kInt64 ? "INT64" : "BYTES"},
                      {"shape", {-1}}});
    }
    parameters["feature_service"] = m.version.signature.feature_service;
    parameters["entity_keys"] = std::move(keys);
    if (!m.request_inputs.empty()) {
      nlohmann::ordered_json request = nlohmann::ordered_json::array();
      for (const size_t i : m.request_inputs) request.push_back(m.input_names[i]);
      parameters["request_inputs"] = std::move(request);
    }
  }
  return nlohmann::ordered_json{
      {"name", m.endpoint},
      {"versions", {m.version_text}},
      {"platform", d.platform},
      {"inputs", std::move(inputs)},
      {"outputs", {{{"name", kPredictOutput}, {"datatype", "FP32"}, {"shape", output_shape}}}},
      {"parameters", std::move(parameters)},
  }
      .dump();
}

}  // namespace

std::string NameList(const std::vector<std::string>& names) {
  constexpr size_t kShown = 8;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kShown) out += Cat(" and ", names.size() - kShown, " more");
  return out;
}

bool ServedModel::IsJoinKey(std::string_view name) const {
  if (!query) return false;
  for (const features::JoinKey& key : query->join_keys()) {
    if (key.name == name) return true;
  }
  return false;
}

bool FeaturesChanged(const ServedModel& model, const features::FeatureSelection& selection) {
  if (selection.views.size() != model.feature_views.size()) return true;
  for (size_t i = 0; i < selection.views.size(); ++i) {
    const auto& now = selection.views[i];
    const auto& then = model.feature_views[i];
    if (!(now.view == then.view) || now.join_keys != then.join_keys ||
        now.features != then.features) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<ServedModelPtr> BuildServedModel(const Deployment& deployment,
                                                const registry::ModelVersion& version,
                                                LoadedModelPtr model,
                                                const features::FeatureRegistry* features,
                                                const BatchingOptions& batching,
                                                int64_t now_micros, ServingMetrics* metrics,
                                                const MonitorFactory& monitor) {
  auto m = std::make_shared<ServedModel>();
  m->endpoint = deployment.endpoint;
  m->version = version;
  m->version_text = std::to_string(version.version);
  m->missing_features = deployment.missing_features;
  m->model = std::move(model);
  const ModelDescription& d = m->model->description();
  m->num_inputs = static_cast<size_t>(d.num_features);
  m->num_outputs = static_cast<size_t>(d.num_outputs);
  m->loaded_at = now_micros;
  if (metrics != nullptr) m->metrics = metrics->For(m->endpoint, version.name, version.version);

  const registry::Signature& signature = version.signature;
  if (!signature.inputs.empty()) {
    if (signature.inputs.size() != m->num_inputs) {
      return absl::InvalidArgumentError(
          Cat(version.Ref(), ": its signature lists ", signature.inputs.size(),
              " inputs but the model takes ", m->num_inputs, " features"));
    }
    for (const registry::SignatureField& field : signature.inputs) {
      m->input_names.push_back(field.name);
    }
  } else if (d.feature_names.size() == m->num_inputs) {
    m->input_names = d.feature_names;
  } else {
    for (size_t i = 0; i < m->num_inputs; ++i) m->input_names.push_back(Cat("f", i));
  }
  for (size_t i = 0; i < m->input_names.size(); ++i) {
    m->input_index.emplace(m->input_names[i], i);
  }

  if (!signature.feature_service.empty()) {
    if (features == nullptr) {
      return absl::FailedPreconditionError(
          Cat(version.Ref(), ": needs feature service \"", signature.feature_service,
              "\" but the feature registry is not available"));
    }
    ASSIGN_OR_RETURN(features::FeatureSelection selection,
                     features->SelectService(signature.feature_service));
    // Full names keep outputs of different views apart.
    ASSIGN_OR_RETURN(features::OnlineQuery query,
                     features::OnlineQuery::Prepare(selection, {.full_feature_names = true}));
    std::vector<bool> supplied(m->num_inputs, false);
    for (size_t i = 0; i < query.feature_types().size(); ++i) {
      const std::string& full_name = query.feature_names()[i];  // "view__feature"
      if (query.feature_types()[i] == table::ColumnType::kString) {
        return absl::InvalidArgumentError(
            Cat(version.Ref(), ": feature \"", full_name, "\" of service \"",
                signature.feature_service, "\" is a string; XGBoost models take numbers"));
      }
      int64_t input = m->InputIndex(selection.refs[i].feature);
      if (input < 0) input = m->InputIndex(full_name);
      if (input < 0 || supplied[static_cast<size_t>(input)]) {
        return absl::FailedPreconditionError(
            Cat(version.Ref(), ": feature service \"", signature.feature_service,
                "\" now supplies \"", full_name, "\", which is not one of the model's inputs (",
                NameList(m->input_names),
                "); the service changed since the model was registered"));
      }
      supplied[static_cast<size_t>(input)] = true;
      m->query_inputs.push_back(static_cast<size_t>(input));
      m->input_index.emplace(full_name, static_cast<size_t>(input));
    }
    for (size_t i = 0; i < m->num_inputs; ++i) {
      if (!supplied[i]) m->request_inputs.push_back(i);
    }
    m->query = std::make_shared<const features::OnlineQuery>(std::move(query));
    m->feature_views = selection.views;
  }
  if (batching.max_delay.count() > 0) {
    m->batcher = std::make_unique<Batcher>(*m->model, batching.max_delay, batching.max_rows);
  }
  m->metadata_json = MetadataJson(*m);
  if (monitor) m->monitor = monitor(*m);
  return ServedModelPtr(std::move(m));
}

}  // namespace ferry::serving
