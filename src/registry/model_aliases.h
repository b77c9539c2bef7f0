#pragma once

// Alias moves inside a caller's metadata transaction, for components that move an alias
// atomically with rows of their own (a rollout that promotes its candidate moves
// `production` in the transaction that records the promotion). ModelRegistry::SetAlias
// and DeleteAlias are these functions in a transaction of their own; every move is kept
// in the alias history with its actor and reason, as theirs are.
//
// Thread-safety: stateless functions over a caller's transaction.

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/model_record.h"
#include "store/metadata_store.h"

namespace ferry::registry {

// Points `alias` at the version `ref` names (moving it if it points elsewhere; a no-op
// where it already points). Errors: InvalidArgument for a bad alias; NotFound naming the
// model, version or alias of `ref` that does not exist.
absl::StatusOr<AliasChange> MoveAlias(store::Transaction& tx, const ModelRef& ref,
                                      std::string_view alias, std::string_view actor,
                                      std::string_view reason, int64_t now_micros);

// Removes an alias. NotFound when the model or the alias does not exist; FailedPrecondition
// naming the holders while a hold names the alias -- returned before anything is written,
// so the caller's transaction may go on.
absl::StatusOr<AliasChange> RemoveAlias(store::Transaction& tx, std::string_view name,
                                        std::string_view alias, std::string_view actor,
                                        std::string_view reason, int64_t now_micros);

// The version `alias` of model `name` points at; nullopt when there is no such alias.
absl::StatusOr<std::optional<int64_t>> AliasTarget(store::Transaction& tx, std::string_view name,
                                                   std::string_view alias);

}  // namespace ferry::registry
