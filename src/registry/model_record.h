#pragma once

// The records of the model registry -- registered models, model versions, aliases
// and their history -- with the "registry" schema migrations that hold them (tables
// in docs/model-registry.md), model references, and version signatures.
//
// A registered model NAME has versions 1, 2, ... that never change once registered
// and whose numbers are never reused, even after a deletion. A version records where
// it came from (the source run, if any), its artifact (an object in the object store,
// by digest), its flavor (`xgboost`), its signature (the ordered input features with
// their types and the feature service that supplies them, and the output schema), its
// evaluation metrics, the reference statistics drift is measured against (a dataset
// version's profile), tags and status. Aliases (`production`, `canary`, any name)
// point at one version each and move; every move is kept with who, when and why.
//
// Thread-safety: value types and pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "store/metadata_store.h"
#include "store/migrations.h"
#include "table/schema.h"

namespace ferry::registry {

inline constexpr std::string_view kFlavorXGBoost = "xgboost";
inline constexpr std::string_view kStatusReady = "READY";

// How users name a model version: `NAME` (the latest version), `NAME@3`, `NAME@ALIAS`.
struct ModelRef {
  std::string name;
  std::optional<int64_t> version;
  std::optional<std::string> alias;
  std::string ToString() const;
};

// Names of registry things and of what refers to them (endpoints): 1-128 characters of
// [A-Za-z0-9._-] starting with a letter or digit. InvalidArgument naming `what`.
absl::Status ValidateIdentifier(std::string_view what, std::string_view text);
// Model names: identifiers as above.
absl::Status ValidateModelName(std::string_view name);
// Aliases: like names, but not all digits (versions) and not "latest".
absl::Status ValidateAlias(std::string_view alias);
// InvalidArgument naming the problem.
absl::StatusOr<ModelRef> ParseModelRef(std::string_view text);

struct SignatureField {
  std::string name;
  table::ColumnType type = table::ColumnType::kFloat64;
  friend bool operator==(const SignatureField&, const SignatureField&) = default;
};

// What a model takes and gives. As a file (`--signature FILE`):
//   {"feature_service": "fraud",
//    "inputs": [{"name": "avg_amount", "type": "float64"}, ...],
//    "outputs": [{"name": "score", "type": "float64"}]}
// Every key is optional; with a feature service and no inputs, the inputs are the
// service's features in its order.
struct Signature {
  std::string feature_service;  // empty: none
  std::vector<SignatureField> inputs;
  std::vector<SignatureField> outputs;
  bool empty() const { return feature_service.empty() && inputs.empty() && outputs.empty(); }
  friend bool operator==(const Signature&, const Signature&) = default;
};

// Parses a signature document. InvalidArgument naming the key that is wrong (unknown
// keys, names, types, duplicate input names).
absl::StatusOr<Signature> ParseSignature(std::string_view json_text);
nlohmann::json SignatureToJson(const Signature& signature);

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  std::string run_id;  // empty: registered without a run
  std::string artifact_digest;
  int64_t artifact_size = 0;
  std::string flavor;
  Signature signature;
  int64_t num_features = 0;
  std::vector<std::string> feature_names;  // as the model file names them; may be empty
  std::map<std::string, double> metrics;   // evaluation metrics (NaN/inf allowed)
  std::string reference_dataset;           // "NAME@N" whose profile is the reference
  std::string reference_profile;           // that profile's digest
  std::string status = std::string(kStatusReady);
  std::string description;
  int64_t created_at = 0;
  std::string created_by;
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;  // filled by readers

  std::string Ref() const;  // "NAME@V"
};

struct RegisteredModel {
  std::string name;
  std::string description;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t latest_version = 0;  // 0 when every version was deleted
  int64_t versions = 0;        // live versions
  std::map<std::string, std::string> tags;
  std::map<std::string, int64_t> aliases;  // alias -> version
};

// One move of an alias: set to `version` (nullopt: removed) from `previous`.
struct AliasChange {
  std::string alias;
  std::optional<int64_t> version;
  std::optional<int64_t> previous;
  std::string actor;
  std::string reason;
  int64_t at = 0;
};

nlohmann::json ModelVersionToJson(const ModelVersion& version);
nlohmann::json RegisteredModelToJson(const RegisteredModel& model);
nlohmann::json AliasChangeToJson(const AliasChange& change);

// The "registry" component's migrations, applied by ModelRegistry::Open.
std::span<const store::Migration> RegistryMigrations();

// The model_versions columns in the order VersionFromRow reads.
extern const char kModelVersionColumns[];
absl::StatusOr<ModelVersion> ModelVersionFromRow(const store::Row& row);

}  // namespace ferry::registry
