#pragma once

// Model holds: a record, kept in the registry's `model_holds` table, that something
// outside the registry (a holder such as "endpoint fraud") uses a model version
// ("fraud-model@3") or an alias of a model ("fraud-model@production"). While a hold
// names a version, ModelRegistry::DeleteVersion refuses it; while a hold names an
// alias, ModelRegistry::DeleteAlias refuses it. Moving a held alias (SetAlias) stays
// allowed: the holder follows the alias, and the version it points at is kept by the
// alias itself.
//
// The functions run inside a caller's metadata transaction, so a holder changes its own
// rows and its holds atomically (DeploymentStore::Put moves an endpoint's holds in the
// transaction that points it elsewhere). The registry's migrations (applied by
// ModelRegistry::Open, or by any caller through RegistryMigrations()) create the table.
//
// Thread-safety: stateless functions over a caller's transaction.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/model_record.h"
#include "store/metadata_store.h"

namespace ferry::registry {

// Who holds, and how a refusal explains it: "<ref> is <relation> <holder>; <release_hint>",
// e.g. "fraud-model@3 is deployed on endpoint fraud; run `ferry deploy delete fraud` or
// deploy another version first".
struct ModelHolder {
  std::string holder;        // the key of the holder's holds: "endpoint fraud"
  std::string relation;      // "deployed on"
  std::string release_hint;  // how to let go
};

// Records that `holder` holds what `ref` names: the version, or the alias itself (not the
// version it points at now). Holding the same thing twice changes nothing. Errors:
// InvalidArgument when `ref` names neither a version nor an alias; NotFound naming the
// model, version or alias that does not exist.
absl::Status AddHold(store::Transaction& tx, const ModelHolder& holder, const ModelRef& ref,
                     int64_t now_micros);

// Removes every hold of `holder` (ModelHolder::holder); returns how many there were.
absl::StatusOr<int64_t> RemoveHolds(store::Transaction& tx, std::string_view holder);

// FailedPrecondition naming every holder of what `ref` names (its version or its alias,
// as given; `label` is how the message names it, e.g. "fraud-model@3"); OK when nothing
// holds it.
absl::Status RefuseIfHeld(store::Transaction& tx, const ModelRef& ref, std::string_view label);

}  // namespace ferry::registry
