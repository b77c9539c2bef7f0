#include "store/object_roots.h"

#include "core/status.h"
#include "core/strings.h"

namespace ferry::store {

absl::StatusOr<ObjectRootsCheck> CheckObjectRoots(const Workspace& workspace) {
  std::vector<std::pair<std::string, std::string>> roots;  // owner, digest
  RETURN_IF_ERROR(workspace.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows,
                     tx.Query("SELECT owner, digest FROM object_roots ORDER BY owner, digest"));
    for (const Row& row : rows) roots.emplace_back(row.Text(0), row.Text(1));
    return absl::OkStatus();
  }));
  ObjectRootsCheck check;
  for (const auto& [owner, hex] : roots) {
    ++check.checked;
    absl::StatusOr<core::Digest> digest = core::Digest::FromHex(hex);
    if (!digest.ok()) {
      check.problems.push_back(core::Cat(owner, ": \"", hex, "\" is not an object name"));
      continue;
    }
    ASSIGN_OR_RETURN(bool exists, workspace.objects().Exists(*digest));
    if (!exists) check.problems.push_back(core::Cat(owner, ": object ", hex, " is missing"));
  }
  return check;
}

}  // namespace ferry::store
