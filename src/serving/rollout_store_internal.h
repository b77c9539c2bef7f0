#pragma once

// Pieces of RolloutStore shared by its two files (rollout_store.cc: tables, reads and
// Start; rollout_transitions.cc: analysis and manual transitions). Internal to
// src/serving.
//
// Thread-safety: stateless functions over a caller's transaction.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/model_holds.h"
#include "serving/rollout_store.h"
#include "store/metadata_store.h"

namespace ferry::serving::rollout_internal {

// How a rollout appears in the registry's holds: "rollout on endpoint fraud".
registry::ModelHolder HolderOf(std::string_view endpoint);

// NotFound ("no rollout with id ...").
absl::StatusOr<Rollout> LoadById(store::Transaction& tx, int64_t id);
// The endpoint's latest rollout. NotFound saying how to start one.
absl::StatusOr<Rollout> LoadLatest(store::Transaction& tx, std::string_view endpoint);

// Writes `r`'s state and previous_version, bumping its generation and updated_at; when
// the rollout is no longer active, deletes its rows of rollout_figures.
absl::Status SaveState(store::Transaction& tx, Rollout& r, int64_t now_micros);

// Records an event for `r` as it is now (phase, weight) with the next seq.
absl::StatusOr<RolloutEvent> AppendEvent(store::Transaction& tx, const Rollout& r,
                                         std::string_view type, std::string_view reason,
                                         nlohmann::json figures, std::string_view actor,
                                         int64_t now_micros);

}  // namespace ferry::serving::rollout_internal
