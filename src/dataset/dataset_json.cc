#include "dataset/dataset_json.h"

namespace ferry::dataset {

nlohmann::json ProfileToJson(const table::TableProfile& profile, bool with_sketches) {
  // TableProfile's own JSON is its storage format (exact round trip); this reads it back
  // rather than naming every figure a second time.
  nlohmann::json out = nlohmann::json::parse(profile.ToJson());
  if (!with_sketches) {
    for (nlohmann::json& column : out["columns"]) column.erase("sketches");
  }
  return out;
}

nlohmann::json LineageEdgesToJson(const std::vector<lineage::Edge>& edges, bool inputs) {
  nlohmann::json array = nlohmann::json::array();
  for (const lineage::Edge& e : edges) {
    const lineage::Node& other = inputs ? e.from : e.to;
    array.push_back({{"kind", other.kind}, {"id", other.id}, {"relation", e.relation}});
  }
  return array;
}

nlohmann::json VersionDiffToJson(const VersionDiff& diff) {
  nlohmann::json body = {{"before", diff.before.Ref()},
                         {"after", diff.after.Ref()},
                         {"shared_bytes", diff.shared_bytes},
                         {"new_bytes", diff.new_bytes},
                         {"profile", nullptr}};
  if (diff.profile) body["profile"] = nlohmann::json::parse(diff.profile->ToJson());
  return body;
}

}  // namespace ferry::dataset
