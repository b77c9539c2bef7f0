#pragma once

// ModelRegistry: registered models, their versions, tags and aliases (model_record.h),
// in the "registry" component of the metadata store, with each version's artifact in
// the object store and its lineage in the lineage graph.
//
// Registering a version checks everything before writing anything: the flavor's
// library loads the artifact (for `xgboost`, libxgboost; its feature count and names
// are recorded), the signature agrees with the model (as many inputs as the model has
// features; the same names, in order, when the model names them) and with the feature
// registry (its feature service exists and supplies exactly its inputs, in order, with
// their types), the source run exists. Then one transaction creates the version with
// its lineage edges (run -> model version, feature service -> model version) and the
// object root that keeps its artifact from `ferry data gc`.
//
// A version's evaluation metrics default to its run's latest metric values; its
// reference statistics to the profile of the run's training input (role "train").
//
// Deleting a version refuses while an alias points at it (FailedPrecondition naming
// the aliases) or while a hold names it (model_holds.h: a deployment serving it);
// deleting an alias refuses while a hold names the alias. Moving a held alias is allowed.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "registry/model_record.h"
#include "registry/xgboost_model.h"
#include "store/workspace.h"
#include "tracking/tracking_store.h"

namespace ferry::registry {

struct RegisterOptions {
  static constexpr uint64_t kMaxArtifactBytes = uint64_t{4} << 30;  // loaded whole to check

  std::string flavor = std::string(kFlavorXGBoost);
  std::string run_id;                  // empty: none
  std::optional<Signature> signature;  // validated as described above
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, double> metrics;  // over the run's latest values
  std::string reference_dataset;          // a dataset reference; empty: the run's train input
  std::string actor;                      // who registers
  std::string artifact_name;  // how messages name the artifact (default: its file name)
};

class ModelRegistry {
 public:
  // Applies the "registry" (and "lineage") migrations. Everything given must outlive
  // the registry.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Open(
      store::Workspace& workspace, const dataset::DatasetStore& datasets,
      const features::FeatureRegistry& features, const tracking::TrackingStore& tracking);

  // Registers the file at `artifact` as the next version of `name` (created if new).
  // Errors: InvalidArgument for a bad name, an unknown flavor, an artifact the flavor
  // cannot load ("not a loadable XGBoost model: ..."), or a signature that disagrees
  // with the model or its feature service; NotFound for the file, the run, the feature
  // service or the reference dataset; ResourceExhausted for an artifact over
  // kMaxArtifactBytes.
  absl::StatusOr<ModelVersion> Register(std::string_view name,
                                        const std::filesystem::path& artifact,
                                        const RegisterOptions& options);

  // Every registered model, by name.
  absl::StatusOr<std::vector<RegisteredModel>> ListModels() const;
  // NotFound ("no model named ...").
  absl::StatusOr<RegisteredModel> GetModel(std::string_view name) const;
  // The versions of a model, newest first, with tags and aliases. NotFound.
  absl::StatusOr<std::vector<ModelVersion>> ListVersions(std::string_view name) const;
  // The version a reference names, with tags and aliases. NotFound naming what is
  // missing (model, version or alias).
  absl::StatusOr<ModelVersion> Resolve(const ModelRef& ref) const;

  // Points `alias` at the version `ref` names (moving it if it points elsewhere) and
  // records the move with `actor` and `reason`. Setting it where it already points is
  // a no-op. Errors: InvalidArgument for a bad alias; NotFound.
  absl::StatusOr<AliasChange> SetAlias(const ModelRef& ref, std::string_view alias,
                                       std::string_view actor, std::string_view reason);
  // Removes an alias, recording it. NotFound when the model has no such alias;
  // FailedPrecondition naming the holders while a hold names it (an endpoint follows it).
  absl::StatusOr<AliasChange> DeleteAlias(std::string_view name, std::string_view alias,
                                          std::string_view actor, std::string_view reason);
  // Every move of the model's aliases (of `alias` only when not empty), oldest first.
  absl::StatusOr<std::vector<AliasChange>> AliasHistory(std::string_view name,
                                                        std::string_view alias) const;

  // Sets (or with `value` nullopt removes) a tag of a version, or of the model when
  // `ref` names no version and no alias. Errors: InvalidArgument for a bad key;
  // NotFound.
  absl::Status SetTag(const ModelRef& ref, std::string_view key,
                      const std::optional<std::string>& value);

  // Deletes a version: its record, tags, lineage and object root (the artifact itself
  // goes at the next `ferry data gc` unless something else keeps it). Errors:
  // FailedPrecondition when an alias points at it or a hold names it (naming the
  // holders and how to release them); NotFound.
  absl::Status DeleteVersion(const ModelRef& ref);

 private:
  ModelRegistry(store::Workspace& workspace, const dataset::DatasetStore& datasets,
                const features::FeatureRegistry& features,
                const tracking::TrackingStore& tracking)
      : workspace_(workspace), datasets_(datasets), features_(features), tracking_(tracking) {}

  // Fills in and checks a signature against the model and the feature registry.
  absl::StatusOr<Signature> CheckSignature(Signature signature,
                                           const XGBoostModelInfo& model) const;

  store::Workspace& workspace_;
  const dataset::DatasetStore& datasets_;
  const features::FeatureRegistry& features_;
  const tracking::TrackingStore& tracking_;
};

}  // namespace ferry::registry
