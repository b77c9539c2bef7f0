#pragma once

// Reads of the registry's tables inside a caller's transaction, shared by the
// ModelRegistry's files. Internal to src/registry.
//
// Thread-safety: stateless functions over a caller's transaction.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/model_record.h"
#include "store/metadata_store.h"

namespace ferry::registry {

// The model with its tags, aliases, live version count and latest version.
// InvalidArgument for a name no model can have (ValidateModelName); NotFound ("no model
// named ...").
absl::StatusOr<RegisteredModel> LoadModel(store::Transaction& tx, std::string_view name);

// One version with its tags and aliases. NotFound.
absl::StatusOr<ModelVersion> LoadVersion(store::Transaction& tx, std::string_view name,
                                         int64_t version);

// The version number a reference names (the latest when it names neither a version
// nor an alias). NotFound naming the model, version or alias that is missing.
absl::StatusOr<int64_t> ResolveNumber(store::Transaction& tx, const ModelRef& ref);

}  // namespace ferry::registry
