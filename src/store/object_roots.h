#pragma once

// CheckObjectRoots: the half of `ferry fsck` that concerns the objects components other
// than datasets keep (workspace.h's object_roots table: model artifacts, run artifacts,
// feature tables). Every object listed there must exist in the object store; `ferry fsck`
// re-hashes every object that exists on its own.
//
// Thread-safety: reads the thread-safe stores; keeps no state.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/workspace.h"

namespace ferry::store {

struct ObjectRootsCheck {
  int64_t checked = 0;                // rows of object_roots
  std::vector<std::string> problems;  // "OWNER: object DIGEST is missing"
};

// Errors: the metadata store's, and the filesystem's when an object cannot be looked up.
absl::StatusOr<ObjectRootsCheck> CheckObjectRoots(const Workspace& workspace);

}  // namespace ferry::store
