#pragma once

// LineageGraph: edges "`to` was derived from `from`" in the metadata store (component
// "lineage", table lineage_edges). Writers call Record inside the transaction that
// creates `to`, so an edge exists exactly when its node does; readers walk it with
// Inputs / Consumers.
//
// Node ids are the components' own names: dataset versions are "NAME@N", feature views
// "NAME", model versions "NAME@N", runs their id, sources (the code or pipeline spec a
// run came from) their SHA-256.
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
inline constexpr std::string_view kRun = "run";
inline constexpr std::string_view kModelVersion = "model_version";
inline constexpr std::string_view kSource = "source";
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

enum class Direction : uint8_t { kUpstream, kDownstream };

// Every edge reachable from `start` at any depth, following Inputs (upstream) or
// Consumers (downstream), each edge once, breadth first (so an edge's node nearer
// `start` comes first). Stops after `max_edges` edges (the result then ends there;
// `truncated` says so). Errors: the store's.
struct Walk {
  std::vector<Edge> edges;
  bool truncated = false;
};
absl::StatusOr<Walk> WalkFrom(store::Transaction& tx, const Node& start, Direction direction,
                              size_t max_edges = 10'000);

// Removes every edge into and out of `node`, in the transaction that deletes the node.
absl::Status RemoveNode(store::Transaction& tx, const Node& node);

}  // namespace ferry::lineage
