#include "serving/deployment_store.h"

#include <array>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "registry/model_holds.h"
#include "store/change_feed.h"
#include "store/migrations.h"

namespace ferry::serving {
namespace {

using core::Cat;
using store::Row;
using store::Transaction;

constexpr store::Migration kMigrations[] = {
    {1, "create deployments",
     "CREATE TABLE deployments ("
     " endpoint TEXT PRIMARY KEY,"
     " model_name TEXT NOT NULL,"
     // Exactly one of the two: a pinned version or an alias the endpoint follows.
     " model_version BIGINT,"
     " model_alias TEXT,"
     " missing_features TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL,"
     " updated_by TEXT NOT NULL,"
     " generation BIGINT NOT NULL,"
     " CHECK ((model_version IS NULL) <> (model_alias IS NULL)));"},
    // The endpoint's monitoring policy (JSON); NULL: the defaults.
    {2, "deployment monitoring policy", "ALTER TABLE deployments ADD COLUMN monitoring TEXT;"},
};

// The CLI's verbs under `ferry deploy`: an endpoint of that name could not be addressed.
constexpr std::array<std::string_view, 7> kReservedNames = {
    "list", "status", "delete", "promote", "rollback", "pause", "resume"};

constexpr char kDeploymentColumns[] =
    "d.endpoint, d.model_name, d.model_version, d.model_alias, d.missing_features,"
    " d.created_at, d.updated_at, d.updated_by, d.generation, d.monitoring";

// How an endpoint appears in the registry's holds, and how a refusal tells to release it.
registry::ModelHolder HolderOf(std::string_view endpoint) {
  return {Cat("endpoint ", endpoint), "deployed on",
          Cat("run `ferry deploy delete ", endpoint, "` or deploy another version first")};
}

// Reads the first 10 columns (kDeploymentColumns).
absl::StatusOr<Deployment> DeploymentFromRow(const Row& row) {
  Deployment d;
  d.endpoint = row.Text(0);
  d.model.name = row.Text(1);
  d.model.version = row.OptionalInt(2);
  d.model.alias = row.OptionalText(3);
  absl::StatusOr<MissingFeaturePolicy> policy = ParseMissingFeaturePolicy(row.Text(4));
  if (!policy.ok()) {
    return absl::DataLossError(Cat("endpoint ", d.endpoint, ": stored missing-feature policy \"",
                                   row.Text(4), "\" is not one ferry knows"));
  }
  d.missing_features = *policy;
  d.created_at = row.Int(5);
  d.updated_at = row.Int(6);
  d.updated_by = row.Text(7);
  d.generation = row.Int(8);
  if (std::optional<std::string> text = row.OptionalText(9)) {
    nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    absl::StatusOr<monitoring::MonitoringPolicy> monitoring =
        json.is_discarded() ? absl::InvalidArgumentError("not JSON")
                            : monitoring::MonitoringPolicyFromJson(json);
    if (!monitoring.ok()) {
      return absl::DataLossError(Cat("endpoint ", d.endpoint, ": stored monitoring policy: ",
                                     core::View(monitoring.status().message())));
    }
    d.monitoring = *std::move(monitoring);
  }
  return d;
}

absl::StatusOr<std::optional<Deployment>> LoadDeployment(Transaction& tx,
                                                         std::string_view endpoint) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional(Cat("SELECT ", kDeploymentColumns,
                                                  " FROM deployments d WHERE d.endpoint = ?"),
                                              {endpoint}));
  if (!row) return std::optional<Deployment>();
  ASSIGN_OR_RETURN(Deployment d, DeploymentFromRow(*row));
  return std::optional<Deployment>(std::move(d));
}

absl::Status NoEndpoint(std::string_view endpoint) {
  return absl::NotFoundError(Cat("no endpoint named \"", endpoint, "\"; see `ferry deploy list`"));
}

absl::Status ValidateOptions(const DeployOptions& options) {
  RETURN_IF_ERROR(ValidateEndpointName(options.endpoint));
  const registry::ModelRef& ref = options.model;
  RETURN_IF_ERROR(registry::ValidateModelName(ref.name));
  if (ref.alias) RETURN_IF_ERROR(registry::ValidateAlias(*ref.alias));
  if (ref.version.has_value() == ref.alias.has_value()) {
    return absl::InvalidArgumentError(Cat("deploy ", ref.name, "@VERSION or ", ref.name,
                                          "@ALIAS (e.g. ", ref.name, "@production), not \"",
                                          ref.ToString(),
                                          "\": the latest version is not something an"
                                          " endpoint can follow"));
  }
  if (ref.version && *ref.version < 1) {
    return absl::InvalidArgumentError(Cat("model version must be 1 or more, got ", *ref.version));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view MissingFeaturePolicyName(MissingFeaturePolicy policy) {
  switch (policy) {
    case MissingFeaturePolicy::kError:
      return "error";
    case MissingFeaturePolicy::kMissing:
      return "missing";
  }
  return "error";
}

absl::StatusOr<MissingFeaturePolicy> ParseMissingFeaturePolicy(std::string_view text) {
  for (MissingFeaturePolicy p : {MissingFeaturePolicy::kError, MissingFeaturePolicy::kMissing}) {
    if (text == MissingFeaturePolicyName(p)) return p;
  }
  return absl::InvalidArgumentError(
      Cat("missing-feature policy must be \"error\" or \"missing\", got \"", text, "\""));
}

absl::Status ValidateEndpointName(std::string_view name) {
  RETURN_IF_ERROR(registry::ValidateIdentifier("endpoint name", name));
  for (std::string_view reserved : kReservedNames) {
    if (name == reserved) {
      return absl::InvalidArgumentError(Cat("endpoint name \"", name,
                                            "\" is reserved: `ferry deploy ", name,
                                            "` is a command (reserved: list, status, delete, promote,"
                                            " rollback, pause, resume)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DeploymentStore>> DeploymentStore::Open(
    store::Workspace& workspace) {
  const int64_t now = workspace.clock().NowMicros();
  // The holds live in the registry's tables; applying its migrations again is a no-op
  // when ModelRegistry::Open has done so.
  RETURN_IF_ERROR(
      store::ApplyMigrations(workspace.metadata(), "registry", registry::RegistryMigrations(), now)
          .status());
  RETURN_IF_ERROR(
      store::ApplyMigrations(workspace.metadata(), "serving", kMigrations, now).status());
  return std::unique_ptr<DeploymentStore>(new DeploymentStore(workspace));
}

absl::StatusOr<std::optional<Deployment>> FindDeployment(Transaction& tx,
                                                         std::string_view endpoint) {
  return LoadDeployment(tx, endpoint);
}

absl::StatusOr<Deployment> PutDeployment(Transaction& tx, const DeployOptions& options,
                                         int64_t now_micros) {
  RETURN_IF_ERROR(ValidateOptions(options));
  const registry::ModelHolder holder = HolderOf(options.endpoint);
  ASSIGN_OR_RETURN(std::optional<Deployment> existing, LoadDeployment(tx, options.endpoint));
  if (existing && existing->model.name == options.model.name &&
      existing->model.version == options.model.version &&
      existing->model.alias == options.model.alias &&
      existing->missing_features == options.missing_features &&
      existing->monitoring == options.monitoring) {
    // Identical: nothing changes, but the reference must still resolve (and a hold
    // lost to a hand edit comes back).
    RETURN_IF_ERROR(registry::AddHold(tx, holder, options.model, now_micros));
    return *std::move(existing);
  }
  RETURN_IF_ERROR(registry::RemoveHolds(tx, holder.holder).status());
  RETURN_IF_ERROR(registry::AddHold(tx, holder, options.model, now_micros));
  Deployment result;
  result.endpoint = options.endpoint;
  result.model = options.model;
  result.missing_features = options.missing_features;
  result.monitoring = options.monitoring;
  result.created_at = existing ? existing->created_at : now_micros;
  result.updated_at = now_micros;
  result.updated_by = options.actor;
  result.generation = existing ? existing->generation + 1 : 1;
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO deployments (endpoint, model_name, model_version, model_alias,"
                 " missing_features, created_at, updated_at, updated_by, generation,"
                 " monitoring)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET"
                 " model_name = excluded.model_name, model_version = excluded.model_version,"
                 " model_alias = excluded.model_alias,"
                 " missing_features = excluded.missing_features,"
                 " updated_at = excluded.updated_at, updated_by = excluded.updated_by,"
                 " generation = excluded.generation, monitoring = excluded.monitoring",
                 {result.endpoint, result.model.name, result.model.version, result.model.alias,
                  MissingFeaturePolicyName(result.missing_features), result.created_at,
                  result.updated_at, result.updated_by, result.generation,
                  result.monitoring == monitoring::MonitoringPolicy{}
                      ? std::optional<std::string>()
                      : std::optional<std::string>(
                            monitoring::MonitoringPolicyToJson(result.monitoring).dump())})
          .status());
  RETURN_IF_ERROR(store::NotifyChange(tx, store::kServingChannel));
  return result;
}

absl::StatusOr<Deployment> DeploymentStore::Put(const DeployOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  const int64_t now = workspace_.clock().NowMicros();
  Deployment result;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(result, PutDeployment(tx, options, now));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Deployment> DeploymentStore::Get(std::string_view endpoint) const {
  RETURN_IF_ERROR(ValidateEndpointName(endpoint));
  std::optional<Deployment> found;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(found, LoadDeployment(tx, endpoint));
    return absl::OkStatus();
  }));
  if (!found) return NoEndpoint(endpoint);
  return *std::move(found);
}

absl::StatusOr<std::vector<Deployment>> DeploymentStore::List() const {
  std::vector<Deployment> deployments;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat("SELECT ", kDeploymentColumns,
                                             " FROM deployments d ORDER BY d.endpoint")));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(Deployment d, DeploymentFromRow(row));
      deployments.push_back(std::move(d));
    }
    return absl::OkStatus();
  }));
  return deployments;
}

absl::Status DeploymentStore::Delete(std::string_view endpoint) {
  RETURN_IF_ERROR(ValidateEndpointName(endpoint));
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t deleted,
                     tx.Execute("DELETE FROM deployments WHERE endpoint = ?", {endpoint}));
    if (deleted == 0) return NoEndpoint(endpoint);
    RETURN_IF_ERROR(store::NotifyChange(tx, store::kServingChannel));
    return registry::RemoveHolds(tx, HolderOf(endpoint).holder).status();
  });
}

absl::StatusOr<std::vector<ResolvedDeployment>> DeploymentStore::Resolve() const {
  std::vector<ResolvedDeployment> resolved;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    // Both joins are on primary keys: model_aliases (name, alias), model_versions
    // (name, version). Left joins keep an endpoint whose reference no longer resolves.
    ASSIGN_OR_RETURN(auto rows, tx.Query(Cat("SELECT ", kDeploymentColumns,
                                             ", v.version, v.artifact_digest, v.flavor"
                                             " FROM deployments d"
                                             " LEFT JOIN model_aliases a ON a.name = d.model_name"
                                             " AND a.alias = d.model_alias"
                                             " LEFT JOIN model_versions v ON v.name = d.model_name"
                                             " AND v.version = COALESCE(d.model_version, a.version)"
                                             " ORDER BY d.endpoint")));
    for (const Row& row : rows) {
      ResolvedDeployment r;
      ASSIGN_OR_RETURN(r.deployment, DeploymentFromRow(row));
      r.version = row.OptionalInt(10);
      r.artifact_digest = row.OptionalText(11).value_or("");
      r.flavor = row.OptionalText(12).value_or("");
      resolved.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return resolved;
}

nlohmann::json ResolvedDeploymentToJson(const ResolvedDeployment& r) {
  using nlohmann::json;
  const Deployment& d = r.deployment;
  return json{{"endpoint", d.endpoint},
              {"model", d.model.ToString()},
              {"model_name", d.model.name},
              {"model_version", d.model.version ? json(*d.model.version) : json(nullptr)},
              {"model_alias", d.model.alias ? json(*d.model.alias) : json(nullptr)},
              {"missing_features", MissingFeaturePolicyName(d.missing_features)},
              {"created_at", core::FormatTimestamp(d.created_at)},
              {"updated_at", core::FormatTimestamp(d.updated_at)},
              {"updated_by", d.updated_by},
              {"generation", d.generation},
              {"monitoring", monitoring::MonitoringPolicyToJson(d.monitoring)},
              {"resolved_version", r.version ? json(*r.version) : json(nullptr)},
              {"artifact_digest", r.version ? json(r.artifact_digest) : json(nullptr)},
              {"flavor", r.version ? json(r.flavor) : json(nullptr)}};
}

}  // namespace ferry::serving
