#include "lineage/lineage_graph.h"

#include <deque>
#include <set>

#include "core/status.h"
#include "store/migrations.h"

namespace ferry::lineage {
namespace {

constexpr store::Migration kMigrations[] = {
    {1, "create lineage_edges",
     "CREATE TABLE lineage_edges ("
     " from_kind TEXT NOT NULL,"
     " from_id TEXT NOT NULL,"
     " to_kind TEXT NOT NULL,"
     " to_id TEXT NOT NULL,"
     " relation TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " PRIMARY KEY (to_kind, to_id, from_kind, from_id, relation));"
     "CREATE INDEX lineage_edges_by_from ON lineage_edges (from_kind, from_id);"},
};

absl::StatusOr<std::vector<Edge>> Query(store::Transaction& tx, std::string_view where,
                                        const Node& node) {
  ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT from_kind, from_id, to_kind, to_id,"
                                                   " relation FROM lineage_edges WHERE ") +
                                           std::string(where),
                                       {node.kind, node.id}));
  std::vector<Edge> edges;
  edges.reserve(rows.size());
  for (const store::Row& row : rows) {
    edges.push_back({{row.Text(0), row.Text(1)}, {row.Text(2), row.Text(3)}, row.Text(4)});
  }
  return edges;
}

}  // namespace

absl::Status Migrate(store::MetadataStore& store, int64_t now_micros) {
  return store::ApplyMigrations(store, "lineage", kMigrations, now_micros).status();
}

absl::Status Record(store::Transaction& tx, std::span<const Edge> edges, int64_t now_micros) {
  for (const Edge& e : edges) {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO lineage_edges (from_kind, from_id, to_kind, to_id,"
                               " relation, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                               " ON CONFLICT DO NOTHING",
                               {e.from.kind, e.from.id, e.to.kind, e.to.id, e.relation,
                                now_micros})
                        .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Edge>> Inputs(store::Transaction& tx, const Node& node) {
  return Query(tx, "to_kind = ? AND to_id = ? ORDER BY from_kind, from_id, relation", node);
}

absl::StatusOr<std::vector<Edge>> Consumers(store::Transaction& tx, const Node& node) {
  return Query(tx, "from_kind = ? AND from_id = ? ORDER BY to_kind, to_id, relation", node);
}

absl::StatusOr<Walk> WalkFrom(store::Transaction& tx, const Node& start, Direction direction,
                              size_t max_edges) {
  Walk walk;
  std::set<std::pair<std::string, std::string>> seen = {{start.kind, start.id}};
  std::deque<Node> queue = {start};
  while (!queue.empty()) {
    const Node node = std::move(queue.front());
    queue.pop_front();
    ASSIGN_OR_RETURN(std::vector<Edge> edges, direction == Direction::kUpstream
                                                  ? Inputs(tx, node)
                                                  : Consumers(tx, node));
    for (Edge& e : edges) {
      if (walk.edges.size() == max_edges) {
        walk.truncated = true;
        return walk;
      }
      const Node& next = direction == Direction::kUpstream ? e.from : e.to;
      if (seen.insert({next.kind, next.id}).second) queue.push_back(next);
      walk.edges.push_back(std::move(e));
    }
  }
  return walk;
}

absl::Status RemoveNode(store::Transaction& tx, const Node& node) {
  RETURN_IF_ERROR(tx.Execute("DELETE FROM lineage_edges WHERE to_kind = ? AND to_id = ?",
                             {node.kind, node.id})
                      .status());
  return tx.Execute("DELETE FROM lineage_edges WHERE from_kind = ? AND from_id = ?",
                    {node.kind, node.id})
      .status();
}

}  // namespace ferry::lineage
