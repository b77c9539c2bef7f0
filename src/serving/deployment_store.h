#pragma once

// DeploymentStore: ferry's serving endpoints, kept in the "serving" component of the
// metadata store so that a restarted server restores them. An endpoint (a name such as
// "fraud") serves one model reference: a pinned version ("fraud-model@3") or an alias
// ("fraud-model@production"), which the endpoint follows when the alias moves.
//
// Tables and JSON: docs/deployments.md.
//
// A deployment holds what it serves in the registry (ModelRegistry's holds): deleting
// a pinned version, or removing an alias an endpoint follows, is refused while the
// deployment exists, naming the endpoint.
//
// `ferry server` learns of changes by polling Resolve (one indexed query, a few times a
// second), which answers every endpoint with the version its reference resolves to
// now; the server loads what changed and swaps it in.
//
// Thread-safety: safe for concurrent use from threads and processes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
#include "monitoring/monitoring_policy.h"
#include "registry/model_record.h"
#include "store/workspace.h"

namespace ferry::serving {

// What an endpoint does when a feature the model needs is neither given in the request
// nor found in the online store.
enum class MissingFeaturePolicy : uint8_t {
  kError,    // the request fails with 400 naming the feature and the entity
  kMissing,  // the value is missing (NaN): the model's default branch, as XGBoost does
};
std::string_view MissingFeaturePolicyName(MissingFeaturePolicy policy);  // "error", "missing"
absl::StatusOr<MissingFeaturePolicy> ParseMissingFeaturePolicy(std::string_view text);

// Endpoint names: 1-128 characters of [A-Za-z0-9._-] starting with a letter or digit
// (they appear in URLs: /v2/models/{endpoint}/infer), other than "list", "status",
// "delete", "promote", "rollback", "pause" and "resume" (verbs of `ferry deploy`).
// InvalidArgument saying which rule is broken.
absl::Status ValidateEndpointName(std::string_view name);

struct Deployment {
  std::string endpoint;
  registry::ModelRef model;  // name with exactly one of version or alias set
  MissingFeaturePolicy missing_features = MissingFeaturePolicy::kError;
  // How live traffic is compared with the model's training reference.
  monitoring::MonitoringPolicy monitoring;
  int64_t created_at = 0;  // microseconds since the epoch
  int64_t updated_at = 0;
  std::string updated_by;
  // Bumped by every change of this deployment (Put with different settings).
  int64_t generation = 1;
};

// A deployment and the model version its reference resolves to now.
struct ResolvedDeployment {
  Deployment deployment;
  // The version served; nullopt when the reference no longer resolves (cannot happen
  // while holds are kept, but a store edited by hand may say so).
  std::optional<int64_t> version;
  std::string artifact_digest;  // of that version; empty when unresolved
  std::string flavor;
};

// {"endpoint", "model" ("NAME@V" or "NAME@ALIAS"), "model_name", "model_version",
//  "model_alias" (null when not set), "missing_features", "created_at", "updated_at"
//  (RFC 3339), "updated_by", "generation", "monitoring" (monitoring_policy.h's JSON), "resolved_version", "artifact_digest", "flavor"
//  (the last three null when unresolved)}: what `ferry deploy ... --json` prints.
nlohmann::json ResolvedDeploymentToJson(const ResolvedDeployment& resolved);

struct DeployOptions {
  std::string endpoint;
  registry::ModelRef model;  // NAME@V or NAME@ALIAS; a bare NAME is refused (ambiguous)
  MissingFeaturePolicy missing_features = MissingFeaturePolicy::kError;
  std::string actor;
  monitoring::MonitoringPolicy monitoring;
};

// Inside a caller's write transaction, for components that change a deployment atomically
// with rows of their own (a rollout promoting its candidate on a pinned endpoint).
// FindDeployment: the endpoint's deployment, nullopt when there is none.
// PutDeployment: what DeploymentStore::Put does, with its errors.
absl::StatusOr<std::optional<Deployment>> FindDeployment(store::Transaction& tx,
                                                         std::string_view endpoint);
absl::StatusOr<Deployment> PutDeployment(store::Transaction& tx, const DeployOptions& options,
                                         int64_t now_micros);

class DeploymentStore {
 public:
  // Applies the "serving" migrations. The workspace must outlive the store.
  static absl::StatusOr<std::unique_ptr<DeploymentStore>> Open(store::Workspace& workspace);

  // Creates the endpoint, or points an existing one at a new reference / policy (its
  // generation bumps; an identical Put is a no-op). Checks in the same transaction that
  // the reference resolves (NotFound naming the model, version or alias), moves the
  // registry holds, and returns the deployment. InvalidArgument for a bad endpoint
  // name or a reference without version or alias.
  absl::StatusOr<Deployment> Put(const DeployOptions& options);

  // InvalidArgument for a name no endpoint can have (ValidateEndpointName); NotFound
  // ("no endpoint named ...").
  absl::StatusOr<Deployment> Get(std::string_view endpoint) const;
  // Every endpoint, by name.
  absl::StatusOr<std::vector<Deployment>> List() const;
  // Removes the endpoint and its registry holds. InvalidArgument as Get; NotFound.
  absl::Status Delete(std::string_view endpoint);

  // Every endpoint with the version it resolves to now, by name, in one query.
  absl::StatusOr<std::vector<ResolvedDeployment>> Resolve() const;

 private:
  explicit DeploymentStore(store::Workspace& workspace) : workspace_(workspace) {}
  store::Workspace& workspace_;
};

}  // namespace ferry::serving
