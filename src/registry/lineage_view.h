#pragma once

// LineageView: the lineage graph around one node at any depth, with what each node is
// (a dataset version's content hash, a run's name and status, a model version's
// artifact), for `ferry models lineage`, `ferry data show --used-by` and the API.
//
// Upstream from a model version the graph reads: model version <- run <- training
// set version <- (feature views, the source dataset versions they read, the entity
// table) ... <- the code or pipeline spec the run came from; downstream from a dataset
// version: the training sets made from it, the runs that read them, the model versions
// those runs produced, and so on.
//
// Thread-safety: stateless; reads one snapshot of the lineage graph.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "lineage/lineage_graph.h"
#include "nlohmann/json_fwd.hpp"
#include "registry/model_registry.h"
#include "tracking/tracking_store.h"

namespace ferry::registry {

struct LineageNodeInfo {
  lineage::Node node;
  // e.g. {"sha256": ...} for dataset versions; {"name", "status"} for runs;
  // {"artifact_digest", "flavor"} for model versions; {"missing": "true"} for a node
  // that no longer exists (a deleted model version).
  std::map<std::string, std::string> details;
};

struct LineageView {
  lineage::Node root;
  lineage::Direction direction = lineage::Direction::kUpstream;
  std::vector<LineageNodeInfo> nodes;  // the root first, then in walk order
  std::vector<lineage::Edge> edges;
  bool truncated = false;  // the walk stopped at its edge limit
};

// Walks from `root`. Errors: the stores'.
absl::StatusOr<LineageView> BuildLineageView(store::Workspace& workspace,
                                             const dataset::DatasetStore& datasets,
                                             const tracking::TrackingStore& tracking,
                                             const ModelRegistry& models,
                                             const lineage::Node& root,
                                             lineage::Direction direction);

// {"root": {kind, id}, "direction": "upstream"|"downstream",
//  "nodes": [{"kind", "id", "details": {...}}], "edges": [{"from": {kind, id},
//  "to": {kind, id}, "relation"}], "truncated"}
nlohmann::json LineageViewToJson(const LineageView& view);

// The graph as an indented tree from the root; a node reached twice is expanded once
// and marked "(shown above)" after.
std::string LineageViewToText(const LineageView& view);

}  // namespace ferry::registry
