#include "registry/lineage_view.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::registry {
namespace {

using core::Cat;
using nlohmann::json;

absl::StatusOr<std::map<std::string, std::string>> Describe(
    const dataset::DatasetStore& datasets, const tracking::TrackingStore& tracking,
    const ModelRegistry& models, const lineage::Node& node) {
  std::map<std::string, std::string> details;
  const auto missing = [&](const absl::Status& status) -> absl::Status {
    if (status.code() != absl::StatusCode::kNotFound) return status;
    details["missing"] = "true";
    return absl::OkStatus();
  };
  if (node.kind == lineage::kind::kDatasetVersion) {
    absl::StatusOr<dataset::DatasetRef> ref = dataset::ParseDatasetRef(node.id);
    absl::StatusOr<dataset::VersionRecord> v =
        ref.ok() ? datasets.Resolve(*ref) : absl::StatusOr<dataset::VersionRecord>(ref.status());
    if (!v.ok()) {
      RETURN_IF_ERROR(missing(v.status()));
    } else {
      details["sha256"] = v->content_sha256;
    }
  } else if (node.kind == lineage::kind::kRun) {
    absl::StatusOr<tracking::RunInfo> run = tracking.GetRunInfo(node.id);
    if (!run.ok()) {
      RETURN_IF_ERROR(missing(run.status()));
    } else {
      details["name"] = run->name;
      details["status"] = std::string(tracking::RunStatusName(run->status));
      details["experiment"] = run->experiment_name;
    }
  } else if (node.kind == lineage::kind::kModelVersion) {
    absl::StatusOr<ModelRef> ref = ParseModelRef(node.id);
    absl::StatusOr<ModelVersion> v =
        ref.ok() ? models.Resolve(*ref) : absl::StatusOr<ModelVersion>(ref.status());
    if (!v.ok()) {
      RETURN_IF_ERROR(missing(v.status()));
    } else {
      details["artifact_digest"] = v->artifact_digest;
      details["flavor"] = v->flavor;
    }
  }
  return details;
}

std::string NodeLine(const LineageNodeInfo& info) {
  std::string line = Cat(info.node.kind, " ", info.node.id);
  const auto add = [&](const char* key, const char* label) {
    auto it = info.details.find(key);
    if (it != info.details.end()) line += Cat("  ", label, it->second);
  };
  add("name", "");
  add("status", "");
  add("sha256", "sha256:");
  add("artifact_digest", "artifact sha256:");
  if (info.details.contains("missing")) line += "  (no longer exists)";
  return line;
}

}  // namespace

absl::StatusOr<LineageView> BuildLineageView(store::Workspace& workspace,
                                             const dataset::DatasetStore& datasets,
                                             const tracking::TrackingStore& tracking,
                                             const ModelRegistry& models,
                                             const lineage::Node& root,
                                             lineage::Direction direction) {
  LineageView view;
  view.root = root;
  view.direction = direction;
  RETURN_IF_ERROR(workspace.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(lineage::Walk walk, lineage::WalkFrom(tx, root, direction));
    view.edges = std::move(walk.edges);
    view.truncated = walk.truncated;
    return absl::OkStatus();
  }));
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<lineage::Node> order = {root};
  for (const lineage::Edge& e : view.edges) {
    order.push_back(direction == lineage::Direction::kUpstream ? e.from : e.to);
  }
  for (const lineage::Node& node : order) {
    if (!seen.insert({node.kind, node.id}).second) continue;
    ASSIGN_OR_RETURN(auto details, Describe(datasets, tracking, models, node));
    view.nodes.push_back({node, std::move(details)});
  }
  return view;
}

json LineageViewToJson(const LineageView& view) {
  const auto node_json = [](const lineage::Node& n) { return json{{"kind", n.kind}, {"id", n.id}}; };
  json nodes = json::array();
  for (const LineageNodeInfo& info : view.nodes) {
    json n = node_json(info.node);
    n["details"] = info.details;
    nodes.push_back(std::move(n));
  }
  json edges = json::array();
  for (const lineage::Edge& e : view.edges) {
    edges.push_back({{"from", node_json(e.from)}, {"to", node_json(e.to)}, {"relation", e.relation}});
  }
  return json{{"root", node_json(view.root)},
              {"direction", view.direction == lineage::Direction::kUpstream ? "upstream"
                                                                            : "downstream"},
              {"nodes", nodes},
              {"edges", edges},
              {"truncated", view.truncated}};
}

std::string LineageViewToText(const LineageView& view) {
  const bool up = view.direction == lineage::Direction::kUpstream;
  std::map<std::pair<std::string, std::string>, const LineageNodeInfo*> info;
  for (const LineageNodeInfo& n : view.nodes) info[{n.node.kind, n.node.id}] = &n;
  std::map<std::pair<std::string, std::string>, std::vector<const lineage::Edge*>> children;
  for (const lineage::Edge& e : view.edges) {
    const lineage::Node& parent = up ? e.to : e.from;
    children[{parent.kind, parent.id}].push_back(&e);
  }
  std::string out;
  std::set<std::pair<std::string, std::string>> expanded;
  // Depth-first, printing each edge's far node under its near one.
  std::function<void(const lineage::Node&, const std::string&)> expand =
      [&](const lineage::Node& node, const std::string& indent) {
        const auto key = std::make_pair(node.kind, node.id);
        if (!expanded.insert(key).second) return;
        const auto& list = children[key];
        for (size_t i = 0; i < list.size(); ++i) {
          const lineage::Edge& e = *list[i];
          const lineage::Node& next = up ? e.from : e.to;
          const bool last = i + 1 == list.size();
          const auto next_key = std::make_pair(next.kind, next.id);
          const bool repeat = expanded.contains(next_key) && !children[next_key].empty();
          out += Cat(indent, last ? "└── " : "├── ", NodeLine(*info[next_key]), "  [",
                     e.relation, "]", repeat ? "  (shown above)" : "", "\n");
          if (!repeat) expand(next, indent + (last ? "    " : "│   "));
        }
      };
  out += NodeLine(*info[{view.root.kind, view.root.id}]) + "\n";
  expand(view.root, "");
  if (view.truncated) out += "... (the graph is larger; it stopped at its edge limit)\n";
  return out;
}

}  // namespace ferry::registry
