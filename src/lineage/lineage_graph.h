#pragma once

// LineageGraph: edges "`to` was derived from `from`" in the metadata store (component
// "lineage", table lineage_edges). Writers call Record inside the transaction that
// creates `to`, so an edge exists exactly when its node does; readers walk it with
// Inputs / Consumers.
//
// Node ids are the components' own names: dataset versions are "NAME@N", feature views
// "NAME", model versions "NAME@N", runs their id.
//
// Thread-safety: stateless functions over a caller's transaction.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/metadata_store.h"

namespace ferry::lineage {

namespace kind {
inline constexpr std::string_view kDatasetVersion = "dataset_version";
inline constexpr std::string_view kFeatureView = "feature_view";
inline constexpr std::string_view kFeatureService = "feature_service";
}  // namespace kind

struct Node {
  std::string kind;
  std::string id;
  friend bool operator==(const Node&, const Node&) = default;
};

struct Edge {
  Node from;             // the input
  Node to;               // what was made from it
  std::string relation;  // e.g. "point_in_time_join", "entity_table", "train"
  friend bool operator==(const Edge&, const Edge&) = default;
};

// Creates the lineage tables (idempotent; see store/migrations.h).
absl::Status Migrate(store::MetadataStore& store, int64_t now_micros);

// Records edges (an edge recorded twice is kept once). Errors: the store's.
absl::Status Record(store::Transaction& tx, std::span<const Edge> edges, int64_t now_micros);

// The edges into `node` (what it was made from) and out of it (what was made from
// it), ordered by kind, id and relation.
absl::StatusOr<std::vector<Edge>> Inputs(store::Transaction& tx, const Node& node);
absl::StatusOr<std::vector<Edge>> Consumers(store::Transaction& tx, const Node& node);

}  // namespace ferry::lineage
