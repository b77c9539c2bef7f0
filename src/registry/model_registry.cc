// ModelRegistry: registering, reading and deleting versions. Aliases and tags are in
// model_aliases.cc.

#include "registry/model_registry.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/strings.h"
#include "lineage/lineage_graph.h"
#include "registry/model_holds.h"
#include "registry/model_queries.h"
#include "registry/xgboost_model.h"
#include "store/migrations.h"
#include "store/store_lock.h"

namespace ferry::registry {
namespace {

using core::Cat;
using nlohmann::json;
using store::Row;
using store::Transaction;

constexpr std::chrono::seconds kLockTimeout{60};

// XGBoost's feature types as signature types.
table::ColumnType TypeOfXGBoostFeature(std::string_view type) {
  if (type == "int") return table::ColumnType::kInt64;
  if (type == "i") return table::ColumnType::kBool;
  if (type == "c") return table::ColumnType::kString;
  return table::ColumnType::kFloat64;
}

std::string Names(const std::vector<SignatureField>& fields) {
  std::string out;
  for (const SignatureField& f : fields) out += Cat(out.empty() ? "" : ", ", f.name);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Open(
    store::Workspace& workspace, const dataset::DatasetStore& datasets,
    const features::FeatureRegistry& features, const tracking::TrackingStore& tracking) {
  const int64_t now = workspace.clock().NowMicros();
  RETURN_IF_ERROR(lineage::Migrate(workspace.metadata(), now));
  RETURN_IF_ERROR(
      store::ApplyMigrations(workspace.metadata(), "registry", RegistryMigrations(), now).status());
  return std::unique_ptr<ModelRegistry>(new ModelRegistry(workspace, datasets, features, tracking));
}

absl::StatusOr<Signature> ModelRegistry::CheckSignature(Signature signature,
                                                       const XGBoostModelInfo& model) const {
  const int64_t num_features = model.num_features;
  const std::vector<std::string>& model_names = model.feature_names;
  if (!signature.feature_service.empty()) {
    ASSIGN_OR_RETURN(features::FeatureSelection selection,
                     features_.SelectService(signature.feature_service));
    std::vector<SignatureField> supplied;
    std::vector<std::string> full_names;
    for (const features::FeatureRef& ref : selection.refs) {
      for (const auto& part : selection.views) {
        if (part.view.name != ref.view) continue;
        for (const features::Feature& f : part.features) {
          if (f.name == ref.feature) supplied.push_back({f.name, f.type});
        }
      }
      full_names.push_back(Cat(ref.view, "__", ref.feature));
    }
    if (signature.inputs.empty()) {
      if (!model_names.empty() && static_cast<int64_t>(model_names.size()) == num_features) {
        // The model's own names, typed as the service supplies them; the names it does
        // not supply are request-time features.
        for (size_t i = 0; i < model_names.size(); ++i) {
          table::ColumnType type = i < model.feature_types.size()
                                       ? TypeOfXGBoostFeature(model.feature_types[i])
                                       : table::ColumnType::kFloat64;
          for (size_t f = 0; f < supplied.size(); ++f) {
            if (model_names[i] == supplied[f].name || model_names[i] == full_names[f]) {
              type = supplied[f].type;
            }
          }
          signature.inputs.push_back({model_names[i], type});
        }
      } else {
        signature.inputs = supplied;
      }
    }
    // Every feature the service supplies is an input, once; the other inputs are
    // request-time features.
    std::vector<bool> taken(signature.inputs.size(), false);
    for (size_t f = 0; f < supplied.size(); ++f) {
      size_t i = 0;
      while (i < signature.inputs.size() && signature.inputs[i].name != supplied[f].name &&
             signature.inputs[i].name != full_names[f]) {
        ++i;
      }
      if (i == signature.inputs.size() || taken[i]) {
        return absl::InvalidArgumentError(
            Cat("signature: feature service \"", signature.feature_service, "\" supplies \"",
                supplied[f].name, "\" but no", i == signature.inputs.size() ? "" : " other",
                " input is named \"", supplied[f].name, "\" or \"", full_names[f],
                "\" (inputs: ", Names(signature.inputs), ")"));
      }
      taken[i] = true;
      const SignatureField& in = signature.inputs[i];
      if (in.type != supplied[f].type) {
        return absl::InvalidArgumentError(
            Cat("signature: input \"", in.name, "\" is ", table::ColumnTypeName(in.type),
                " but feature service \"", signature.feature_service, "\" supplies it as ",
                table::ColumnTypeName(supplied[f].type)));
      }
    }
  }
  if (signature.inputs.empty() && !model_names.empty()) {
    // No signature given: the model's own names are the best description of its inputs.
    for (size_t i = 0; i < model_names.size(); ++i) {
      signature.inputs.push_back(
          {model_names[i], i < model.feature_types.size()
                               ? TypeOfXGBoostFeature(model.feature_types[i])
                               : table::ColumnType::kFloat64});
    }
  }
  if (!signature.inputs.empty() &&
      static_cast<int64_t>(signature.inputs.size()) != num_features) {
    return absl::InvalidArgumentError(Cat("signature lists ", signature.inputs.size(),
                                          " inputs (", Names(signature.inputs),
                                          ") but the model takes ", num_features, " features"));
  }
  for (size_t i = 0; i < model_names.size() && i < signature.inputs.size(); ++i) {
    if (model_names[i] != signature.inputs[i].name) {
      return absl::InvalidArgumentError(Cat("signature: input ", i + 1, " is \"",
                                            signature.inputs[i].name, "\" but the model was"
                                            " trained with \"", model_names[i], "\" there"));
    }
  }
  return signature;
}

absl::StatusOr<ModelVersion> ModelRegistry::Register(std::string_view name,
                                                     const std::filesystem::path& artifact,
                                                     const RegisterOptions& options) {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (options.flavor != kFlavorXGBoost) {
    return absl::InvalidArgumentError(
        Cat("unknown model flavor \"", options.flavor, "\" (supported: xgboost)"));
  }
  for (const auto& [key, value] : options.tags) RETURN_IF_ERROR(tracking::ValidateKey("tag", key));
  for (const auto& [key, value] : options.metrics) {
    RETURN_IF_ERROR(tracking::ValidateKey("metric", key));
  }
  ASSIGN_OR_RETURN(XGBoostModelInfo model,
                   InspectXGBoostModelFile(artifact, RegisterOptions::kMaxArtifactBytes,
                                           options.artifact_name));

  ModelVersion v;
  v.name = std::string(name);
  v.flavor = options.flavor;
  v.num_features = model.num_features;
  v.feature_names = model.feature_names;
  v.description = options.description;
  v.created_by = options.actor;
  v.tags = options.tags;
  std::string reference = options.reference_dataset;
  std::vector<std::string> run_inputs;
  if (!options.run_id.empty()) {
    ASSIGN_OR_RETURN(tracking::Run run, tracking_.GetRun(options.run_id));
    v.run_id = run.info.run_id;
    for (const tracking::MetricPoint& m : run.metrics) v.metrics[m.key] = m.value;
    for (const tracking::RunInput& input : run.inputs) {
      run_inputs.push_back(input.dataset_version);
      if (reference.empty() && input.role == tracking::InputRole::kTrain) {
        reference = input.dataset_version;
      }
    }
  }
  for (const auto& [key, value] : options.metrics) v.metrics[key] = value;
  if (!reference.empty()) {
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(reference));
    ASSIGN_OR_RETURN(dataset::VersionRecord version, datasets_.Resolve(ref));
    if (!version.profile) {
      return absl::InvalidArgumentError(Cat("reference dataset ", version.Ref(),
                                            " is not a table, so it has no statistics"));
    }
    v.reference_dataset = version.Ref();
    v.reference_profile = *version.profile;
  }
  ASSIGN_OR_RETURN(v.signature, CheckSignature(options.signature.value_or(Signature{}), model));

  // The artifact is stored under the shared store lock and listed in object_roots
  // before the lock is released, so a concurrent gc cannot take it.
  ASSIGN_OR_RETURN(store::StoreLock lock,
                   store::StoreLock::Acquire(workspace_.ferry_dir() / "store.lock",
                                             store::StoreLock::Mode::kShared, kLockTimeout));
  ASSIGN_OR_RETURN(store::PutResult put, workspace_.objects().PutFile(artifact));
  v.artifact_digest = put.digest.ToHex();
  v.artifact_size = static_cast<int64_t>(put.size);
  v.created_at = workspace_.clock().NowMicros();
  json metrics = json::object();
  for (const auto& [key, value] : v.metrics) metrics[key] = tracking::MetricValueToJson(value);

  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO registered_models (name, description, created_at,"
                               " updated_at, last_version) VALUES (?, '', ?, ?, 0)"
                               " ON CONFLICT DO NOTHING",
                               {v.name, v.created_at, v.created_at})
                        .status());
    ASSIGN_OR_RETURN(auto last, tx.QueryOptional("SELECT last_version FROM registered_models"
                                                 " WHERE name = ?",
                                                 {v.name}));
    v.version = last->Int(0) + 1;
    RETURN_IF_ERROR(tx.Execute("UPDATE registered_models SET last_version = ?, updated_at = ?"
                               " WHERE name = ?",
                               {v.version, v.created_at, v.name})
                        .status());
    RETURN_IF_ERROR(tx.Execute(Cat("INSERT INTO model_versions (", kModelVersionColumns,
                                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                               {v.name, v.version, v.run_id, v.artifact_digest, v.artifact_size,
                                v.flavor, SignatureToJson(v.signature).dump(), v.num_features,
                                json(v.feature_names).dump(), metrics.dump(),
                                v.reference_dataset, v.reference_profile, v.status,
                                v.description, v.created_at, v.created_by})
                        .status());
    for (const auto& [key, value] : v.tags) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO model_version_tags (name, version, key, value)"
                                 " VALUES (?, ?, ?, ?)",
                                 {v.name, v.version, key, value})
                          .status());
    }
    RETURN_IF_ERROR(tx.Execute("INSERT INTO object_roots (owner, digest) VALUES (?, ?)"
                               " ON CONFLICT DO NOTHING",
                               {Cat("model:", v.Ref()), v.artifact_digest})
                        .status());
    const lineage::Node node{std::string(lineage::kind::kModelVersion), v.Ref()};
    std::vector<lineage::Edge> edges;
    if (!v.run_id.empty()) edges.push_back({{std::string(lineage::kind::kRun), v.run_id}, node, "run"});
    if (!v.signature.feature_service.empty()) {
      edges.push_back({{std::string(lineage::kind::kFeatureService), v.signature.feature_service},
                       node, "feature_service"});
    }
    if (!v.reference_dataset.empty() &&
        std::find(run_inputs.begin(), run_inputs.end(), v.reference_dataset) == run_inputs.end()) {
      edges.push_back({{std::string(lineage::kind::kDatasetVersion), v.reference_dataset}, node,
                       "reference"});
    }
    return lineage::Record(tx, edges, v.created_at);
  }));
  return v;
}

absl::StatusOr<std::vector<RegisteredModel>> ModelRegistry::ListModels() const {
  std::vector<RegisteredModel> models;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name FROM registered_models ORDER BY name"));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(RegisteredModel m, LoadModel(tx, row.Text(0)));
      models.push_back(std::move(m));
    }
    return absl::OkStatus();
  }));
  return models;
}

absl::StatusOr<RegisteredModel> ModelRegistry::GetModel(std::string_view name) const {
  RegisteredModel model;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(model, LoadModel(tx, name));
    return absl::OkStatus();
  }));
  return model;
}

absl::StatusOr<std::vector<ModelVersion>> ModelRegistry::ListVersions(std::string_view name) const {
  std::vector<ModelVersion> versions;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(LoadModel(tx, name).status());
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT version FROM model_versions WHERE name = ?"
                                         " ORDER BY version DESC",
                                         {name}));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(ModelVersion v, LoadVersion(tx, name, row.Int(0)));
      versions.push_back(std::move(v));
    }
    return absl::OkStatus();
  }));
  return versions;
}

absl::StatusOr<ModelVersion> ModelRegistry::Resolve(const ModelRef& ref) const {
  ModelVersion version;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t number, ResolveNumber(tx, ref));
    ASSIGN_OR_RETURN(version, LoadVersion(tx, ref.name, number));
    return absl::OkStatus();
  }));
  return version;
}

absl::Status ModelRegistry::DeleteVersion(const ModelRef& ref) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t number, ResolveNumber(tx, ref));
    RETURN_IF_ERROR(LoadVersion(tx, ref.name, number).status());
    const std::string label = Cat(ref.name, "@", number);
    ASSIGN_OR_RETURN(auto aliases, tx.Query("SELECT alias FROM model_aliases WHERE name = ?"
                                            " AND version = ? ORDER BY alias",
                                            {ref.name, number}));
    if (!aliases.empty()) {
      std::string names;
      for (const Row& row : aliases) names += Cat(names.empty() ? "" : ", ", row.Text(0));
      return absl::FailedPreconditionError(
          Cat("model ", label, " is still the target of alias ", names, "; move or delete the"
              " alias first (`ferry models alias`)"));
    }
    // A deployment serving this version holds it (model_holds.h); asked in this
    // transaction, so a deployment made meanwhile cannot slip in between.
    ModelRef version_ref{ref.name, number, std::nullopt};
    RETURN_IF_ERROR(RefuseIfHeld(tx, version_ref, label));
    RETURN_IF_ERROR(tx.Execute("DELETE FROM model_version_tags WHERE name = ? AND version = ?",
                               {ref.name, number})
                        .status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM model_versions WHERE name = ? AND version = ?",
                               {ref.name, number})
                        .status());
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM object_roots WHERE owner = ?", {Cat("model:", label)}).status());
    return lineage::RemoveNode(tx, {std::string(lineage::kind::kModelVersion), label});
  });
}

}  // namespace ferry::registry
