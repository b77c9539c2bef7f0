#include "features/view_status.h"

#include "core/status.h"

namespace ferry::features {

absl::StatusOr<ViewStatus> DescribeView(store::Workspace& workspace,
                                        const dataset::DatasetStore& datasets,
                                        const FeatureView& view) {
  ViewStatus status;
  absl::StatusOr<dataset::VersionRecord> version = [&]() -> absl::StatusOr<dataset::VersionRecord> {
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(view.source));
    return datasets.Resolve(ref);
  }();
  if (version.ok()) {
    status.source_version = version->Ref();
    status.source_rows = version->rows;
    if (version->profile) {
      ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(*version));
      const table::ColumnProfile* ts = profile.column(view.timestamp_field);
      if (ts && ts->numeric && ts->count > 0) {
        status.newest_event = ts->numeric->int_max;
        status.oldest_event = ts->numeric->int_min;
      }
    }
  } else if (absl::IsNotFound(version.status())) {
    status.source_error = std::string(version.status().message());
  } else {
    return version.status();
  }
  RETURN_IF_ERROR(workspace.metadata().Read([&](store::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto edges,
                     lineage::Consumers(tx, {std::string(lineage::kind::kFeatureView), view.name}));
    for (const lineage::Edge& e : edges) status.consumers.push_back(e.to);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(status.last_materialization,
                   LastMaterialization(workspace.metadata(), view.name));
  return status;
}

}  // namespace ferry::features
