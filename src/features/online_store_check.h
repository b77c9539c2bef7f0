#pragma once

// CheckOnlineStore: what `ferry fsck` verifies of the embedded online store
// (`.ferry/online/`, docs/online-store-format.md). It reads the store as a follower, so
// it works beside a `ferry server` that holds the store for writing, and sees what was
// written up to its opening:
//   - every table file's block checksums;
//   - every record: the store id, and each view's layout record (JSON naming the layout
//     hash and the features with their types);
//   - every value: its key names a view, its bytes are a value of a known format, and a
//     value of the layout its view's record names holds exactly those features;
//   - agreement with the metadata store: every view the materialization log says was
//     materialized into this store has its layout record (a run writes and syncs the
//     record before it logs itself, so a crash cannot leave a log without a record).
// A value of another layout than its view's record (written before the view changed, or by a run
// killed before it wrote the record) is obsolete, not damaged: lookups treat it as absent.
// A Redis online store is not checked here (Redis keeps its own data).
//
// Thread-safety: as the stores it reads; the function keeps no state.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/workspace.h"

namespace ferry::features {

struct OnlineStoreCheck {
  std::string store;     // "rocksdb", or the Redis URL, which is not checked
  bool checked = false;  // false: nothing materialized yet (no store), or Redis
  int64_t views = 0;     // layout records
  int64_t values_checked = 0;
  std::vector<std::string> problems;  // what is damaged or missing, one line each
};

// Errors: the metadata store's, and the engine's when the check itself cannot run;
// damage the engine reports (DataLoss) is a problem in the result, not an error.
absl::StatusOr<OnlineStoreCheck> CheckOnlineStore(const store::Workspace& workspace);

}  // namespace ferry::features
