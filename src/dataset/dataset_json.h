#pragma once

// JSON shapes of what DatasetStore answers beyond a version record (version_record.h):
// profiles, lineage edges and diffs. `ferry data show/diff --json` and the HTTP API
// (GET .../versions/{ref}/profile, /lineage, /diff) print the same.
//
// Thread-safety: pure functions.

#include <nlohmann/json.hpp>
#include <vector>

#include "dataset/dataset_store.h"
#include "lineage/lineage_graph.h"
#include "table/table_profile.h"

namespace ferry::dataset {

// The profile's figures per column (schema, counts, quantiles, histogram, top values...).
// Without `with_sketches`, each column's mergeable "sketches" (tens of KiB for a wide
// table; only a merge needs them) are left out.
nlohmann::json ProfileToJson(const table::TableProfile& profile, bool with_sketches);

// [{"kind", "id", "relation"}]: the other end of each edge (its `from` for a version's
// inputs, its `to` for its consumers).
nlohmann::json LineageEdgesToJson(const std::vector<lineage::Edge>& edges, bool inputs);

// {"before", "after", "shared_bytes", "new_bytes", "profile": ProfileDiff or null}.
nlohmann::json VersionDiffToJson(const VersionDiff& diff);

}  // namespace ferry::dataset
